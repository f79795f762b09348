"""The ``wave`` command as a user meets it, run as a real subprocess.

Help and version; every subcommand's ``--help``; usage errors exit 2 with one line; a dry
run prints the plan and changes nothing (no state, no process); ``plan``/``history`` give
valid JSON; ``lock`` shows an unheld lock; ``unlock`` is recorded in history.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import wave_sdk
from wave_sdk.cli.parser import build_parser
from wave_sdk.errors import EXIT_CODES
from wave_sdk.testing import run_wave
from wave_sdk.testing.healthapp import write_app
from wave_sdk.wave import Wave

WAVE = Path(sys.executable).parent / "wave"
COMMANDS = (
    "init",
    "plan",
    "check",
    "deploy",
    "rollback",
    "recover",
    "status",
    "health",
    "history",
    "adapters",
    "approve",
    "lock",
    "unlock",
    "state",
    "config",
    "merge",
    "hotfix",
    "revert",
)


def wave(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_wave(*args, cwd=cwd, env={"WAVE_DEPLOYER": "cli-test"})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("wave: error: ")
    return lines[0]


@dataclass
class Project:
    root: Path
    port: int
    v1: Path

    def wave(self, *args: str) -> subprocess.CompletedProcess[str]:
        return wave(*args, cwd=self.root)

    def listening(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def tree(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.root)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(self.root.rglob("*"))
        }


@pytest.fixture
def project(tmp_path: Path, free_port: int) -> Iterator[Project]:
    root = tmp_path / "project"
    v1 = write_app(root / "src" / "v1", "v1")
    (root / "wave.toml").write_text(
        f"""\
[environments.development]
target = "web"

[environments.staging]
target = "web"

[targets.web]
adapter = "local"
command = [{json.dumps(sys.executable)}, "server.py"]
port = {free_port}

