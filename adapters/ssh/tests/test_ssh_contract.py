"""The SSH adapter passes the conformance suite, on a real sshd host running pm2."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sshd_farm as kit

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease
from wave_sdk.testing.leaks import files_under

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestSSHContract(AdapterContract):
    adapter = "ssh"

    @pytest.fixture
    def host(self, start_hosts: kit.StartHosts) -> kit.SSHHost:
        [host] = start_hosts(1)
        return host

    @pytest.fixture
    def target_config(self, farm: kit.Farm, host: kit.SSHHost) -> dict[str, Any]:
        self.host = host  # the server itself, seen by the test and not through the adapter
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

    def teardown_target(self, adapter: Adapter) -> None:
        # pm2 was started by the first deploy: it goes with the app, and the releases too.
        self.host.stop_pm2()
        for entry in self.host.deploy_path.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def kill_behind_back(self, adapter: Adapter) -> None:
        self.host.stop_pm2()  # SIGKILL to the pm2 daemon (so it restarts nothing), then the app

    def leaked(self, adapter: Adapter) -> list[str]:
        return [
            *super().leaked(adapter),
            *self.watch.leaked(env={"PM2_HOME": [str(self.host.pm2_home)]}),
            *files_under(self.host.deploy_path),
        ]
