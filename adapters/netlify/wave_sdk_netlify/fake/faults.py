"""Trouble on demand: 429 with rate-limit headers, 5xx, slow or dropped answers; the log.

A test arms a :class:`Fault` with :meth:`FakeNetlify.inject
<wave_sdk_netlify.fake.server.FakeNetlify.inject>`; the next ``times`` API requests that
match it get the fault instead of (or, for a pure ``delay``, before) the real answer::

    fake.inject(status=429, retry_after=2, times=3, method="PUT", path="/files/")
    fake.inject(status=503, times=2)
    fake.inject(delay=1.5, path="/deploys/")          # slow, then answered normally
    fake.inject(drop=True)                            # connection closed, no answer

Every API request is logged (:class:`Logged`): method, path, status and bytes each way.
The arming, matching and logging are :mod:`wave_sdk.fakehttp`'s; what is Netlify's here
is the other form of ``Retry-After``, ``X-RateLimit-Reset`` and the log's timing.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

from wave_sdk import fakehttp


@dataclass
class Fault(fakehttp.Fault):
    """A :class:`wave_sdk.fakehttp.Fault` with Netlify's rate-limit headers on demand.

    ``path`` is searched in the whole request path, ``/api/v1/…`` included.
    """

    retry_after_date: bool = False
    """Send ``Retry-After`` as an HTTP date (the other form RFC 9110 allows)."""
    reset_in: float | None = None
    """``X-RateLimit-Reset`` this many seconds after the answer (epoch seconds, rounded up)."""

    def retry_header(self) -> dict[str, str]:
        headers = super().retry_header()
        if self.retry_after is not None and self.retry_after_date:
            when = time.time() + self.retry_after
            headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
        if self.reset_in is not None:
            headers["X-RateLimit-Reset"] = str(int(time.time() + self.reset_in + 0.999))
        return headers


@dataclass(frozen=True)
class Logged(fakehttp.Logged):
    """A :class:`wave_sdk.fakehttp.Logged` with the answer's size and how long it took."""

    bytes_out: int = 0
    """0 for a dropped connection."""
    seconds: float = 0.0
    """From the request's body read to its answer sent (or dropped)."""

    @property
    def started(self) -> float:
        """``time.time()`` just before the answer was sent: :attr:`at`, by another name.

        A client acting on the answer does so after it.
        """
        return self.at
