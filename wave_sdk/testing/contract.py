"""The conformance suite: :class:`AdapterContract`, the tests every adapter must pass.

Imported through :mod:`wave_sdk.testing`, which registers this module for pytest's
assertion rewriting first: a failed ``assert`` here shows the values it compared.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from wave_sdk import Wave
from wave_sdk.adapter import Adapter, Capability
from wave_sdk.config import parse_config
from wave_sdk.errors import AdapterError, ReleaseNotFound, VerificationFailed
from wave_sdk.models import HealthResult, Release, StatusReport
from wave_sdk.reporting import ListReporter
from wave_sdk.testing.leaks import MARKER_VARIABLE, ProcessWatch
from wave_sdk.testing.served import Prober, served_release, wait_until

ENVIRONMENT = "contract"
TARGET = "subject"

MakeRelease = Callable[..., Release]


class AdapterContract:
    """The behaviour every adapter promises. Subclass it; see the module docstring.

    The suite judges the adapter by what is served, not by what it reports: after each
    deploy and rollback it asks the URL the adapter reported (``DeployResult.url``,
    ``StatusReport.url``) which release answers; it probes that URL while the live
    release is deployed again; it stops the app behind the adapter's back and expects
    ``status()`` and ``health()`` to notice; and after each test it looks for processes
    and files the test left behind (:meth:`leaked`).
    """

    adapter: ClassVar[str] = ""
    """The adapter's name, as in ``adapter = "…"``."""

    health_endpoints: ClassVar[list[dict[str, Any]] | None] = None
    """HTTP endpoints to verify (default: the runbook's three); ``[]`` for adapter health only."""

    release_path: ClassVar[str] = "/"
    """Path on the reported URL that answers JSON naming the release in ``version``."""

    started_line: ClassVar[str] = "health app {} listening"
    """What the app prints when it starts, ``{}`` the release: the ``logs`` test looks for
    it (the kit's health app prints ``health app <version> listening on port <port>``)."""

    wait_timeout: ClassVar[float] = 15.0
    """Seconds the suite waits for what is served, reported or left running to settle."""

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
        """Remove what the test left on the target: stop its processes, delete its files.

        Called after every test; :meth:`leaked` must then find nothing. Default: nothing.
        """

    def kill_behind_back(self, adapter: Adapter) -> None:
        """Stop the live release's app without the adapter, as a crash or an operator would.

        Kill its process, stop its container, kill its process manager: anything but a
        call to the adapter. The suite then expects nothing to answer at the URL, and
        ``status()`` and ``health()`` to say so. No default: each adapter's app dies its way.
        """
        pytest.fail(
            f"{type(self).__name__} does not implement kill_behind_back(adapter): the suite "
            "needs it to check that status() and health() notice an app that stopped",
            pytrace=False,
        )

    def leaked(self, adapter: Adapter) -> list[str]:
        """What the test left behind after :meth:`teardown_target`, one line each.

        Default: processes started during the test that still run and carry the test's
        marker (``$WAVE_CONTRACT_MARKER``, set while the test runs, so processes the
        adapter starts on this machine inherit it), are given the port of a loopback URL
        the adapter reported (``PORT=…``), or listen on it. Extend it with what only the
        adapter knows: files under the target's root, containers, remote processes.
        """
        ports = self._local_ports()
        return self.watch.leaked(
            env={MARKER_VARIABLE: [self.marker], "PORT": [str(p) for p in ports]}, ports=ports
        )

    def served_release(self, url: str) -> str | None:
        """Which release answers at ``url`` (:attr:`release_path` on it); ``None``: none does."""
        return served_release(url.rstrip("/") + self.release_path)

    # -- the harness -------------------------------------------------------------------

    @pytest.fixture
    def wave(
        self, target_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[Wave]:
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
        # After the target's fixtures (daemons, hosts) started: they are not the test's.
        self.marker = f"wave-contract-{uuid.uuid4().hex[:12]}"
        self.urls: set[str] = set()
        self.watch = ProcessWatch()
        monkeypatch.setenv(MARKER_VARIABLE, self.marker)
        wave = Wave(config, reporter=ListReporter(), deployer="contract-test")
        yield wave
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            self.teardown_target(adapter)
            left = wait_until(
                lambda: self.leaked(adapter), lambda found: not found, timeout=self.wait_timeout
            )
        assert not left, "left behind after teardown_target:\n" + "\n".join(left)

    @pytest.fixture
    def capabilities(self, wave: Wave) -> frozenset[str]:
        return frozenset(wave.plugins.adapter_spec(self.adapter).capabilities)

    def _need(self, capabilities: frozenset[str], capability: Capability) -> None:
        if capability not in capabilities:
            pytest.skip(f"adapter {self.adapter!r} does not declare {capability.value!r}")

    def _status(self, wave: Wave) -> StatusReport:
        [report] = wave.status(ENVIRONMENT)
        return report

    def _brief(self, wave: Wave) -> StatusReport:
        """The status the pipeline reads for itself (``wave_status`` with ``brief``)."""
        from wave_sdk.run import boundary

        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            return boundary.status(wave.plugins, adapter, brief=True)

    def _deploy(self, wave: Wave, release: Release) -> str | None:
        """Deploy ``release`` and return the URL the adapter reported for it."""
        report = wave.deploy(ENVIRONMENT, release=release)
        assert report.outcome == "succeeded"
        [result] = report.deployed
        assert result.release == release.id
        return result.url

    def _url(self, wave: Wave, capabilities: frozenset[str], deployed: str | None) -> str | None:
        """Where the live release answers: ``status().url`` if reported, else the deploy's."""
        if Capability.STATUS in capabilities:
            return self._status(wave).url or deployed
        return deployed

    def _served(self, url: str | None, release: str | None) -> str | None:
        """The release answering at ``url`` once it is ``release``, or when the wait ends."""
        assert url is not None, (
            f"adapter {self.adapter!r} reported no URL (DeployResult.url, StatusReport.url): "
            "the suite checks which release answers there"
        )
        self.urls.add(url)
        return wait_until(
            lambda: self.served_release(url),
            lambda answer: answer == release,
            timeout=self.wait_timeout,
        )

    def _local_ports(self) -> set[int]:
        """The ports of the reported URLs that are on this machine."""
        ports = set()
        for url in self.urls:
            parsed = httpx.URL(url)
            if parsed.port is not None and _loopback(parsed.host):
                ports.add(parsed.port)
        return ports

    # -- the contract ------------------------------------------------------------------

    def test_spec_is_registered_and_validates_config(
        self, wave: Wave, target_config: dict[str, Any]
    ) -> None:
        """The entry point announces the adapter, and its model accepts the target's keys."""
        spec = wave.plugins.adapter_spec(self.adapter)
        assert spec.name == self.adapter
        assert issubclass(spec.load_adapter(), Adapter)
        assert set(spec.capabilities) <= {c.value for c in Capability}
        spec.load_config().model_validate(target_config)

    def test_deploy_makes_release_live(self, wave: Wave, make_release: MakeRelease) -> None:
        """After each of two deploys, the reported URL serves the release deployed."""
        url = self._deploy(wave, make_release("r1"))
        assert self._served(url, "r1") == "r1"
        url = self._deploy(wave, make_release("r2"))
        assert self._served(url, "r2") == "r2"
        current = wave.store.current(ENVIRONMENT)
        assert current is not None and current.release == "r2"

    def test_status_reports_current_release(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """``status()`` names the live release, says ``running``, and its URL serves it.

        The brief status the pipeline reads (:meth:`Adapter.brief_status`) says the same
        of the release, the state, the URL and the releases kept.
        """
        self._need(capabilities, Capability.STATUS)
        self._deploy(wave, make_release("r1"))
        status = self._status(wave)
        assert status.current == "r1"
        assert status.adapter == self.adapter
        assert status.state == "running"
        assert self._served(status.url, "r1") == "r1"
        brief = self._brief(wave)
        fields = ("target", "adapter", "current", "state", "url", "releases")
        assert brief.model_dump(include=set(fields)) == status.model_dump(include=set(fields))

    def test_health_passes_after_deploy(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """Every health result passes after a deploy, the adapter's own among them."""
        wave.deploy(ENVIRONMENT, release=make_release("r1"))
        results = wave.health(ENVIRONMENT)[TARGET]
        assert results, "no health results at all"
        assert all(r.ok for r in results), results
        if Capability.HEALTH in capabilities:
            assert any(r.source == self.adapter for r in results), "adapter reported no health"

    def test_releases_lists_kept_releases(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """``releases()`` lists the deployed releases, newest first."""
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
        """A rollback serves the previous release again, and health passes."""
        self._need(capabilities, Capability.ROLLBACK)
        self._deploy(wave, make_release("r1"))
        url = self._deploy(wave, make_release("r2"))
        assert self._served(url, "r2") == "r2"
        [result] = wave.rollback(ENVIRONMENT)
        assert (result.from_release, result.to_release) == ("r2", "r1")
        assert self._served(self._url(wave, capabilities, url), "r1") == "r1"
        if Capability.STATUS in capabilities:
            assert self._status(wave).current == "r1"
        assert all(r.ok for r in wave.health(ENVIRONMENT)[TARGET])

    def test_logs_read_the_live_release_since_a_moment(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """``logs(since)`` returns the live release's lines, bounded, none of an earlier one.

        The app prints :attr:`started_line` when it starts.
        """
        self._need(capabilities, Capability.LOGS)
        first = datetime.now(UTC)
        lines = self._logs_after_deploy(wave, make_release("r1"), first)
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            assert len(adapter.logs(first, limit=1)) == 1, "limit bounds the lines returned"
        time.sleep(1.1)  # a platform may stamp lines to the second: "since" is after r1's
        lines = self._logs_after_deploy(wave, make_release("r2"), datetime.now(UTC))
        assert not any(self.started_line.format("r1") in x for x in lines), "r1's lines came back"

    def _logs_after_deploy(self, wave: Wave, release: Release, since: datetime) -> list[str]:
        """Deploy ``release``; its lines since ``since`` once its start line is among them."""
        url = self._deploy(wave, release)
        assert self._served(url, release.id) == release.id
        started = self.started_line.format(release.id)
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            lines = wait_until(
                lambda: adapter.logs(since),
                lambda found: any(started in line for line in found),
                timeout=self.wait_timeout,
            )
        assert any(started in line for line in lines), lines
        return lines

    def test_rollback_to_named_release(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """A rollback to a named release serves that release."""
        self._need(capabilities, Capability.ROLLBACK_TO)
        for rid in ("r1", "r2", "r3"):
            url = self._deploy(wave, make_release(rid))
        assert self._served(url, "r3") == "r3"
        [result] = wave.rollback(ENVIRONMENT, to="r1")
        assert result.to_release == "r1"
        assert self._served(self._url(wave, capabilities, url), "r1") == "r1"
        if Capability.STATUS in capabilities:
            assert self._status(wave).current == "r1"
        assert wave.store.current(ENVIRONMENT).release == "r1"  # type: ignore[union-attr]

    def test_rollback_to_unknown_release_is_an_error(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """``ReleaseNotFound`` for a release never deployed; the live one still serves."""
        self._need(capabilities, Capability.ROLLBACK_TO)
        url = self._deploy(wave, make_release("r1"))
        with pytest.raises(ReleaseNotFound) as info:
            wave.rollback(ENVIRONMENT, to="never-deployed")
        assert "never-deployed" in str(info.value)
        assert self._served(self._url(wave, capabilities, url), "r1") == "r1"
        if Capability.STATUS in capabilities:
            assert self._status(wave).current == "r1"

    def test_redeploy_keeps_the_live_release_answering(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """Deploying the live release again: every probe meanwhile answers with it.

        And ``status()`` and ``releases()`` say afterwards what they said before.
        """
        release = make_release("r1")
        url = self._deploy(wave, release)
        assert self._served(url, "r1") == "r1"
        assert url is not None
        before = self._observed(wave, capabilities)
        with Prober(lambda: self.served_release(url), timeout=self.wait_timeout) as prober:
            assert prober.wait_for(2) == 2, "the prober got no answer before the redeploy"
            again = self._deploy(wave, release)
            assert prober.wait_for(2) == 2, "the prober got no answer after the redeploy"
        assert again == url
        assert Counter(prober.answers) == {"r1": len(prober.answers)}, "answers while redeploying"
        assert self._observed(wave, capabilities) == before, "a redeploy of the live release"
        assert wave.store.current(ENVIRONMENT).release == "r1"  # type: ignore[union-attr]

    def _observed(self, wave: Wave, capabilities: frozenset[str]) -> dict[str, Any]:
        """What status and the release list say, without details that vary by the second."""
        seen: dict[str, Any] = {}
        if Capability.STATUS in capabilities:
            seen["status"] = self._status(wave).model_dump(
                include={"current", "state", "url", "releases"}
            )
        if Capability.RELEASES in capabilities:
            with wave.open_target(TARGET, ENVIRONMENT) as adapter:
                seen["releases"] = adapter.releases()
        return seen

    def test_broken_release_is_rolled_back(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """A release failing verification is rolled back: the previous one serves again."""
        self._need(capabilities, Capability.ROLLBACK)
        url = self._deploy(wave, make_release("good"))
        with pytest.raises((VerificationFailed, AdapterError)) as info:
            wave.deploy(ENVIRONMENT, release=make_release("bad", healthy=False))
        assert "rolled back" in str(info.value)
        assert "\n" not in str(info.value), "errors are one line"
        assert self._served(self._url(wave, capabilities, url), "good") == "good"
        assert wave.store.current(ENVIRONMENT).release == "good"  # type: ignore[union-attr]
        if Capability.STATUS in capabilities:
            assert self._status(wave).current == "good"
        last = wave.history(ENVIRONMENT)[-1]
        assert (last.outcome, last.rolled_back_to) == ("rolled_back", "good")

    def test_stopped_app_is_not_reported_running(
        self, wave: Wave, make_release: MakeRelease, capabilities: frozenset[str]
    ) -> None:
        """An app stopped behind the adapter's back is not reported ``running``.

        After :meth:`kill_behind_back` nothing answers at the URL; then ``status()`` (and
        the brief status) must stop saying ``running`` and health must fail (the adapter's
        own, if it has one).
        """
        self._need(capabilities, Capability.STATUS)
        url = self._deploy(wave, make_release("r1"))
        assert self._served(url, "r1") == "r1"
        with wave.open_target(TARGET, ENVIRONMENT) as adapter:
            self.kill_behind_back(adapter)
        # Nothing answers any more, or kill_behind_back did not stop it and the rest of
        # the test would prove nothing.
        assert self._served(url, None) is None, "still served after kill_behind_back"
        state = wait_until(
            lambda: self._status(wave).state,
            lambda seen: seen != "running",
            timeout=self.wait_timeout,
        )
        assert state != "running", "status() of an app that was stopped"
        assert self._brief(wave).state != "running", "brief_status() of an app that was stopped"
        results = wait_until(
            lambda: wave.health(ENVIRONMENT)[TARGET],
            lambda seen: self._unhealthy(seen, capabilities),
            timeout=self.wait_timeout,
        )
        assert not all(r.ok for r in results), results
        if Capability.HEALTH in capabilities:
            own = [r for r in results if r.source == self.adapter]
            assert not all(r.ok for r in own), f"the adapter's own health: {own}"

    def _unhealthy(self, results: list[HealthResult], capabilities: frozenset[str]) -> bool:
        """Some result fails — and one of the adapter's own, when it declares health."""
        own = [r for r in results if r.source == self.adapter]
        if Capability.HEALTH in capabilities and all(r.ok for r in own):
            return False
        return not all(r.ok for r in results)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
