"""The pipeline's verify step: is the release that was just deployed actually working.

Three layers, in the runbook's order, each only if the one before passed:

1. **Health**, per target: rounds of the ``wave_health`` hook — the target's adapter (its
   platform-native view), the core's HTTP endpoint checks and any plugin's — until enough
   consecutive rounds pass or verification gives up (:func:`wave_sdk.health.verify`).
2. **Smoke test**: the runbook's "Application loads" — ``[health] page`` (``/``) requested
   once per target that has a URL (:func:`wave_sdk.health.page_loads`) — then the
   environment's ``smoke`` command, told ``WAVE_URL``, ``WAVE_RELEASE`` and
   ``WAVE_ENVIRONMENT``.
3. **Bake window**: keep probing every target for ``bake.duration`` seconds and judge the
   error rate and the 95th-percentile response time (:func:`wave_sdk.health.bake`); the
   log lines written since the deploy began, on targets whose adapter can read them,
   are scanned for ``bake.log_patterns`` and each match counts as a failed request
   (:mod:`wave_sdk.logs`).

:meth:`Verifier.run` returns a :class:`Outcome`: the figures, and on a failure the reason
and the share of checks that passed — the decision tree's first question ("working for
most users?"). What to do about a failure is the run's business. The same rounds (and the
smoke test, without the bake window) verify the release a rollback returned to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wave_sdk.reporting import Event
from wave_sdk.signals import Verification

if TYPE_CHECKING:
    from wave_sdk.adapter import Adapter
    from wave_sdk.config import WaveConfig
    from wave_sdk.health import BakeOutcome, LogScan
    from wave_sdk.health import Verification as HealthVerification
    from wave_sdk.models import CheckResult, HealthResult
    from wave_sdk.plugins import PluginManager
    from wave_sdk.reporting import Reporter


def health_round(plugins: PluginManager, adapter: Adapter, url: str | None) -> list[HealthResult]:
    """One round of every health contributor for ``adapter``'s target.

    The adapter's own ``wave_health`` and every ordinary plugin's (the core's HTTP checks
    among them), never another target's adapter.
    """
    caller = plugins.operation("wave_health", adapter)
    try:
        return [r for c in caller(target=adapter.context, url=url) for r in (c or ())]
    except Exception as exc:  # a health check that crashes is not a healthy one
        from wave_sdk.models import HealthResult

        return [
            HealthResult(
                source="wave_health",
                name=adapter.context.target,
                ok=False,
                detail=f"a health contributor failed: {type(exc).__name__}: {exc}",
            )
        ]


@dataclass
class Outcome:
    """What one verification found.

    ``reason`` is ``None`` when everything passed; otherwise it says what failed and
    ``passing_share`` is the share (0…1) of checks that passed.
    """

    health: dict[str, list[HealthResult]] = field(default_factory=dict)
    response_time_ms: dict[str, float] = field(default_factory=dict)
    smoke: str = "skipped"
    page: dict[str, str] = field(default_factory=dict)
    bake: dict[str, Any] | None = None
    reason: str | None = None
    passing_share: float | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def _fail(self, reason: str, share: float) -> Outcome:
        self.reason, self.passing_share = reason, share
        return self

    def signal(self) -> Verification:
        """The runbook signal's ``verification`` object."""
        checked = [r for results in self.health.values() for r in results]
        return Verification.of(
            healthy=bool(checked) and all(r.ok for r in checked) and self.reason is None,
            smoke=self.smoke,
            response_times_ms=self.response_time_ms,
        )

    def to_dict(self) -> dict[str, Any]:
        """The figures a history record keeps."""
        return {
            "ok": self.ok,
            "reason": self.reason,
            "response_time_ms": self.response_time_ms,
            "smoke_tests": self.smoke,
            "application_loads": self.page,
            "bake": self.bake,
            "passing_share": self.passing_share,
        }


