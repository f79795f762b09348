"""Per-host bookkeeping of one operation, and the one-line report made from it.

A deploy walks every host through ``untouched → staged → switched → live``; a failure
leaves a host ``failed`` (before its switch: still on its previous release) and sends the
hosts already switched back (``rolled_back``, or ``removed`` where there was no earlier
release, or ``rollback_failed``: a human is needed). The report names every host's end
state, because "the deploy failed" is not something an operator can act on; "web-4's health
check answered 503; web-1…web-3 rolled back to v1; web-5 not touched" is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import AdapterError, WaveError

if TYPE_CHECKING:
    from wave_sdk_ssh.config import Host
    from wave_sdk_ssh.layout import SSHLayout
    from wave_sdk_ssh.process import AppState, HealthProbe
    from wave_sdk_ssh.transport import SSHTransport

NOT_SWITCHED = frozenset({"untouched", "staged", "failed", "unchanged"})
"""States in which a deploy has not moved the host's ``current``."""


@dataclass
class HostRun:
    """One host during one operation."""

    host: Host
    transport: SSHTransport
    layout: SSHLayout
    state: str = "untouched"
    previous: str | None = None
    """What ``current`` pointed at before the deploy (``None``: nothing, or not read yet)."""
    error: str | None = None
    rollback_error: str | None = None
    seconds: float = 0.0
    health: HealthProbe | None = None
    app: AppState | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (stage, switch, reload, verify …), for reports and the bench."""

    @property
    def name(self) -> str:
        return self.host.name

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.monotonic() - started

    def summary(self, release: str) -> str:
        """What became of this host, in a few words."""
        before = self.previous or "no release"
        if self.state == "untouched":
            return "not touched"
        if self.state == "staged":
            return f"{release} staged but not switched: still on {before}"
        if self.state == "unchanged":
            return f"already on {release}"
        if self.state == "live":
            return f"on {release}"
        if self.state == "failed":
            if not self.transport.connects:
                return f"{self.error}; not changed"
            return f"{self.error}; not switched: still on {before}"
        cause = f"{self.error}; " if self.error else ""
        if self.state == "rolled_back":
            return f"{cause}rolled back to {before}"
        if self.state == "removed":
            return f"{cause}undone (no earlier release: app stopped, current removed)"
        if self.state == "rollback_failed":
            return f"{cause}rollback to {before} FAILED: {self.rollback_error}; needs a human"
        return f"{self.state}: {self.error or ''}"

    def to_dict(self, release: str) -> dict[str, Any]:
        return {
            "state": self.state,
            "previous": self.previous,
            "release": release,
            "error": self.error,
            "rollback_error": self.rollback_error,
            "summary": self.summary(release),
            "seconds": round(self.seconds, 3),
            "commands": self.transport.commands,
            "connections": self.transport.connects,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            **self.extra,
        }


def report(runs: list[HostRun], release: str) -> str:
    """One line: the failures first, then every other host, grouped by what became of it."""
    failed = [r for r in runs if r.error]
    others: dict[str, list[str]] = {}
    for r in runs:
        if not r.error:
            others.setdefault(r.summary(release), []).append(r.name)
    parts = [f"{r.name}: {r.summary(release)}" for r in failed]
    parts += [f"{', '.join(names)}: {text}" for text, names in others.items()]
    return "; ".join(parts)


def each(
    runs: Iterable[HostRun],
    work: Callable[[HostRun], None],
    *,
    parallel: int,
    on_error: Callable[[HostRun, WaveError], None],
) -> None:
    """Run ``work`` for every host, ``parallel`` at a time; any failure goes to ``on_error``.

    Threads, not tasks: the release layout is synchronous code. Each thread spends its
    time waiting for the one event loop that carries every host's SSH traffic.
    """
    runs = list(runs)
    if not runs:
        return

    def one(run: HostRun) -> None:
        started = time.monotonic()
        try:
            work(run)
        except WaveError as exc:
            on_error(run, exc)
        except Exception as exc:
            # A bug, or a library error nobody mapped: still this host's failure, so the
            # other hosts are rolled back as for any other.
            on_error(run, AdapterError(f"{run.name}: {type(exc).__name__}: {exc}"))
        finally:
            run.seconds += time.monotonic() - started

    if len(runs) == 1 or parallel == 1:
        for run in runs:
            one(run)
        return
    with ThreadPoolExecutor(
        max_workers=min(parallel, len(runs)), thread_name_prefix="wave-host"
    ) as pool:
        for future in [pool.submit(one, run) for run in runs]:
            future.result()
