"""Fixtures of the Docker adapter's tests: a real engine and registry, started if need be.

The session uses an engine that already answers (``$WAVE_TEST_DOCKER_HOST``,
``$DOCKER_HOST``, the system socket, or a test engine left running) and otherwise starts
``dockerd`` under ``/var/lib/wave-test-docker`` and stops it at the end. Likewise the
registry on 127.0.0.1:5000. Without dockerd (or root) the tests skip with the reason — and
fail under ``WAVE_REQUIRE_REAL=1``, as CI runs them.

Each test labels what it makes (``wave-test=<id>``, through the target's ``labels``) and
its teardown removes every container and image with that label, then checks none is left.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest
from docker import APIClient

from wave_sdk.testing import free_port, missing


def _candidates() -> list[str]:
    hosts = [os.environ.get("WAVE_TEST_DOCKER_HOST"), os.environ.get("DOCKER_HOST")]
    hosts += ["unix:///var/run/docker.sock", f"unix://{kit.STATE_ROOT / 'docker.sock'}"]
    return [h for h in hosts if h]


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """The address of a running Docker engine (``unix://…``)."""
    for host in _candidates():
        if kit.engine_answers(host):
            yield host
            return
    if os.geteuid() != 0:
        missing("Docker engine", "none answers, and only root can start dockerd here")
    daemon = kit.Daemon(kit.STATE_ROOT)
    try:
        daemon.start()
    except RuntimeError as exc:
        missing("Docker engine", str(exc))
    try:
        yield daemon.host
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def registry(docker_engine: str) -> Iterator[str]:
    """``127.0.0.1:5000``, where a Docker registry answers (started here if need be)."""
    if kit.registry_answers(kit.REGISTRY):
        yield kit.REGISTRY
        return
    server = kit.Registry(kit.STATE_ROOT / "registry", kit.REGISTRY)
    try:
        server.start()
    except RuntimeError as exc:
        missing("Docker registry", str(exc))
    try:
        yield kit.REGISTRY
    finally:
        server.stop()


@pytest.fixture(scope="session")
def busybox() -> str:
    path = kit.static_busybox()
    if path is None:
        missing("static busybox", "no statically linked busybox (Debian: busybox-static)")
    return path


@pytest.fixture
def docker_api(docker_engine: str) -> Iterator[APIClient]:
    api = APIClient(base_url=docker_engine, version="auto", timeout=60)
    yield api
    api.close()


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def cleanup(docker_api: APIClient, test_id: str) -> Iterator[str]:
    """The label this test puts on what it makes; removed (and checked gone) afterwards."""
    label = f"wave-test={test_id}"
    yield label
    kit.purge(docker_api, label)
    left = docker_api.containers(all=True, filters={"label": label}) + docker_api.images(
        filters={"label": label}
    )
    assert not left, f"left behind: {left}"


@pytest.fixture
def context(tmp_path: Path, busybox: str) -> Callable[..., Path]:
    """``context(version, **options)``: a build context (see docker_testkit.write_context)."""

    def make(version: str, **options: Any) -> Path:
        return kit.write_context(
            tmp_path / "contexts" / version, version, busybox=busybox, **options
        )

    return make


@pytest.fixture
def target(docker_engine: str, registry: str, cleanup: str, test_id: str) -> dict[str, Any]:
    """A docker target's keys: host networking on a free loopback port, image in the registry."""
    return {
        "image": f"{registry}/wave-test/{test_id}",
        "name": f"wave-test-{test_id}",
        "docker_host": docker_engine,
        "network": "host",
        "port": free_port(),
        "init": True,  # busybox httpd as PID 1 ignores SIGTERM: let docker-init forward it
        "stop_timeout": 5,
        "start_timeout": 30,
        "labels": {"wave-test": test_id},
    }
