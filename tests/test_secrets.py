"""A secret given as ``${VAR}`` reaches the app's process, and nothing a person can read.

A project whose local target gets ``env = { API_TOKEN = "${WAVE_TEST_TOKEN}" }`` is driven
through the real ``wave`` command: ``config show``, a good deploy, a broken deploy that is
rolled back (exit 7), ``status``, ``history``, ``health``, an error whose message contains
the secret — each with and without ``--json``. Then every byte the commands printed and
every file under the project (state, history, signals in ``.claude``, logs, releases) is
searched for the secret: it must appear nowhere. The running app's ``/proc/<pid>/environ``
must hold it, so the test proves delivery and is not passing because nothing happened.
"""

from __future__ import annotations

import argparse
import json
import secrets as random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wave_sdk import secrets
from wave_sdk.cli.commands import report_error
from wave_sdk.errors import AdapterError
from wave_sdk.testing import run_wave
from wave_sdk.testing.healthapp import write_app
from wave_sdk.wave import Wave

WAVE = Path(sys.executable).parent / "wave"
ENV = "development"


@dataclass
class Project:
    root: Path
    secret: str
    v1: Path
    v2: Path

    def wave(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"WAVE_TEST_TOKEN": self.secret, "WAVE_DEPLOYER": "secret-test"}
        return run_wave(*args, cwd=self.root, env=env)


@pytest.fixture
def project(tmp_path: Path, free_port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    secret = f"wst-{random.token_hex(16)}"
    root = tmp_path / "project"
    v1 = write_app(root / "src" / "v1", "v1")
    v2 = write_app(root / "src" / "v2", "v2", failing=["/api/health/db"])
    (root / "wave.toml").write_text(
        f"""\
[project]
name = "secret-test"
contacts = ["oncall@example.com"]

[environments.{ENV}]
target = "web"

[targets.web]
adapter = "local"
command = [{json.dumps(sys.executable)}, "server.py"]
port = {free_port}
env = {{ API_TOKEN = "${{WAVE_TEST_TOKEN}}", MODE = "test" }}

[health]
interval = 0.1
consecutive = 2
retries = 2
deadline = 20
timeout = 2
"""
    )
    monkeypatch.setenv("WAVE_TEST_TOKEN", secret)  # for the teardown's own Wave
    yield Project(root=root, secret=secret, v1=v1, v2=v2)
    with Wave(root).open_target("web", ENV) as adapter:
        adapter.stop()  # type: ignore[attr-defined]


def test_secret_reaches_the_process_and_no_output_or_file(project: Project) -> None:
    outputs: list[str] = []

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = project.wave(*args)
        outputs.extend((proc.stdout, proc.stderr))
        assert proc.returncode == expect, f"wave {' '.join(args)}: {proc.stdout}{proc.stderr}"
        assert "Traceback" not in proc.stderr
        return proc

    for flags in ([], ["--json"]):
        shown = json.loads(run("config", "show", *flags).stdout)
        assert shown["targets"]["web"]["env"] == {"API_TOKEN": "**********", "MODE": "test"}

    v1 = ["--env", ENV, "--release", "v1", "--source", str(project.v1)]
    v2 = ["--env", ENV, "--release", "v2", "--source", str(project.v2)]
    run("deploy", *v1)
    run("deploy", *v1, "--json")  # already live: the pipeline runs, the process stays
    for flags in ([], ["--json"]):
        failed = run("deploy", *v2, *flags, expect=7)
        assert "rolled back" in failed.stdout + failed.stderr
    for command in (["status"], ["history"], ["health", "--env", ENV], ["plan", *v1]):
        run(*command)
        run(*command, "--json")

    # An error whose message would contain the secret (here: a user pasting it as --env).
    for flags in ([], ["--json"]):
        wrong = run("status", "--env", project.secret, *flags, expect=2)
        assert "***" in wrong.stdout + wrong.stderr

    # The commands did what they say: history, signals, logs exist to be searched.
    state = project.root / ".wave"
    history = [json.loads(line) for line in (state / "state" / "history.jsonl").open()]
    outcomes = [h["outcome"] for h in history]
    assert outcomes == ["succeeded", "succeeded", "rolled_back", "rolled_back"]
    signals = sorted((project.root / ".claude").glob("signal-*.json"))
    assert any("rollback-complete" in s.name for s in signals)
    logs = list((state / "local" / "web" / "logs").glob("*.log"))
    assert {p.stem for p in logs} == {"v1", "v2"}

    # Delivered: the running release (v1, after the rollbacks) has the token in its env.
    record = json.loads((state / "local" / "web" / "app.pid").read_text())
    assert record["release"] == "v1"
    environ = Path(f"/proc/{record['pid']}/environ").read_bytes().split(b"\0")
    assert f"API_TOKEN={project.secret}".encode() in environ

    # …and nowhere else.
    needle = project.secret.encode()
    for i, text in enumerate(outputs):
        assert project.secret not in text, f"output #{i} leaks the secret:\n{text}"
    files = [p for p in project.root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert len(files) > 10
    leaking = [str(p.relative_to(project.root)) for p in files if needle in p.read_bytes()]
    assert leaking == []


def test_wave_error_containing_a_registered_secret_prints_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = f"wst-{random.token_hex(8)}"
    secrets.register(token)
    error = AdapterError(f"platform refused token {token}", hint=f"rotate {token}")

    assert token not in str(error)
    assert str(error) == f"platform refused token {secrets.MASK} — rotate {secrets.MASK}"

    report_error(argparse.Namespace(json=False), error)
    report_error(argparse.Namespace(json=True), error)
    out, err = capsys.readouterr()
    assert err == "wave: error: platform refused token *** — rotate ***\n"
    assert json.loads(out)["message"] == "platform refused token *** — rotate ***"
    assert token not in out + err


def test_short_values_are_not_registered() -> None:
    secrets.register("ab")
    assert secrets.redact("a tab b") == "a tab b"


def test_data_is_masked_before_it_is_serialised() -> None:
    """A quote, a backslash or non-ASCII: ``json.dumps`` escapes them, so masking the JSON
    text afterwards misses the secret (issue 9); :func:`secrets.dumps` masks the data first."""
    token = 'T2-QU"OTE\\BACK-pässwörd-5150'
    secrets.register(token)
    data = {"message": f"refused {token}", token: [token, ("x", token)], "n": 1, "ok": None}

    for text in (secrets.dumps(data), secrets.dumps(data, indent=2, ensure_ascii=False)):
        assert json.loads(text) == {
            "message": "refused ***",
            "***": ["***", ["x", "***"]],
            "n": 1,
            "ok": None,
        }
        for form in (token, json.dumps(token)[1:-1], json.dumps(token, ensure_ascii=False)[1:-1]):
            assert form not in text


def test_encoded_forms_of_a_secret_are_masked_in_text() -> None:
    """Text someone else encoded: an app logging its URL, a library quoting a value."""
    from urllib.parse import quote, quote_plus

    token = 'T2 with\\spaces/ünd"quotes'
    secrets.register(token)
    for form in (json.dumps(token)[1:-1], repr(token)[1:-1], quote(token), quote_plus(token)):
        assert secrets.redact(f"GET /health?t={form} failed") == "GET /health?t=*** failed"


def test_short_values_are_named_for_the_warning() -> None:
    secrets.register("x", name="SHORT_TOKEN")
    secrets.register("y")  # a whole resolved value: no variable to name
    assert secrets.too_short() == ["SHORT_TOKEN"]
    assert secrets.redact("x y") == "x y"
