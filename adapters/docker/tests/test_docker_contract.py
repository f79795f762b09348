"""The Docker adapter passes the conformance suite, on a real engine and registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest
from docker import APIClient
from wave_sdk_docker.adapter import DockerAdapter

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestDockerContract(AdapterContract):
    adapter = "docker"
    health_endpoints = kit.HEALTH_ENDPOINTS

    @pytest.fixture
    def target_config(
        self, target: dict[str, Any], docker_api: APIClient, cleanup: str
    ) -> dict[str, Any]:
        # The engine, seen by the test itself and not through the adapter.
        self.api, self.label = docker_api, cleanup
        return target

    @pytest.fixture
    def make_release(self, context: Callable[..., Path]) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            failing = () if healthy else ("/api/health/db/",)
            return Release(id=release_id, source=context(release_id, failing=failing))

        return make

    def teardown_target(self, adapter: Adapter) -> None:
        kit.purge(self.api, self.label)  # every container and image the test made

    def kill_behind_back(self, adapter: Adapter) -> None:
        assert isinstance(adapter, DockerAdapter)
        self.api.stop(adapter.container, timeout=5)

    def leaked(self, adapter: Adapter) -> list[str]:
        mine = {"label": self.label}
        containers = [
            f"container {(c.get('Names') or [c['Id']])[0].lstrip('/')} ({c['State']})"
            for c in self.api.containers(all=True, filters=mine)
        ]
        images = [f"image {i['Id'][:19]}" for i in self.api.images(filters=mine)]
        return [*super().leaked(adapter), *containers, *images]
