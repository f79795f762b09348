"""Fixtures of the SSH adapter's tests: real sshd hosts, real pm2, the test app.

Without sshd (Debian's openssh-server), pm2 (npm) or node the tests skip with the reason —
and fail under ``WAVE_REQUIRE_REAL=1``, as CI runs them. ``scripts/install-test-deps``
installs all three; the ``pm2`` fixture also installs pm2 itself when npm is here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sshd_farm as kit

from wave_sdk import Release
from wave_sdk.testing import missing, require_binary


@pytest.fixture(scope="session")
def pm2() -> str:
    """The pm2 program the hosts run (installed from npm into a cache if need be)."""
    require_binary("node")
    found = kit.find_pm2() or kit.install_pm2()
    if found is None:
        missing("pm2", f"not on PATH nor in {kit.PM2_PREFIX}, and npm could not install it")
    return found


@pytest.fixture(scope="session")
def farm(pm2: str) -> Iterator[kit.Farm]:
    """Throwaway keys and login user; hosts are started per test by ``start_hosts``."""
    if kit.find_sshd() is None:
        missing("sshd", "install Debian's openssh-server (scripts/install-test-deps)")
    require_binary("ssh-keygen")
    require_binary("curl")
    if os.geteuid() != 0 and Path.home() == Path("/"):
        missing("sshd", "the current user has no home directory to log in to")
    farm = kit.Farm(Path("/tmp"), pm2=pm2)
    try:
        yield farm
    finally:
        farm.stop()


@pytest.fixture
def start_hosts(farm: kit.Farm) -> Iterator[kit.StartHosts]:
    """``start_hosts(n, known=True)``: n sshd hosts, stopped (sshd, pm2, apps) after the test."""
    mine: list[kit.SSHHost] = []

    def start(count: int, **kwargs: Any) -> list[kit.SSHHost]:
        kwargs.setdefault("first", len(mine) + 1)
        hosts = farm.start(count, **kwargs)
        mine.extend(hosts)
        return hosts

    yield start
    for host in mine:
        host.stop_pm2()
        host.kill_sshd()


@pytest.fixture
def make_app(tmp_path: Path) -> kit.MakeApp:
    """``make_app("v1", failing=(), requires=())``: a release of the test app."""

    def make(version: str, *, failing: Any = (), requires: Any = (), **release: Any) -> Release:
        source = kit.write_app(
            tmp_path / "src" / version, version, failing=failing, requires=requires
        )
        return Release(id=version, source=source, **release)

    return make


@pytest.fixture
def project(tmp_path: Path) -> kit.Project:
    return kit.Project(tmp_path / "project")
