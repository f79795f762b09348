"""The built-in ``local`` target passes the conformance suite every adapter must pass."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from wave_sdk.adapter import Adapter
from wave_sdk.builtin.local import LocalAdapter
from wave_sdk.models import Release
from wave_sdk.testing import AdapterContract, MakeRelease
from wave_sdk.testing.healthapp import write_app
from wave_sdk.testing.leaks import files_under
from wave_sdk.testing.served import wait_until


class TestLocalContract(AdapterContract):
    adapter = "local"

    @pytest.fixture
    def target_config(self, tmp_path: Path, free_port: int) -> dict[str, Any]:
        return {
            "command": [sys.executable, "server.py"],
            "port": free_port,
            "root": str(tmp_path / "target"),
            "keep": 3,
        }

    @pytest.fixture
    def make_release(self, tmp_path: Path) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            source = write_app(
                tmp_path / "src" / release_id,
                release_id,
                failing=() if healthy else ["/api/health/db"],
            )
            return Release(id=release_id, source=source)

        return make

    def teardown_target(self, adapter: Adapter) -> None:
        assert isinstance(adapter, LocalAdapter)
        adapter.stop()
        shutil.rmtree(adapter.root, ignore_errors=True)

    def kill_behind_back(self, adapter: Adapter) -> None:
        # What a crash does: the process group dies at once, the pid file stays behind.
        assert isinstance(adapter, LocalAdapter)
        pid = int(json.loads(adapter.pid_file.read_text())["pid"])
        os.killpg(pid, signal.SIGKILL)
        # Started by this interpreter: collect it, as init would for a crashed daemon.
        assert wait_until(lambda: _reaped(pid), bool, timeout=self.wait_timeout)

    def leaked(self, adapter: Adapter) -> list[str]:
        assert isinstance(adapter, LocalAdapter)
        return [*super().leaked(adapter), *files_under(adapter.root)]


def _reaped(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:  # not ours, or collected already
        return True
