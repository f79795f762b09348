"""The built-in `local` target beyond the contract: errors a user can act on, and safety."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from projects import HEALTH_FAST, Project

from wave_sdk.errors import AdapterError, ConfigError


def setup(project: Project, **target: object) -> None:
    project.write(f"""
[environments.development]
target = "web"
{project.local_target(**target)}
{HEALTH_FAST}
""")


def running_pid(project: Project) -> int:
    return int(json.loads((project.root / ".wave/local/web/app.pid").read_text())["pid"])


def test_port_taken_by_a_stranger_is_reported(project: Project) -> None:
    setup(project)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", project.port))
        squatter.listen()
        with pytest.raises(AdapterError) as info:
            project.wave().deploy("development", release="v1", source=project.release("v1"))
    assert f"port {project.port} is already in use" in str(info.value)


def test_secret_env_reaches_the_process_but_not_its_command_line(
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "tok-" + os.urandom(8).hex()
    monkeypatch.setenv("WAVE_LOCAL_TOKEN", token)
    setup(project, env={"API_TOKEN": "${WAVE_LOCAL_TOKEN}"})
    project.wave().deploy("development", release="v1", source=project.release("v1"))
    pid = running_pid(project)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"API_TOKEN={token}".encode() in environ
    assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_shared_files_are_linked_into_every_release(project: Project) -> None:
    setup(project, shared=[".env"])
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    shared = project.root / ".wave/local/web/shared/.env"
    shared.write_text("KEPT=1\n")
    wave.deploy("development", release="v2", source=project.release("v2"))
    linked = project.root / ".wave/local/web/releases/v2/.env"
    assert linked.is_symlink() and linked.read_text() == "KEPT=1\n"
    assert (project.root / ".wave/local/web/current").resolve().name == "v2"


def test_shared_path_may_not_escape_the_release(project: Project) -> None:
    """Refused with the configuration, before any deploy starts."""
    setup(project, shared=["../../outside"])
    with pytest.raises(ConfigError) as info:
        project.wave().deploy("development", release="v1", source=project.release("v1"))
    assert "targets.web.shared.0" in str(info.value)
    assert "leaves the release directory" in str(info.value)
    assert not (project.root / ".wave/local/outside").exists()


@pytest.mark.parametrize(
    "release",
    ["$(touch pwned)", "../up", "a b", ".hidden", "v1;id", "v1\n", "ok.tmp-1234", "x" * 10_000],
)
def test_release_ids_with_shell_or_path_syntax_are_refused(project: Project, release: str) -> None:
    setup(project)
    src = project.release("v1")
    result = project.cli(
        "deploy", "--env", "development", "--release", release, "--source", str(src)
    )
    assert result.returncode == 2, result.stderr
    assert "invalid release id" in result.stderr and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert len(line) < 300, "a long id is cut in the message"
    if ".tmp-" in release:  # wave's own temporary names: staged, then never listed
        assert "'.tmp-' is reserved" in line
    assert not (project.root / "pwned").exists()
    assert not (project.root / ".wave" / "local").exists()


def test_status_before_any_deploy_is_absent(project: Project) -> None:
    setup(project)
    [status] = project.wave().status("development")
    assert (status.state, status.current, status.releases) == ("absent", None, ())


@pytest.mark.parametrize("root", [None, "deploy"])
def test_project_directory_as_source_leaves_out_state_and_releases(
    project: Project, root: str | None
) -> None:
    """`source = "."` (what `wave init` writes) must not copy releases into releases."""
    project.release("v1")  # server.py and app.json …
    for name in ("server.py", "app.json"):  # … placed at the project's top level
        (project.root / name).write_bytes((project.root / "src/v1" / name).read_bytes())
    (project.root / ".git").mkdir()
    (project.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    setup(project, source=".", **({"root": root} if root else {}))
    wave = project.wave()
    wave.deploy("development", release="v1")
    wave.deploy("development", release="v2")
    base = project.root / (root or ".wave/local/web")
    release = base / "releases" / "v2"
    assert (release / "server.py").is_file()
    assert not (release / ".git").exists() and not (release / ".wave").exists()
    assert not (release / (root or "deploy")).exists()


@pytest.mark.parametrize("release", [None, "v1"])
def test_source_links_out_of_the_tree_are_refused_before_copying(
    project: Project, release: str | None
) -> None:
    """An outside secret and /dev/zero behind links: nothing copied, one line naming them.

    Without ``--release`` (no git) the content hash that names the release refuses first;
    with one, the copy does, before its first byte.
    """
    setup(project)
    src = project.release("v1")
    (project.root / "secret.txt").write_text("outside-secret-7f3a\n")
    (src / "secret.txt").symlink_to("../../secret.txt")
    (src / "zero").symlink_to("/dev/zero")
    args = ["--release", release] if release else []
    result = project.cli("deploy", "--env", "development", *args, "--source", str(src), timeout=60)
    assert result.returncode in (2, 6), result.stderr
    last = result.stderr.splitlines()[-1]
    assert "'secret.txt' is a link to '../../secret.txt', outside the source directory" in last
    assert "(and 1 more)" in last and "replace the link" in last
    assert "Traceback" not in result.stderr
    releases = project.root / ".wave/local/web/releases"
    assert not releases.exists() or os.listdir(releases) == []
    assert not any(
        b"outside-secret-7f3a" in p.read_bytes()
        for p in (project.root / ".wave").rglob("*")
        if p.is_file() and not p.is_symlink()
    )


def test_a_target_named_to_escape_the_project_is_refused(project: Project) -> None:
    name = "../../../escape-target"
    project.write(f"""
[environments.development]
target = "{name}"
{project.local_target(f'"{name}"')}
{HEALTH_FAST}
""")
    src = project.release("v1")
    result = project.cli("deploy", "--env", "development", "--release", "v1", "--source", str(src))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert "invalid name '../../../escape-target'" in line and "rename it" in line
    assert not (project.root.parent.parent / "escape-target").exists()
    assert not (project.root / ".wave" / "local").exists()


def test_an_absolute_root_outside_the_project_is_allowed(project: Project, tmp_path: Path) -> None:
    """Only a relative root is kept inside the project: an absolute one is asked for."""
    elsewhere = tmp_path / "elsewhere"
    setup(project, root=str(elsewhere))
    try:
        project.wave().deploy("development", release="v1", source=project.release("v1"))
        assert (elsewhere / "releases" / "v1" / "REVISION").is_file()
    finally:
        project.stop_all(elsewhere)  # the fixture looks only inside the project
