"""The SSH adapter passes the conformance suite, on a real sshd host running pm2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sshd_farm as kit

from wave_sdk import Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestSSHContract(AdapterContract):
    adapter = "ssh"

    @pytest.fixture
    def host(self, start_hosts: kit.StartHosts) -> kit.SSHHost:
        [host] = start_hosts(1)
        return host

    @pytest.fixture
    def target_config(self, farm: kit.Farm, host: kit.SSHHost) -> dict[str, Any]:
        # The core's HTTP checks reach the app where a load balancer would be.
        return farm.target([host], url=f"http://127.0.0.1:{host.app_port}", keep=3)

    @pytest.fixture
    def make_release(self, tmp_path: Path) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            source = kit.write_app(
                tmp_path / "src" / release_id,
                release_id,
                failing=() if healthy else ["/api/health/db"],
            )
            return Release(id=release_id, source=source)

        return make
