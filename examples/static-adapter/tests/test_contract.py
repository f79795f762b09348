"""The example adapter passes the conformance suite (docs/writing-an-adapter.md, step 5)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wave_example_static.adapter import StaticAdapter

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease
from wave_sdk.testing.leaks import files_under

pytest_plugins = ["wave_sdk.testing.plugin"]


@pytest.fixture
def web_server(tmp_path: Path, free_port: int) -> Iterator[str]:
    """A real web server on ``<docroot>/current``, as nginx would be; its URL."""
    current = tmp_path / "www" / "current"  # a path, looked up on every request
    argv = ["-m", "http.server", "--bind", "127.0.0.1", "--directory", str(current)]
    server = subprocess.Popen(
        [sys.executable, *argv, str(free_port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not _listening(free_port):
        assert server.poll() is None and time.monotonic() < deadline, "no web server"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{free_port}"
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class TestStaticContract(AdapterContract):
    adapter = "static"
    health_endpoints = [{"path": "/index.html"}]  # asked of the web server
    release_path = "/version.json"  # where a site says which release it is

    @pytest.fixture
    def target_config(self, tmp_path: Path, web_server: str) -> dict[str, Any]:
        return {"docroot": str(tmp_path / "www"), "url": web_server, "keep": 3}

    @pytest.fixture
    def make_release(self, tmp_path: Path) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            site = tmp_path / "sites" / release_id
            site.mkdir(parents=True, exist_ok=True)
            name = "index.html" if healthy else "oops.html"
            (site / name).write_text(f"<h1>{release_id}</h1>\n")
            (site / "version.json").write_text(json.dumps({"version": release_id}))
            return Release(id=release_id, source=site)

        return make

    def teardown_target(self, adapter: Adapter) -> None:
        assert isinstance(adapter, StaticAdapter)
        shutil.rmtree(adapter.config.docroot, ignore_errors=True)

    def kill_behind_back(self, adapter: Adapter) -> None:
        # A clean-up script deletes the live release; `current` still names it.
        assert isinstance(adapter, StaticAdapter)
        shutil.rmtree(Path(adapter.config.docroot, "current").resolve())

    def leaked(self, adapter: Adapter) -> list[str]:
        assert isinstance(adapter, StaticAdapter)
        return [*super().leaked(adapter), *files_under(adapter.config.docroot)]
