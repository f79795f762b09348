"""Test projects: a directory with a wave.toml, `local` targets on free loopback ports.

A module of its own (not conftest.py) so that test files import it by a name no other
test directory uses: `from conftest import …` resolves to whichever conftest was
imported first when several test directories are collected together.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wave_sdk.reporting import ListReporter
from wave_sdk.testing import free_port, run_wave
from wave_sdk.testing.healthapp import write_app
from wave_sdk.wave import Wave

WAVE = str(Path(sys.executable).parent / "wave")


class Project:
    """A project directory with a wave.toml, release sources, and the `wave` command."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()

    def write(self, toml: str) -> Path:
        path = self.root / "wave.toml"
        path.write_text(toml)
        return path

    def local_target(self, name: str = "web", *, port: int | None = None, **extra: Any) -> str:
        """A `[targets.<name>]` table for the local adapter running the health app."""
        fields = {
            "adapter": "local",
            "command": [sys.executable, "server.py"],
            "port": port or self.port,
            **extra,
        }
        body = "\n".join(f"{key} = {toml_value(value)}" for key, value in fields.items())
        return f"[targets.{name}]\n{body}\n"

    def release(self, version: str, *, healthy: bool = True) -> Path:
        return write_app(
            self.root / "src" / version, version, failing=() if healthy else ["/api/health/db"]
        )

    def wave(self, **kwargs: Any) -> Wave:
        kwargs.setdefault("reporter", ListReporter())
        kwargs.setdefault("deployer", "tester")
        return Wave(self.root / "wave.toml", **kwargs)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run_wave(*args, cwd=self.root, env=env, timeout=timeout)

    def stop_all(self, *elsewhere: Path) -> None:
        """Stop every app a local target of this project started, by its recorded pid.

        ``elsewhere``: release roots outside the project (an absolute ``root``) to look in.
        """
        pid_files = [f for d in (self.root, *elsewhere) for f in d.rglob("app.pid")]
        for pid_file in pid_files:
            try:
                pid = json.loads(pid_file.read_text())["pid"]
                os.killpg(pid, signal.SIGKILL)
            except (ValueError, KeyError, ProcessLookupError, PermissionError):
                continue
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not _gone(pid):
                time.sleep(0.02)


@contextlib.contextmanager
def temporary_project(tmp_path: Path) -> Iterator[Project]:
    """A project in ``tmp_path``; every app its local targets started is stopped after."""
    proj = Project(tmp_path / "project")
    proj.root.mkdir()
    try:
        yield proj
    finally:
        proj.stop_all()


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dana",
    "GIT_AUTHOR_EMAIL": "dana@example.com",
    "GIT_COMMITTER_NAME": "Dana",
    "GIT_COMMITTER_EMAIL": "dana@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` as a fixed identity; its output, stripped. Fails on an error."""
    proc = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    """Commit every change, so the checkout is clean and a release is this commit."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def toml_value(value: Any) -> str:
    """A TOML literal for the simple values test configurations use."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are spelt alike


def _gone(pid: int) -> bool:
    """Exited (reaped, or a zombie we reap now: apps started in-process are our children)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


HEALTH_FAST = """
[health]
interval = 0.1
consecutive = 2
retries = 3
deadline = 20
timeout = 2
"""


def run_in_terminal(
    project: Project, args: list[str], answer: str, *, prompt: bytes = b"to approve:"
) -> tuple[int, str]:
    """Run `wave` on a real pseudo-terminal and type `answer` each time `prompt` shows."""
    main, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen(
        [WAVE, *args],
        cwd=project.root,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
    )
    os.close(secondary)
    output = b""
    answered = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            while output.count(prompt) > answered:
                os.write(main, answer.encode() + b"\n")
                answered += 1
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(main)
    return code, output.decode(errors="replace")