[health]
interval = 0.1
consecutive = 2
retries = 2
deadline = 20
"""
    )
    yield Project(root=root, port=free_port, v1=v1)
    with Wave(root).open_target("web", "development") as adapter:
        adapter.stop()  # type: ignore[attr-defined]


# -- help, version, usage ------------------------------------------------------------------


def test_help_lists_every_subcommand_and_exit_code(tmp_path: Path) -> None:
    parser_commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert parser_commands == set(COMMANDS)
    proc = wave("--help", cwd=tmp_path)
    assert proc.returncode == 0
    listed = proc.stdout.split("positional arguments:")[1].split("options:")[0]
    for name in COMMANDS:
        assert f"\n    {name} " in listed, f"{name} missing from --help"
    codes = proc.stdout.split("exit codes:")[1]
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in codes


def test_no_command_shows_usage_and_exits_2(tmp_path: Path) -> None:
    proc = wave(cwd=tmp_path)
    assert proc.returncode == 2
    assert "usage: wave" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command: str, tmp_path: Path) -> None:
    proc = wave(command, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: wave {command}")
    assert "--json" in proc.stdout
    assert "exit codes:" in proc.stdout
    assert proc.stderr == ""


def test_version(tmp_path: Path) -> None:
    proc = wave("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == f"wave-sdk {wave_sdk.__version__}\n"


def test_unknown_subcommand_is_a_usage_error(tmp_path: Path) -> None:
    proc = wave("deplyo", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'deplyo'" in proc.stderr


def test_deploy_to_unknown_environment_lists_configured_ones(project: Project) -> None:
    proc = project.wave("deploy", "--env", "nope", "--release", "r1")
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "unknown environment 'nope'" in line
    assert "(configured: development, staging)" in line
    assert not (project.root / ".wave").exists()


def test_deploy_to_unknown_environment_without_release(project: Project) -> None:
    line = one_error_line(project.wave("deploy", "--env", "nope"))
    assert "unknown environment 'nope'" in line


# -- global options ------------------------------------------------------------------------


def test_config_before_the_subcommand_is_used(project: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = wave("--config", str(project.root / "wave.toml"), "config", "validate", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr


def test_json_before_the_subcommand_is_used(project: Project) -> None:
    proc = project.wave("--json", "lock", "--env", "development")
    assert json.loads(proc.stdout)["lock"] is None


def test_config_after_the_subcommand_is_used(project: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = wave("config", "validate", "--config", str(project.root / "wave.toml"), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "valid (2 environments, 1 targets)" in proc.stdout


# -- plan and dry run ----------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(project: Project) -> None:
    before = project.tree()
    proc = project.wave(
        "deploy", "--env", "development", "--release", "r1", "--source", str(project.v1),
        "--dry-run",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "dry run: r1 → development"
    assert [line.split()[0] for line in lines[1:]] == [
        "gate", "approve", "lock", "deploy", "verify", "finish",
    ]  # fmt: skip
    assert "web (local)" in proc.stdout
    assert "first deploy" in proc.stdout

    assert project.tree() == before, "a dry run wrote files"
    assert not (project.root / ".wave" / "state" / "history.jsonl").exists()
    assert not (project.root / ".wave" / "local" / "web" / "app.pid").exists()
    assert not project.listening(), "a dry run started the app"


def test_plan_json(project: Project) -> None:
    proc = project.wave("plan", "--env", "staging", "--release", "r1", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["environment"] == "staging"
    assert plan["release"]["id"] == "r1"
    assert plan["targets"] == [{"name": "web", "adapter": "local"}]
    assert plan["rollback_to"] is None
    approve = next(s for s in plan["steps"] if s["step"] == "approve")
    assert (approve["level"], approve["satisfied"]) == (3, False)  # staging needs L3 (PM)


# -- history, lock, unlock -----------------------------------------------------------------


def test_history_json_after_a_deploy(project: Project) -> None:
    assert json.loads(project.wave("history", "--json").stdout) == []
    proc = project.wave(
        "deploy", "--env", "development", "--release", "v1", "--source", str(project.v1)
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("deployed v1 to development")
    assert project.listening()

    proc = project.wave("history", "--json")
    assert proc.returncode == 0, proc.stderr
    [record] = json.loads(proc.stdout)
    assert record["kind"] == "deploy"
    assert record["environment"] == "development"
    assert record["release"] == "v1"
    assert record["outcome"] == "succeeded"
    assert record["deployer"] == "cli-test"
    assert record["targets"] == ["web"]


def test_lock_of_an_idle_environment_says_unlocked(project: Project) -> None:
    proc = project.wave("lock", "--env", "development")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "development: unlocked\n"
    data = json.loads(project.wave("lock", "--env", "development", "--json").stdout)
    assert data == {"environment": "development", "lock": None, "stale": False}


def test_unlock_is_recorded_in_history(project: Project) -> None:
    proc = project.wave("unlock", "--env", "development", "--force", "--reason", "x")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "development: was not locked (recorded)\n"

    [line] = project.wave("history").stdout.splitlines()
    assert " development " in line and " unlock " in line
    assert line.endswith("by cli-test — x (held by nobody)")
    [record] = json.loads(project.wave("history", "--json").stdout)
    assert (record["kind"], record["outcome"]) == ("unlock", "recorded")


def test_unlock_needs_force_and_reason(project: Project) -> None:
    proc = project.wave("unlock", "--env", "development", "--reason", "x")
    assert proc.returncode == 2
    assert "--force" in proc.stderr
    assert not (project.root / ".wave" / "state" / "history.jsonl").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("deploy", "--lock-wait", "nan"), "argument --lock-wait: 'nan' is not a number"),
        (("deploy", "--lock-wait", "-1"), "argument --lock-wait: '-1' is not a number"),
        (("rollback", "--lock-wait", "1e400"), "argument --lock-wait: '1e400' is not"),
        (("history", "--limit", "-3"), "argument --limit/-n: '-3' is not a count"),
        (("rollback", "--to", "../../etc"), "invalid release id '../../etc'"),
        (("rollback", "--reason", "two\nlines"), "argument --reason: 'two\\nlines' holds a"),
        (("approve", "--by", "evil\x1b[2J"), "argument --by: 'evil\\x1b[2J' holds a newline"),
        (("approve", "--level", "L3", "--expires", "nan"), "an approval valid for nan seconds"),
        (("approve", "--level", "L3", "--expires", "0"), "an approval valid for 0.0 seconds"),
        (("approve", "--level", "L3", "--expires", "-5"), "an approval valid for -5.0 seconds"),
        (("approve", "--level", "L3", "--expires", "1e400"), "an approval valid for inf"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(value)[:40],
)
def test_a_value_out_of_reach_is_refused_before_anything_is_done(
    project: Project, args: tuple[str, ...], says: str
) -> None:
    """Each of these once ran: a traceback, a lock waited on forever, a screen cleared, an
    approval that never expires (``--expires 0``) or that had expired when it was given."""
    command, *rest = args
    env = [] if command == "history" else ["--env", "development"]
    proc = project.wave(command, *env, *rest)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr, proc.stderr
    assert not (project.root / ".wave" / "state").exists(), "nothing recorded"


def test_rolling_back_what_was_never_deployed_says_so_before_asking_for_approval(
    project: Project,
) -> None:
    """Staging's rollback needs an approval; none is asked for a rollback that cannot be."""
    for env in ("development", "staging"):
        proc = project.wave("rollback", "--env", env)
        assert proc.returncode == 6, proc.stderr
        line = one_error_line(proc)
        assert f"nothing has been deployed to {env} yet" in line, line
        assert "approv" not in line
    plan = project.wave("rollback", "--env", "development", "--plan", "--json")
    assert json.loads(plan.stdout)["rollback_to_reason"] == (
        "nothing has been deployed to development yet"
    )


def test_status_text_shows_each_host_of_a_multi_host_target() -> None:
    from wave_sdk.cli.commands import _host_lines

    hosts = {
        "web-1": {
            "reachable": True,
            "current": "v2",
            "app": "1/1 pm2 processes online",
            "processes": [
                {"pid": 41, "status": "online", "restarts": 0, "memory": 52428800, "uptime_s": 9.5}
            ],
            "disk": {"free": "9.1G", "used_pct": "42%"},
        },
        "web-2": {"reachable": False, "error": "connection refused"},
    }
    assert _host_lines(hosts) == [
        "    web-1: release v2; 1/1 pm2 processes online; pid 41 online (0 restarts, 50 MiB,"
        " up 10s); disk 42% used, 9.1G free",
        "    web-2: unreachable — connection refused",
    ]
    assert _host_lines(None) == []
