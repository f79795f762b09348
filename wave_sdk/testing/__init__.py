"""The adapter test kit: the conformance suite every adapter must pass, and its helpers.

Subclass :class:`AdapterContract` in your adapter's tests, set :attr:`~AdapterContract.
adapter`, provide two fixtures and two methods; every test of the contract then runs
against your adapter, through the real pipeline (:class:`~wave_sdk.Wave`) and the real
plugin dispatch::

    import os, shutil, signal
    import pytest

    from wave_sdk import Release
    from wave_sdk.testing import AdapterContract
    from wave_sdk.testing.healthapp import write_app
    from wave_sdk.testing.leaks import files_under

    class TestMyAdapter(AdapterContract):
        adapter = "myadapter"

        @pytest.fixture
        def target_config(self, tmp_path, free_port):
            return {"port": free_port, "root": str(tmp_path / "target")}

        @pytest.fixture
        def make_release(self, tmp_path):
            def make(release_id, *, healthy=True):
                source = write_app(tmp_path / "src" / release_id, release_id,
                                   failing=() if healthy else ["/api/health/db"])
                return Release(id=release_id, source=source)
            return make

        def teardown_target(self, adapter):
            adapter.stop()                      # nothing left running …
            shutil.rmtree(adapter.root)         # … and nothing left on disk

        def kill_behind_back(self, adapter):
            os.killpg(adapter.pid(), signal.SIGKILL)    # a crash, not adapter.stop()

        def leaked(self, adapter):
            return [*super().leaked(adapter), *files_under(adapter.root)]

The suite checks what is served, not what the adapter says: after each deploy and
rollback it asks the URL the adapter reported which release answers there (the health
app answers ``GET /`` with its ``version``). Capabilities the adapter's
:class:`~wave_sdk.AdapterSpec` declares decide which tests run; an undeclared capability's
tests are skipped with that reason (they test a promise the adapter did not make). Load
the fixtures with ``pytest_plugins = ["wave_sdk.testing.plugin"]`` in your ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NoReturn

import pytest

# Before the import below: pytest rewrites only modules it was told about before their
# import, and a contract failure must show the values compared, not a bare AssertionError.
pytest.register_assert_rewrite("wave_sdk.testing.contract")

from wave_sdk.testing.contract import AdapterContract, MakeRelease  # noqa: E402

__all__ = [
    "WAVE",
    "AdapterContract",
    "MakeRelease",
    "free_port",
    "missing",
    "real_required",
    "require_binary",
    "run_wave",
]


def real_required() -> bool:
    """Whether a missing real component must fail the run (``WAVE_REQUIRE_REAL=1``, CI)."""
    return os.environ.get("WAVE_REQUIRE_REAL", "") not in ("", "0")


def missing(component: str, why: str) -> NoReturn:
    """Skip because ``component`` is absent — or fail, under ``WAVE_REQUIRE_REAL=1``."""
    message = f"{component} is not available: {why}"
    if real_required():
        pytest.fail(f"{message} (WAVE_REQUIRE_REAL=1 forbids skipping; install it)", pytrace=False)
    pytest.skip(message)


def require_binary(name: str) -> str:
    """The path of executable ``name``, or skip/fail as :func:`missing` does."""
    path = shutil.which(name)
    if path is None:
        missing(name, "not on PATH")
    return path


WAVE = str(Path(sys.executable).parent / "wave")
"""The ``wave`` console script of the running interpreter's environment."""


def run_wave(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    unset: Iterable[str] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``wave`` command as CI would: no terminal, no input, ``CI=1``.

    ``env`` is added to this process's environment after the names in ``unset`` are
    removed from it. Output is captured as text; the exit code is not checked.
    """
    removed = set(unset)
    environ = {k: v for k, v in os.environ.items() if k not in removed}
    return subprocess.run(
        [WAVE, *args],
        cwd=cwd,
        env={**environ, "CI": "1", **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
