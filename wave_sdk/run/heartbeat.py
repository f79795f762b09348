"""The lock's heartbeat: a run renews its lock while it runs, and stops if it lost it.

A lock from another host is stale once it expires (``[state] lock_ttl``), so a run longer
than the TTL on a shared store would be taken over mid-run. The heartbeat renews it every
third of the TTL from a daemon thread. If a renewal finds the lock gone — broken with
``wave unlock --force --force``, or taken over — the run is stopped the way SIGTERM stops
it (:mod:`wave_sdk.run.interrupts`): it rolls back what it changed, records and exits,
rather than go on deploying beside another run.

A renewal that fails for another reason — a shared store timing out or answering 500, a
full disk — proves nothing about who holds the lock, and a run is not rolled back for it:
the renewal is tried again every second, with a warning, for as long as the lock is still
valid. Only when it would expire before the next try does the run stop, as if it had lost
the lock: past its expiry another host may take it over, and two runs must never deploy
side by side.
"""

from __future__ import annotations

import _thread
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from wave_sdk.errors import LockHeld, problem
from wave_sdk.models import utcnow

if TYPE_CHECKING:
    from wave_sdk.state import LockInfo, StateStore

RETRY_S = 1.0
"""How soon a renewal that failed is tried again (at most; sooner for a short TTL)."""


class Heartbeat:
    """Renew ``lock`` every ``ttl / 3`` seconds until :meth:`stop`.

    ``on_retry`` hears, in a line, each renewal that failed and will be tried again.
    """

    def __init__(
        self,
        store: StateStore,
        lock: LockInfo,
        ttl: float,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.lock = lock
        self.ttl = ttl
        self.on_retry = on_retry
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="wave-lock-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _beat(self) -> None:
        wait = self.ttl / 3
        while not self._stop.wait(wait):
            try:
                self.lock = self.store.renew_lock(self.lock, self.ttl)
                wait = self.ttl / 3
            except LockHeld as exc:
                self._lose(exc.message)
                return
            except Exception as exc:  # says nothing of who holds it: try again while valid
                why = problem(exc)
                wait = min(RETRY_S, self.ttl / 6)
                left = (self.lock.expires_at - utcnow()).total_seconds()
                if left <= wait:
                    self._lose(f"the lock could not be renewed before it expired: {why}")
                    return
                if self.on_retry is not None:
                    left_s = f"{left:.0f}s"
                    self.on_retry(f"could not renew the lock ({why}); trying again, {left_s} left")

    def _lose(self, why: str) -> None:
        self.lost = why
        if not self._stop.is_set():
            # Delivered to the main thread as SIGTERM would be: the run rolls back.
            _thread.interrupt_main(signal.SIGTERM)
