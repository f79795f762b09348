"""The issue's demonstrations, through the `wave` command, on a real engine and registry.

1. build v1 → push → deploy → healthy → v2 → healthy → broken v3 → verification fails →
   automatic rollback to v2 → `wave status` shows v2 running, v1 and v2 available;
2. a release whose container exits at start: exit code and last log lines reported, the
   previous release left running.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest
from docker import APIClient


class Project:
    def __init__(self, root: Path, target: dict[str, Any]) -> None:
        self.root = root
        self.target = target
        root.mkdir(parents=True, exist_ok=True)
        endpoints = ", ".join(f'{{ path = "{e["path"]}" }}' for e in kit.HEALTH_ENDPOINTS)
        keys = "\n".join(f"{k} = {_toml(v)}" for k, v in target.items())
        (root / "wave.toml").write_text(
            f"""
[project]
name = "e2e"

[environments.staging]
branch = "develop"
target = "web"
allow_lower_approvals = true

[approvals.deploy]
staging = "L5"

[approvals.rollback]
staging = "L5"

[health]
endpoints = [{endpoints}]
interval = 0.1
consecutive = 2
retries = 3
deadline = 30
timeout = 2

[targets.web]
adapter = "docker"
{keys}
"""
        )

    def wave(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kit.WAVE, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=180,
            env={**os.environ, "CI": "1"},
            stdin=subprocess.DEVNULL,
        )

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.target['port']}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"
    return json.dumps(value)


@pytest.fixture
def project(tmp_path: Path, target: dict[str, Any]) -> Project:
    return Project(tmp_path / "project", target)


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_build_push_deploy_roll_back_on_a_real_engine(
    project: Project,
    context: Callable[..., Path],
    docker_api: APIClient,
    registry: str,
) -> None:
    name, image = project.target["name"], project.target["image"]
    repository = image.removeprefix(f"{registry}/")

    # v1: built from its context, tagged with the release, pushed, run, healthy.
    _ok(
        project.wave(
            "deploy", "--env", "staging", "--release", "v1", "--source", str(context("v1"))
        )
    )
    assert kit.registry_tags(registry, repository) == ["v1"]
    live = docker_api.inspect_container(name)
    assert live["Config"]["Image"] == f"{image}:v1"
    assert live["State"]["Health"]["Status"] == "healthy"
    assert live["Config"]["Labels"]["wave.release"] == "v1"
    assert live["Config"]["Labels"]["wave.environment"] == "staging"
    assert live["Config"]["Labels"]["wave.deploy-id"]
    assert project.get("/api/health/") == (200, '{"status": "ok", "version": "v1"}\n')

    # v2 replaces it; v1 stays, stopped, for an instant rollback.
    _ok(
        project.wave(
            "deploy", "--env", "staging", "--release", "v2", "--source", str(context("v2"))
        )
    )
    assert kit.registry_tags(registry, repository) == ["v1", "v2"]
    assert docker_api.inspect_container(name)["State"]["Health"]["Status"] == "healthy"
    assert docker_api.inspect_container(f"{name}--v1")["State"]["Status"] == "exited"
    assert '"v2"' in project.get("/api/health/")[1]

    # v3 starts and Docker calls it healthy, but /api/health/db/ fails the core's checks.
    broken = context("v3", failing=("/api/health/db/",))
    result = project.wave("deploy", "--env", "staging", "--release", "v3", "--source", str(broken))
    assert result.returncode == 7, result.stdout + result.stderr
    assert "verification of web failed" in result.stderr
    assert "/api/health/db/" in result.stderr
    assert "rolled back web v3 → v2" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr

    status = _ok(project.wave("status", "--env", "staging"))
    assert "web (docker): running, current release v2" in status.stdout
    assert "releases available: v2, v1" in status.stdout
    [report] = json.loads(_ok(project.wave("status", "--env", "staging", "--json")).stdout)[
        "staging"
    ]["targets"]
    assert (report["current"], report["releases"]) == ("v2", ["v2", "v1"])
    assert report["details"]["health"] == "healthy"
    assert report["details"]["digest"].startswith(f"{image}@sha256:")
    assert report["details"]["restart_count"] == 0

    # The engine agrees: v2 live and serving, v1 kept, the broken v3 container gone.
    assert '"v2"' in project.get("/api/health/")[1]
    names = sorted(
        n.lstrip("/")
        for c in docker_api.containers(all=True, filters={"label": "wave.target=web"})
        for n in c["Names"]
        if n.lstrip("/").startswith(name)
    )
    assert names == [name, f"{name}--v1"]
    history = json.loads(_ok(project.wave("history", "--env", "staging", "--json")).stdout)
    assert [(h["release"], h["outcome"]) for h in history] == [
        ("v1", "succeeded"),
        ("v2", "succeeded"),
        ("v3", "rolled_back"),
    ]


def test_container_that_exits_at_start_reports_and_leaves_previous_running(
    project: Project, context: Callable[..., Path], docker_api: APIClient
) -> None:
    name = project.target["name"]
    _ok(
        project.wave(
            "deploy", "--env", "staging", "--release", "v1", "--source", str(context("v1"))
        )
    )
    v1 = docker_api.inspect_container(name)["Id"]

    crashing = context("v2", exit_code=3)
    result = project.wave(
        "deploy", "--env", "staging", "--release", "v2", "--source", str(crashing)
    )

    assert result.returncode == 6, result.stdout + result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert "release v2 exited at start with code 3" in error
    assert "app v2 starting" in error
    assert "fatal: cannot open /data/app.db: no such file or directory" in error
    assert "previous release v1 left running" in error
    assert "Traceback" not in result.stdout + result.stderr

    # v1 is the same container as before, running, serving; v2's container is gone.
    live = docker_api.inspect_container(name)
    assert live["Id"] == v1 and live["State"]["Running"]
    assert '"v1"' in project.get("/api/health/")[1]
    mine = [c for c in docker_api.containers(all=True) if c["Names"][0].startswith(f"/{name}")]
    assert [c["Names"][0] for c in mine] == [f"/{name}"]
    status = _ok(project.wave("status", "--env", "staging"))
    assert "running, current release v1" in status.stdout
    assert "releases available: v1" in status.stdout
