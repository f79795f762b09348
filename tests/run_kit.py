"""Helpers for the run tests: a project whose `local` app says which release answers.

A module of its own (not conftest.py): see tests/projects.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from projects import HEALTH_FAST, Project

from wave_sdk.models import HistoryRecord
from wave_sdk.state import LocalStateStore

ENV = "development"


def make_project(
    project: Project, *, keep: int = 5, auto_rollback: bool = True, extra: str = ""
) -> None:
    project.write(
        f"""
[project]
name = "runs"
contacts = ["ops@example.com"]

[environments.{ENV}]
target = "web"
auto_rollback = {"true" if auto_rollback else "false"}

{project.local_target(keep=keep, stop_timeout=5)}
{HEALTH_FAST}
{extra}
"""
    )


def serving(project: Project, timeout: float = 10.0) -> str | None:
    """The release the app on the target's port answers with (``None``: nothing answers)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{project.port}/", timeout=2) as resp:
                return str(json.loads(resp.read())["version"])
        except OSError:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


def store(project: Project) -> LocalStateStore:
    return LocalStateStore(project.root / ".wave" / "state")


def history(project: Project) -> list[HistoryRecord]:
    return store(project).history(ENV)


def recorded_current(project: Project) -> str | None:
    current = store(project).current(ENV)
    return current.release if current else None


def project_processes(project: Project) -> list[int]:
    """Pids of live processes whose working directory is inside the project."""
    root = str(project.root.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd == root or cwd.startswith(root + "/")):
            found.append(int(entry.name))
    return found


def app_pid(project: Project) -> int | None:
    try:
        return int(json.loads((project.root / ".wave/local/web/app.pid").read_text())["pid"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def signal_files_parse(project: Project) -> list[dict[str, object]]:
    """Every signal file (temporary ones aside) as JSON; a torn file fails the test."""
    directory = project.root / ".claude"
    return [
        json.loads(p.read_text())
        for p in sorted(directory.glob("signal-*.json"))
        if not p.name.endswith(".tmp")
    ]


def deploy_cli(
    project: Project,
    release: str,
    *,
    healthy: bool = True,
    kill: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``wave deploy`` of a new health-app release; ``kill`` sets ``WAVE_TEST_KILL_AT``."""
    source = project.release(release, healthy=healthy)
    extra = {**(env or {}), **({"WAVE_TEST_KILL_AT": kill} if kill else {})}
    return project.cli(
        "deploy",
        "--env",
        ENV,
        "--release",
        release,
        "--source",
        str(source),
        env=extra,
    )
