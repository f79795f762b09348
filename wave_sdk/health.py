"""HTTP verification: probe the health endpoints, and decide when a release counts healthy.

Two layers. :func:`probe` makes one round of requests and turns each answer into a
:class:`~wave_sdk.models.HealthResult` (status, JSON expectations, response time).
:func:`verify` repeats *rounds* of the ``wave_health`` hook — which includes the core's
probe, the adapter's native health and any plugin's — until ``consecutive`` rounds in a row
pass, more than ``retries`` rounds fail, or the ``deadline`` passes.

One :class:`httpx.Client` is reused for every request of a process: building a client (and
its TLS context) costs more than a request on loopback.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from wave_sdk.models import HealthResult

if TYPE_CHECKING:
    import httpx

    from wave_sdk.config import BakeConfig, HealthConfig, HealthEndpoint
    from wave_sdk.logs import LogMatch

_clients: dict[bool, httpx.Client] = {}
_client_lock = threading.Lock()


def client(*, tls: bool = True) -> httpx.Client:
    """The process's shared HTTP client for health checks.

    Two of them: loading the CA bundle for certificate checks costs more than a whole
    verification round on loopback, so plain-``http`` URLs get a client that never loads
    it (it never needs it), and ``https`` URLs one that verifies certificates.
    """
    with _client_lock:
        if tls not in _clients:
            import httpx

            from wave_sdk import tls as certificates

            _clients[tls] = httpx.Client(
                follow_redirects=False,
                headers={"user-agent": "wave-sdk"},
                verify=certificates.context() if tls else False,
            )
        return _clients[tls]


def _lookup(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            raise KeyError(dotted)
    return data


MAX_BODY = 1 << 20
"""Bytes of a health answer read at most: a health check needs a status and a small JSON."""

BODY_READ_S = 1.0
"""Longest wait for the next piece of a body once the answer has begun.

