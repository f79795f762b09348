"""The fake's notion of now: the real clock, or one a test moves by hand.

Progress deadlines (``progressDeadlineSeconds``, 600 s by default) are decided on this
clock, so a test can make a Deployment exceed its deadline with :meth:`ManualClock.advance`
instead of sleeping.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)


class ManualClock(Clock):
    """A clock that stands still until :meth:`advance` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).replace(microsecond=0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
