"""The lock's heartbeat: a run renews its lock while it runs, and stops if it lost it.

A lock from another host is stale once it expires (``[state] lock_ttl``), so a run longer
than the TTL on a shared store would be taken over mid-run. The heartbeat renews it every
third of the TTL from a daemon thread. If a renewal finds the lock gone — broken with
``wave unlock --force --force``, or taken over — the run is stopped the way SIGTERM stops
it (:mod:`wave_sdk.run.interrupts`): it rolls back what it changed, records and exits,
rather than go on deploying beside another run.
"""

from __future__ import annotations

import _thread
import signal
import threading
from typing import TYPE_CHECKING

from wave_sdk.errors import LockHeld, StateError

if TYPE_CHECKING:
    from wave_sdk.state import LockInfo, StateStore


class Heartbeat:
    """Renew ``lock`` every ``ttl / 3`` seconds until :meth:`stop`."""

    def __init__(self, store: StateStore, lock: LockInfo, ttl: float) -> None:
        self.store = store
        self.lock = lock
        self.ttl = ttl
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
        while not self._stop.wait(self.ttl / 3):
            try:
                self.lock = self.store.renew_lock(self.lock, self.ttl)
            except (LockHeld, StateError) as exc:
                self.lost = exc.message
                if not self._stop.is_set():
                    # Delivered to the main thread as SIGTERM would be: the run rolls back.
                    _thread.interrupt_main(signal.SIGTERM)
                return
            except Exception:  # a store that failed once: try again at the next beat
                continue
