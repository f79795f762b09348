"""The Docker adapter passes the conformance suite, on a real engine and registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestDockerContract(AdapterContract):
    adapter = "docker"
    health_endpoints = kit.HEALTH_ENDPOINTS

    @pytest.fixture
    def target_config(self, target: dict[str, Any]) -> dict[str, Any]:
        return target

    @pytest.fixture
    def make_release(self, context: Callable[..., Path]) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            failing = () if healthy else ("/api/health/db/",)
            return Release(id=release_id, source=context(release_id, failing=failing))

        return make

    def teardown_target(self, adapter: Adapter) -> None:
        pass  # the `cleanup` fixture removes every container and image the test made
