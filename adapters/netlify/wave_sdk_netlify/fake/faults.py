"""Trouble on demand: 429 with rate-limit headers, 5xx, slow or dropped answers; the log.

A test arms a :class:`Fault` with :meth:`FakeNetlify.inject
<wave_sdk_netlify.fake.server.FakeNetlify.inject>`; the next ``times`` API requests that
match it get the fault instead of (or, for a pure ``delay``, before) the real answer::

    fake.inject(status=429, retry_after=2, times=3, method="PUT", path="/files/")
    fake.inject(status=503, times=2)
    fake.inject(delay=1.5, path="/deploys/")          # slow, then answered normally
    fake.inject(drop=True)                            # connection closed, no answer

Every API request is logged (:class:`Logged`): method, path, status and bytes each way.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Fault:
    status: int | None = None
    """The status answered instead of the route's (``None``: the route answers)."""
    times: int = 1
    method: str | None = None
    path: str | None = None
    """A regular expression searched in the request's path (``/api/v1/…`` included)."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    retry_after: float | None = None
    """``Retry-After`` in seconds (whole seconds are sent as an integer)."""
    retry_after_date: bool = False
    """Send ``Retry-After`` as an HTTP date (the other form RFC 9110 allows)."""
    reset_in: float | None = None
    """``X-RateLimit-Reset`` this many seconds after the answer (epoch seconds, rounded up)."""
    drop: bool = False
    """Close the connection without an answer (a dropped connection)."""
    message: str | None = None
    hits: int = 0
    """How many requests this fault has answered so far."""

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or re.search(self.path, path) is not None
        )


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    """Percent-decoded, query string left out."""
    query: str
    status: int
    """0 for a dropped connection."""
    bytes_in: int
    bytes_out: int
    started: float
    seconds: float
    fault: bool = False


@dataclass
class Faults:
    """Armed faults in the order they were injected, and the request log."""

    armed: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.armed.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this request (counted as used), or ``None``."""
        with self._lock:
            for fault in self.armed:
                if fault.hits < fault.times and fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.armed.clear()

    def record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def requests(self) -> list[Logged]:
        with self._lock:
            return list(self.log)


def rate_limit_headers(limit: int, count: int, window_start: float) -> dict[str, str]:
    """The three ``X-RateLimit-*`` headers Netlify sends (reset: Unix epoch seconds)."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(limit - count, 0)),
        "X-RateLimit-Reset": str(int(window_start + 60)),
    }


def fault_headers(fault: Fault) -> dict[str, str]:
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        value = fault.retry_after
        if fault.retry_after_date:
            headers["Retry-After"] = email.utils.formatdate(time.time() + value, usegmt=True)
        else:
            headers["Retry-After"] = str(int(value)) if value == int(value) else str(value)
    if fault.reset_in is not None:
        headers["X-RateLimit-Reset"] = str(int(time.time() + fault.reset_in + 0.999))
    return headers