class Verifier:
    """Verification of one environment's targets after a deploy."""

    def __init__(
        self,
        *,
        config: WaveConfig,
        plugins: PluginManager,
        reporter: Reporter,
        environment: str,
        step: str = "verify",
    ) -> None:
        self.step = step
        self.config = config
        self.plugins = plugins
        self.reporter = reporter
        self.environment = environment
        self.env = config.environment(environment)
        self.health = config.health_for(environment)
        self.started = datetime.now(UTC)
        """Since when the log scan reads the lines (:meth:`run`'s ``since``)."""

    def _emit(self, kind: str, message: str, **data: Any) -> None:
        self.reporter.emit(Event(kind, self.step, message, data))

    def run(
        self,
        adapters: dict[str, Adapter],
        release_id: str,
        urls: dict[str, str | None],
        *,
        bake: bool = True,
        since: datetime | None = None,
    ) -> Outcome:
        """Health of every target, then the smoke test, then (with ``bake``) the bake window.

        ``urls`` maps each target to where its release answers (the adapter's report);
        ``[health] base_url`` overrides it. ``since`` is when the release began to go out
        (the deploy's start): the bake window scans the log lines written since (default:
        now).
        """
        self._emit("step", f"verifying {release_id} on {', '.join(adapters)}")
        self.started = since or datetime.now(UTC)
        outcome = Outcome()
        passing = total = 0
        for name, adapter in adapters.items():
            rounds = self._health_rounds(adapter, urls.get(name))
            outcome.health[name] = rounds.last
            passing += sum(r.ok for r in rounds.last)
            total += len(rounds.last)
            prefix = name if len(adapters) > 1 else ""
            outcome.response_time_ms.update(
                {f"{prefix}{k}": v for k, v in rounds.response_time_ms.items()}
            )
            if not rounds.ok:
                bad = "; ".join(f"{r.source} {r.name}: {r.detail}" for r in rounds.failures())
                self._emit("fail", f"verification of {name} failed: {bad or rounds.reason}")
                return outcome._fail(
                    f"verification of {name} failed: {bad or rounds.reason}",
                    rounds.passing_share,
                )
        for name in adapters:
            page = self._page(urls.get(name))
            if page is None:
                continue
            outcome.page[name] = page.detail
            self._emit("ok" if page.ok else "fail", f"{name}: application loads? {page.detail}")
            if not page.ok:
                # Like the smoke test, the page counts as one more check.
                reason = f"application does not load on {name}: {page.detail}"
                return outcome._fail(reason, passing / (total + 1))
        if self.env.smoke is not None:
            result = self._smoke(release_id, urls)
            outcome.smoke = "passed" if result.ok else "failed"
            if not result.ok:
                tail = " | ".join(result.output_tail.splitlines()[-3:])
                reason = f"smoke test failed: {result.detail}" + (f": {tail}" if tail else "")
                self._emit("fail", reason)
                # The smoke test counts as one more check.
                return outcome._fail(reason, passing / (total + 1))
            self._emit("ok", f"smoke test passed ({result.duration_s:.1f}s)")
        if bake and self.env.bake is not None:
            baked = self._bake(adapters, urls)
            outcome.bake = baked.to_dict()
            if not baked.ok:
                reason = f"bake window breached: {baked.breach}"
                self._emit("fail", reason)
                return outcome._fail(reason, baked.passing_share)
        return outcome

    def _health_rounds(self, adapter: Adapter, deployed_url: str | None) -> HealthVerification:
        from wave_sdk.health import verify

        url = self.health.base_url or deployed_url
        target = adapter.context.target

        def on_round(number: int, results: list[HealthResult]) -> None:
            passed = sum(r.ok for r in results)
            self._emit(
                "ok" if passed == len(results) else "info",
                f"{target} round {number}: {passed}/{len(results)} checks pass",
                results=[r.model_dump(mode="json") for r in results],
            )

        return verify(lambda: health_round(self.plugins, adapter, url), self.health, on_round)

    def _page(self, deployed_url: str | None) -> HealthResult | None:
        """``[health] page`` on the target's URL; ``None`` when off or there is no URL."""
        url = self.health.base_url or deployed_url
        if not self.health.page or not url:
            return None
        from wave_sdk.health import page_loads

        return page_loads(url, self.health.page, timeout=self.health.timeout)

    def _smoke(self, release_id: str, urls: dict[str, str | None]) -> CheckResult:
        from wave_sdk.checks import command_check
        from wave_sdk.config import CheckConfig

        assert self.env.smoke is not None
        url = self.health.base_url or next((u for u in urls.values() if u), "")
        self._emit("info", "running the smoke test")
        check = CheckConfig(command=self.env.smoke, timeout=self.env.smoke_timeout)
        spec = command_check(
            "smoke",
            check,
            self.config.root,
            env={
                "WAVE_ENVIRONMENT": self.environment,
                "WAVE_RELEASE": release_id,
                "WAVE_URL": url,
            },
        )
        return spec.run()

    def _bake(self, adapters: dict[str, Adapter], urls: dict[str, str | None]) -> BakeOutcome:
        from wave_sdk.health import bake

        window = self.env.bake
        assert window is not None
        probes = [
            (adapter, self.health.base_url or urls.get(name)) for name, adapter in adapters.items()
        ]
        self._emit("info", f"baking for {window.duration:g}s")
        outcome = bake(
            lambda: [r for a, url in probes for r in health_round(self.plugins, a, url)],
            window,
            logs=self._log_scan(adapters, window.log_patterns),
        )
        p95 = "-" if outcome.p95_ms is None else f"{outcome.p95_ms:g}"
        self._emit(
            "ok" if outcome.ok else "fail",
            f"bake: {outcome.requests} probes, error rate {outcome.error_rate:.1%}, p95 {p95} ms",
            bake=outcome.to_dict(),
        )
        for match in outcome.log_matches[:5]:
            self._emit("info", f"{match.target} log matched {match.pattern!r}: {match.line}")
        for name, why in outcome.logs_unread.items():
            self._emit("info", f"{name}: log not scanned: {why}")
        return outcome

    def _log_scan(self, adapters: dict[str, Adapter], patterns: list[str]) -> LogScan | None:
        """Reading the new lines of every target whose adapter declares ``logs``, if any."""
        from wave_sdk.adapter import Capability

        readable = {
            name: adapter
            for name, adapter in adapters.items()
            if Capability.LOGS in self._capabilities(name)
        }
        if not patterns or not readable:
            return None
        from functools import partial

        from wave_sdk.logs import scan_targets

        return partial(scan_targets, readable, self.started, patterns)

    def _capabilities(self, target: str) -> frozenset[str]:
        entry = self.config.targets[target]
        return frozenset(self.plugins.adapter_spec(entry.adapter).capabilities)
