"""The adapter test kit: the conformance suite every adapter must pass, and its helpers.

Subclass :class:`AdapterContract` in your adapter's tests, set :attr:`~AdapterContract.
adapter` and provide two fixtures; every test of the contract then runs against your
adapter, through the real pipeline (:class:`~wave_sdk.Wave`) and the real plugin dispatch::

    import pytest

    from wave_sdk import Release
    from wave_sdk.testing import AdapterContract
    from wave_sdk.testing.healthapp import write_app

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
            adapter.stop()      # whatever leaves nothing running behind

Capabilities the adapter's :class:`~wave_sdk.AdapterSpec` declares decide which tests run;
an undeclared capability's tests are skipped with that reason (they test a promise the
adapter did not make). Load the fixtures with ``pytest_plugins = ["wave_sdk.testing.plugin"]``
in your ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import pytest

from wave_sdk.adapter import Adapter, Capability
from wave_sdk.config import parse_config
from wave_sdk.errors import AdapterError, ReleaseNotFound, VerificationFailed
from wave_sdk.models import Release
from wave_sdk.reporting import ListReporter
from wave_sdk.wave import Wave

ENVIRONMENT = "contract"
TARGET = "subject"


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


MakeRelease = Callable[..., Release]


class AdapterContract:
    """The behaviour every adapter promises. Subclass it; see the module docstring."""

    adapter: ClassVar[str] = ""
    """The adapter's name, as in ``adapter = "…"``."""

    health_endpoints: ClassVar[list[dict[str, Any]] | None] = None
    """HTTP endpoints to verify (default: the runbook's three); ``[]`` for adapter health only."""

    # -- what the author provides ------------------------------------------------------

    @pytest.fixture
    def target_config(self) -> dict[str, Any]:
        """The target's own keys (without ``adapter``)."""
        raise NotImplementedError("provide a target_config fixture")

    @pytest.fixture
    def make_release(self) -> MakeRelease:
        """A factory ``make(release_id, *, healthy=True) -> Release``."""
        raise NotImplementedError("provide a make_release fixture")

    def teardown_target(self, adapter: Adapter) -> None:
        """Stop whatever the tests left running on the target (default: nothing)."""

    # -- the harness -------------------------------------------------------------------

    @pytest.fixture
    def wave(self, target_config: dict[str, Any], tmp_path: Path) -> Iterator[Wave]:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        health: dict[str, Any] = {
            "interval": 0.1,
            "consecutive": 2,
            "retries": 3,
            "deadline": 30,
            "timeout": 2,
        }
        if self.health_endpoints is not None:
            health["endpoints"] = self.health_endpoints
        config = parse_config(
            {
                "project": {"name": "contract"},
                "environments": {ENVIRONMENT: {"target": TARGET}},
                "targets": {TARGET: {"adapter": self.adapter, **target_config}},
                "health": health,
                # The contract tests the adapter, not approvals: nothing needs approving here.
                "approvals": {action: {ENVIRONMENT: "L5"} for action in ("deploy", "rollback")},
            },
            file=project / "wave.toml",
        )
        wave = Wave(config, reporter=ListReporter(), deployer="contract-test")
        yield wave
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            self.teardown_target(adapter)

    @pytest.fixture
    def capabilities(self, wave: Wave) -> frozenset[str]:
        return frozenset(wave.plugins.adapter_spec(self.adapter).capabilities)

    def _need(self, capabilities: frozenset[str], capability: Capability) -> None:
        if capability not in capabilities:
            pytest.skip(f"adapter {self.adapter!r} does not declare {capability.value!r}")

    def _status(self, wave: Wave) -> Any:
        [report] = wave.status(ENVIRONMENT)
        return report

    # -- the contract ------------------------------------------------------------------

    def test_spec_is_registered_and_validates_config(
        self, wave: Wave, target_config: dict[str, Any]
    ) -> None:
        spec = wave.plugins.adapter_spec(self.adapter)
        assert spec.name == self.adapter
        assert issubclass(spec.load_adapter(), Adapter)
        assert set(spec.capabilities) <= {c.value for c in Capability}
        spec.load_config().model_validate(target_config)

    def test_deploy_makes_release_live(self, wave: Wave, make_release: MakeRelease) -> None:
        report = wave.deploy(ENVIRONMENT, release=make_release("r1"))
        assert report.outcome == "succeeded"
        assert [d.release for d in report.deployed] == ["r1"]
        current = wave.store.current(ENVIRONMENT)
        assert current is not None and current.release == "r1"

    def test_status_reports_current_release(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        self._need(capabilities, Capability.STATUS)
        wave.deploy(ENVIRONMENT, release=make_release("r1"))
        status = self._status(wave)
        assert status.current == "r1"
        assert status.adapter == self.adapter
        assert status.state == "running"

    def test_health_passes_after_deploy(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        wave.deploy(ENVIRONMENT, release=make_release("r1"))
        results = wave.health(ENVIRONMENT)[TARGET]
        assert results, "no health results at all"
        assert all(r.ok for r in results), results
        if Capability.HEALTH in capabilities:
            assert any(r.source == self.adapter for r in results), "adapter reported no health"

    def test_releases_lists_kept_releases(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        self._need(capabilities, Capability.RELEASES)
        for rid in ("r1", "r2"):
            wave.deploy(ENVIRONMENT, release=make_release(rid))
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            kept = adapter.releases()
        assert {"r1", "r2"} <= set(kept)
        assert kept.index("r2") < kept.index("r1"), "releases must be newest first"

    def test_rollback_to_previous(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        self._need(capabilities, Capability.ROLLBACK)
        for rid in ("r1", "r2"):
            wave.deploy(ENVIRONMENT, release=make_release(rid))
        [result] = wave.rollback(ENVIRONMENT)
        assert (result.from_release, result.to_release) == ("r2", "r1")
        assert self._status(wave).current == "r1"
        assert all(r.ok for r in wave.health(ENVIRONMENT)[TARGET])

    def test_rollback_to_named_release(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        self._need(capabilities, Capability.ROLLBACK_TO)
        for rid in ("r1", "r2", "r3"):
            wave.deploy(ENVIRONMENT, release=make_release(rid))
        [result] = wave.rollback(ENVIRONMENT, to="r1")
        assert result.to_release == "r1"
        assert self._status(wave).current == "r1"
        assert wave.store.current(ENVIRONMENT).release == "r1"  # type: ignore[union-attr]

    def test_rollback_to_unknown_release_is_an_error(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        self._need(capabilities, Capability.ROLLBACK_TO)
        wave.deploy(ENVIRONMENT, release=make_release("r1"))
        with pytest.raises(ReleaseNotFound) as info:
            wave.rollback(ENVIRONMENT, to="never-deployed")
        assert "never-deployed" in str(info.value)
        assert self._status(wave).current == "r1"

    def test_redeploy_is_idempotent(self, wave: Wave, make_release: MakeRelease) -> None:
        release = make_release("r1")
        wave.deploy(ENVIRONMENT, release=release)
        again = wave.deploy(ENVIRONMENT, release=release)
        assert again.outcome == "succeeded"
        assert wave.store.current(ENVIRONMENT).release == "r1"  # type: ignore[union-attr]
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            assert adapter.releases().count("r1") <= 1

    def test_broken_release_is_rolled_back(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        self._need(capabilities, Capability.ROLLBACK)
        wave.deploy(ENVIRONMENT, release=make_release("good"))
        with pytest.raises((VerificationFailed, AdapterError)) as info:
            wave.deploy(ENVIRONMENT, release=make_release("bad", healthy=False))
        assert "rolled back" in str(info.value)
        assert "\n" not in str(info.value), "errors are one line"
        assert wave.store.current(ENVIRONMENT).release == "good"  # type: ignore[union-attr]
        if Capability.STATUS in capabilities:
            assert self._status(wave).current == "good"
        last = wave.history(ENVIRONMENT)[-1]
        assert (last.outcome, last.rolled_back_to) == ("rolled_back", "good")