httpx's timeouts are per operation, so a body that drips in a byte at a time never trips
them; reads are short instead, and the request's own deadline is checked between them.
"""

_deadline: ContextVar[float | None] = ContextVar("wave_health_deadline", default=None)


@contextmanager
def deadline_at(moment: float) -> Iterator[None]:
    """Bound every request made in the block to end by ``moment`` (``time.monotonic()``).

    :func:`verify` and :func:`bake` use it, so that their deadline bounds the whole step,
    not only the pauses between rounds.
    """
    token = _deadline.set(moment)
    try:
        yield
    finally:
        _deadline.reset(token)


def check_endpoint(base_url: str, endpoint: HealthEndpoint, *, timeout: float) -> HealthResult:
    """One request to one endpoint, judged against its expectations.

    ``timeout`` bounds the whole request — connecting, waiting for the answer and reading
    a body that drips in byte by byte — give or take one read of the body (at most
    :data:`BODY_READ_S`); at most :data:`MAX_BODY` bytes are read. Inside
    :func:`deadline_at` the request also ends by that deadline.
    """
    import httpx

    url = base_url.rstrip("/") + endpoint.url_path
    started = time.perf_counter()
    end = time.monotonic() + timeout
    outer = _deadline.get()
    if outer is not None:
        end = min(end, outer)

    def failed(detail: str) -> HealthResult:
        return HealthResult(source="http", name=endpoint.shown, ok=False, detail=detail)

    try:
        body, status_code = _bounded_get(client(tls=url.startswith("https:")), url, end)
    except _TooSlow:
        return failed(f"no complete answer within {timeout:g}s (or the verification deadline)")
    except _TooBig:
        return failed(f"answer larger than {MAX_BODY} bytes")
    except httpx.HTTPError as exc:
        return failed(f"{type(exc).__name__}: {exc or 'no answer'}")
    response = httpx.Response(status_code, content=body)
    elapsed = (time.perf_counter() - started) * 1000
    result = dict(
        source="http",
        name=endpoint.shown,
        status_code=response.status_code,
        response_time_ms=round(elapsed, 2),
    )
    if response.status_code != endpoint.status:
        return HealthResult(
            ok=False, detail=f"status {response.status_code}, expected {endpoint.status}", **result
        )
    if endpoint.json_fields:
        try:
            body = response.json()
        except ValueError:
            return HealthResult(ok=False, detail="body is not JSON", **result)
        for key, expected in endpoint.json_fields.items():
            try:
                actual = _lookup(body, key)
            except KeyError:
                return HealthResult(ok=False, detail=f"JSON field {key!r} missing", **result)
            if actual != expected:
                return HealthResult(
                    ok=False,
                    detail=f"JSON field {key!r} is {actual!r}, expected {expected!r}",
                    **result,
                )
    return HealthResult(ok=True, detail=f"status {response.status_code}", **result)


class _TooSlow(Exception):
    pass


class _TooBig(Exception):
    pass


def _bounded_get(http: httpx.Client, url: str, end: float) -> tuple[bytes, int]:
    """GET ``url``, every operation given only the time left until ``end``."""
    import httpx

    left = end - time.monotonic()
    if left <= 0:
        raise _TooSlow
    chunks: list[bytes] = []
    size = 0
    try:
        with http.stream("GET", url, timeout=httpx.Timeout(left)) as response:
            # httpcore takes the body's read timeout from the request when the body starts.
            timeouts = response.request.extensions.get("timeout")
            if isinstance(timeouts, dict):
                timeouts["read"] = min(BODY_READ_S, max(0.01, end - time.monotonic()))
            stream = response.iter_raw()
            while True:
                if time.monotonic() >= end:
                    raise _TooSlow
                try:
                    chunk = next(stream)
                except StopIteration:
                    break
                size += len(chunk)
                if size > MAX_BODY:
                    raise _TooBig
                chunks.append(chunk)
            return b"".join(chunks), response.status_code
    except httpx.TimeoutException:
        raise _TooSlow from None


def probe(base_url: str | None, config: HealthConfig) -> list[HealthResult]:
    """One round over every configured endpoint."""
    if not config.endpoints:
        return []
    if not base_url:
        return [
            HealthResult(
                source="http",
                name="base_url",
                ok=False,
                detail="no URL to probe: set health.base_url for the environment",
            )
        ]
    return [check_endpoint(base_url, e, timeout=config.timeout) for e in config.endpoints]


def page_loads(base_url: str, path: str, *, timeout: float) -> HealthResult:
    """The runbook's "Application loads": ``GET path`` answers below 400 within ``timeout``.

    Below 400 rather than exactly 200: a redirect to a login page is a page that loads.
    """
    from wave_sdk.config import HealthEndpoint

    answer = check_endpoint(base_url, HealthEndpoint(path=path), timeout=timeout)
    loads = answer.status_code is not None and answer.status_code < 400
    said = f"status {answer.status_code}" if answer.status_code else answer.detail
    detail = f"GET {path}: {said}"
    return answer.model_copy(update={"source": "page", "ok": loads, "detail": detail})


@dataclass
class Verification:
    """What :func:`verify` observed: every round, and the verdict."""

    ok: bool
    rounds: list[list[HealthResult]] = field(default_factory=list)
    reason: str = ""

    @property
    def last(self) -> list[HealthResult]:
        return self.rounds[-1] if self.rounds else []

    @property
    def response_time_ms(self) -> dict[str, float]:
        """Median response time per HTTP endpoint over the passing rounds."""
        times: dict[str, list[float]] = {}
        for round_ in self.rounds:
            if all(r.ok for r in round_):
                for r in round_:
                    if r.response_time_ms is not None:
                        times.setdefault(r.name, []).append(r.response_time_ms)
        return {name: round(statistics.median(values), 2) for name, values in times.items()}

    @property
    def passing_share(self) -> float:
        """Share of checks that passed in the last round (the decision tree reads it)."""
        last = self.last
        return sum(r.ok for r in last) / len(last) if last else 0.0

    def failures(self) -> list[HealthResult]:
        return [r for r in self.last if not r.ok]


def verify(
    round_: Callable[[], list[HealthResult]],
    config: HealthConfig,
    on_round: Callable[[int, list[HealthResult]], None] | None = None,
) -> Verification:
    """Run health rounds until the release is proven healthy or verification gives up."""
    deadline = time.monotonic() + config.deadline
    outcome = Verification(ok=False)
    streak = failures = 0
    number = 0
    while True:
        number += 1
        with deadline_at(deadline):
            results = round_()
        outcome.rounds.append(results)
        if on_round:
            on_round(number, results)
        if not results:
            outcome.ok, outcome.reason = True, "no health checks configured"
            return outcome
        if all(r.ok for r in results):
            streak += 1
            if streak >= config.consecutive:
                outcome.ok = True
                return outcome
        else:
            streak = 0
            failures += 1
            if failures > config.retries:
                outcome.reason = f"{failures} failed rounds (retries = {config.retries})"
                return outcome
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome.reason = f"deadline of {config.deadline:g}s passed"
            return outcome
        time.sleep(min(config.interval, remaining))


@dataclass
class BakeOutcome:
    """What a bake window measured: every probe, the error rate and the 95th percentile."""

    requests: int = 0
    failures: int = 0
    slow: int = 0
    p95_ms: float | None = None
    breach: str = ""
    log_matches: list[LogMatch] = field(default_factory=list)
    logs_unread: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breach

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def passing_share(self) -> float:
        """Probes that answered well *and* in time: what "working for most users" means."""
        return (self.requests - self.failures - self.slow) / self.requests if self.requests else 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "slow": self.slow,
            "error_rate": round(self.error_rate, 4),
            "p95_ms": self.p95_ms,
            "breach": self.breach,
            "log_matches": [m.to_dict() for m in self.log_matches[:LOG_MATCHES_KEPT]],
            "log_lines_matched": len(self.log_matches),
            "logs_unread": self.logs_unread,
        }


LOG_MATCHES_KEPT = 20
"""Matching log lines a bake record keeps (the count is kept whole)."""

LogScan: TypeAlias = Callable[[], "tuple[list[LogMatch], dict[str, str]]"]
"""Reads the new log lines once the window ends: the matches, and the targets not read."""


def p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile (no interpolation: a real observed value)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def bake(
    round_: Callable[[], list[HealthResult]],
    config: BakeConfig,
    on_round: Callable[[int, BakeOutcome], None] | None = None,
    logs: LogScan | None = None,
) -> BakeOutcome:
    """Keep probing for ``config.duration`` seconds; judge error rate and p95 at the end.

    Judged over the whole window rather than per round: a bake is about the rate of
    failures under real traffic, and one slow or failed request is not a breach by itself.
    With ``logs``, the new log lines are read once the window ends and every line matching
    an error pattern counts as one more request, failed.
    """
    outcome = BakeOutcome()
    times: list[float] = []
    deadline = time.monotonic() + config.duration
    number = 0
    while True:
        number += 1
        results = round_()
        outcome.requests += len(results)
        outcome.failures += sum(not r.ok for r in results)
        if config.max_p95_ms is not None:
            limit = config.max_p95_ms
            outcome.slow += sum(
                r.ok and r.response_time_ms is not None and r.response_time_ms > limit
                for r in results
            )
        times += [r.response_time_ms for r in results if r.response_time_ms is not None]
        if on_round:
            on_round(number, outcome)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(config.interval, remaining))
    outcome.p95_ms = p95(times)
    if logs is not None:
        outcome.log_matches, outcome.logs_unread = logs()
        outcome.requests += len(outcome.log_matches)
        outcome.failures += len(outcome.log_matches)
    if outcome.error_rate > config.max_error_rate:
        outcome.breach = (
            f"error rate {outcome.error_rate:.1%} over {outcome.requests} probes exceeds "
            f"{config.max_error_rate:.1%}"
        )
        if outcome.log_matches:
            first = outcome.log_matches[0]
            outcome.breach += (
                f" ({len(outcome.log_matches)} of them log lines matching an error pattern; "
                f"first {first.pattern!r} on {first.target}: {first.line})"
            )
    elif config.max_p95_ms is not None and (outcome.p95_ms or 0) > config.max_p95_ms:
        outcome.breach = f"p95 {outcome.p95_ms:g} ms exceeds {config.max_p95_ms:g} ms"
    return outcome
