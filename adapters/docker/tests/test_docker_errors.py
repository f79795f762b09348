"""Errors a user can act on, each provoked for real: message, hint, and what is left running."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest
from docker import APIClient
from wave_sdk_docker.errors import (
    BuildFailed,
    DaemonUnreachable,
    ImageNotFound,
    PortTaken,
    RegistryAuthFailed,
    RegistryError,
)

from wave_sdk import Release
from wave_sdk.errors import AdapterError, RollbackFailed
from wave_sdk.reporting import Event, ListReporter
from wave_sdk.testing import free_port, missing
from wave_sdk.wave import Wave


def _deploy_direct(root: Path, target: dict[str, Any], release: Release) -> None:
    """The adapter's own deploy, without the pipeline (which would rewrap the error)."""
    wave = kit.wave_for(root, target)
    with wave.open_target(kit.TARGET, kit.ENVIRONMENT) as adapter:
        adapter.deploy(release)


def _mine(api: APIClient, label: str) -> list[str]:
    return [c["Names"][0] for c in api.containers(all=True, filters={"label": label})]


def test_port_already_taken(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", target["port"]))
        squatter.listen()
        with pytest.raises(PortTaken) as info:
            _deploy_direct(tmp_path, target, Release(id="v1", source=context("v1")))
    message = str(info.value)
    assert f"port {target['port']} on 127.0.0.1 is already taken" in message
    assert "choose another `port`" in message
    assert _mine(docker_api, cleanup) == []  # the container made for v1 is gone again


def test_image_not_found(tmp_path: Path, target: dict[str, Any], registry: str) -> None:
    target = {**target, "image": f"{registry}/wave-test/never-pushed-{target['name']}"}
    with pytest.raises(ImageNotFound) as info:
        _deploy_direct(tmp_path, target, Release(id="v1"))
    message = str(info.value)
    assert f"image {target['image']}:v1 not found in {registry}" in message
    assert "push it first, or set `build`" in message
    # Through the pipeline: one line, exit code 6, nothing to roll back to.
    with pytest.raises(AdapterError) as info:
        kit.wave_for(tmp_path / "p", target).deploy(kit.ENVIRONMENT, release="v1")
    assert "not found in" in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 6


def test_container_name_taken_by_a_foreign_container(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
) -> None:
    release = Release(id="v1", source=context("v1"))
    _deploy_direct(tmp_path / "other", target, release)  # makes the image
    docker_api.remove_container(target["name"], force=True)
    docker_api.create_container(
        f"{target['image']}:v1", name=target["name"], labels={"wave-test": cleanup.split("=")[1]}
    )
    with pytest.raises(AdapterError) as info:
        _deploy_direct(tmp_path / "p", target, release)
    assert f"a container named {target['name']} already exists (not made by wave)" in str(
        info.value
    )
    assert "set `name`" in str(info.value)


@pytest.fixture
def auth_registry() -> Iterator[str]:
    """A second registry that wants a user name and password (htpasswd)."""
    address = f"127.0.0.1:{free_port()}"
    server = kit.Registry(Path(tempfile.mkdtemp(prefix="wave-registry-")), address, htpasswd=True)
    try:
        server.start()
    except RuntimeError as exc:
        missing("Docker registry", str(exc))
    yield address
    server.stop()
    subprocess.run(["rm", "-rf", str(server.root)], check=False)


def test_registry_auth_failure_and_success(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    auth_registry: str,
    docker_api: APIClient,
    cleanup: str,
) -> None:
    target = {**target, "image": f"{auth_registry}/wave-test/private"}
    release = Release(id="v1", source=context("v1"))

    with pytest.raises(RegistryAuthFailed) as info:
        _deploy_direct(tmp_path / "a", target, release)  # no credentials at all
    assert f"registry {auth_registry} refused to push {target['image']}:v1" in str(info.value)
    assert "set `registry_auth`" in str(info.value)

    os.environ["WAVE_TEST_REGISTRY_PASSWORD"] = "not-the-password"
    try:
        wrong = {
            **target,
            "registry_auth": {
                "username": kit.REGISTRY_USER,
                "password": "${WAVE_TEST_REGISTRY_PASSWORD}",
            },
        }
        with pytest.raises(RegistryAuthFailed) as info:
            _deploy_direct(tmp_path / "b", wrong, release)
        assert "refused to push" in str(info.value)
        assert "not-the-password" not in str(info.value)
        assert _mine(docker_api, cleanup) == []  # nothing ran: the image never got pushed

        os.environ["WAVE_TEST_REGISTRY_PASSWORD"] = kit.REGISTRY_PASSWORD
        _deploy_direct(tmp_path / "c", wrong, release)
    finally:
        del os.environ["WAVE_TEST_REGISTRY_PASSWORD"]
    digests = docker_api.inspect_image(f"{target['image']}:v1")["RepoDigests"]
    assert any(d.startswith(f"{target['image']}@sha256:") for d in digests)


# -- the daemon goes away ----------------------------------------------------------------


@pytest.fixture
def own_daemon(docker_engine: str) -> Iterator[kit.Daemon]:
    """A second dockerd, so that stopping it leaves every other test's engine alone."""
    if os.geteuid() != 0:
        missing("dockerd", "a second engine needs root")
    # Short path: the engine's containerd socket must fit in a unix socket address.
    daemon = kit.Daemon(Path(tempfile.mkdtemp(prefix="wave-dk-", dir="/tmp")))
    try:
        daemon.start()
    except RuntimeError as exc:
        missing("dockerd", str(exc))
    yield daemon
    daemon.stop()
    daemon.remove_files()  # its containers and images go with its data root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kit.WAVE, *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CI": "1"},
        stdin=subprocess.DEVNULL,
    )


def test_daemon_stopped_mid_suite_is_a_clear_error(
    tmp_path: Path, own_daemon: kit.Daemon, context: Callable[..., Path]
) -> None:
    root = tmp_path / "project"
    port = free_port()
    root.mkdir()
    (root / "wave.toml").write_text(
        f"""
[project]
name = "stop"

[environments.staging]
branch = "develop"
target = "web"
allow_lower_approvals = true

[approvals.deploy]
staging = "L5"

[approvals.rollback]
staging = "L5"

[health]
endpoints = [{{ path = "/api/health/" }}]
interval = 0.1

[targets.web]
adapter = "docker"
image = "wave-test-stop/web"
docker_host = "{own_daemon.host}"
network = "host"
port = {port}
init = true
stop_timeout = 2
start_timeout = 60
"""
    )
    deployed = _cli(
        root, "deploy", "--env", "staging", "--release", "v1", "--source", str(context("v1"))
    )
    assert deployed.returncode == 0, deployed.stderr

    # Stopped in the middle of a deploy, at a moment the test chooses: v1 is stopped and
    # v2 is about to start when the engine goes away.
    class StopTheEngine(ListReporter):
        def emit(self, event: Event) -> None:
            super().emit(event)
            if event.message.startswith("starting v2"):
                own_daemon.stop()

    reporter = StopTheEngine()
    wave = Wave(root / "wave.toml", reporter=reporter, deployer="docker-tests")
    with pytest.raises(RollbackFailed) as info:  # the rollback cannot reach it either
        wave.deploy("staging", release=Release(id="v2", source=context("v2")))
    message = str(info.value)
    assert message.startswith("deploy failed: Docker daemon unreachable"), message
    assert f"rollback failed: web: Docker daemon unreachable at {own_daemon.host}" in message
    assert "\n" not in message
    [failed] = [e.message for e in reporter.events if e.kind == "fail" and e.step == "deploy"]
    assert failed.startswith(f"web: Docker daemon unreachable at {own_daemon.host}: ")
    assert "v2 was being started and v1 was stopped (see `wave status`" in failed

    # And every command afterwards says the same, in one line, with the fix.
    for command, code in (
        (["status", "--env", "staging"], 6),
        (["health", "--env", "staging"], 6),
        (["deploy", "--env", "staging", "--release", "v1"], 6),
        (["rollback", "--env", "staging"], 8),
    ):
        result = _cli(root, *command)
        assert result.returncode == code, (command, result.stdout, result.stderr)
        last = result.stderr.strip().splitlines()[-1]
        assert f"Docker daemon unreachable at {own_daemon.host}: " in last
        assert "start the engine" in last
        assert "Traceback" not in result.stdout + result.stderr

    # From Python: the adapter's own exception class, a WaveError like every other.
    with pytest.raises(DaemonUnreachable):
        kit.wave_for(tmp_path / "api", {"image": "x", "docker_host": own_daemon.host}).status()


def test_build_failure_quotes_the_build_output(
    tmp_path: Path, target: dict[str, Any], docker_api: APIClient, cleanup: str
) -> None:
    context = tmp_path / "broken-context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY app /app\n")
    with pytest.raises(BuildFailed) as info:
        _deploy_direct(tmp_path / "p", target, Release(id="v1", source=context))
    message = str(info.value)
    assert f"building {target['image']}:v1 failed: " in message
    assert "COPY app /app | COPY failed" in message
    assert "--->" not in message
    assert f"fix the Dockerfile or the context ({context})" in message
    assert _mine(docker_api, cleanup) == []


def test_registry_down_is_a_registry_error(
    tmp_path: Path, target: dict[str, Any], context: Callable[..., Path]
) -> None:
    down = f"127.0.0.1:{free_port()}"  # nothing listens there
    target = {**target, "image": f"{down}/wave-test/app"}
    with pytest.raises(RegistryError) as info:
        _deploy_direct(tmp_path, target, Release(id="v1", source=context("v1")))
    message = str(info.value)
    assert f"registry {down} unreachable during push of {target['image']}:v1" in message
    assert "connection refused" in message
    assert "start the registry" in message
