"""What a visitor sees: which release answers at a URL, now, until a deadline, or throughout.

The conformance suite judges an adapter by what is served, not by what the adapter reports:
after a deploy or a rollback it asks the URL the adapter reported which release answers.
The kit's health app (:mod:`wave_sdk.testing.healthapp`) answers ``GET /`` with JSON that
names its release in ``version``; an adapter's own test app does the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def served_release(url: str, *, timeout: float = 2.0) -> str | None:
    """The ``version`` in the JSON that ``GET url`` answers with 200, else ``None``.

    ``None`` means no release answers there: nothing listens, the answer is an error, or
    it names no version. Each call opens its own connection, as a new visitor would.
    """
    try:
        response = httpx.get(url, timeout=timeout)
        body = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    version = body.get("version") if isinstance(body, dict) else None
    return str(version) if version is not None else None


def wait_until(
    observe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    timeout: float,
    interval: float = 0.05,
) -> T:
    """Call ``observe`` until ``accept`` takes its value or ``timeout`` seconds pass.

    Returns the last value observed, accepted or not, so the caller asserts on it and a
    failure shows what was seen last (``assert wait_until(...) == "r1"``).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = observe()
        if accept(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Prober:
    """Probes from a thread until the block ends: every answer a visitor got meanwhile.

    ::

        with Prober(lambda: served_release(url)) as prober:
            prober.wait_for(2)        # it answers before the operation starts
            do_the_operation()
            prober.wait_for(2)        # and after it ended
        assert set(prober.answers) == {"r1"}
    """

    def __init__(
        self, probe: Callable[[], str | None], *, interval: float = 0.02, timeout: float = 30.0
    ) -> None:
        self._probe = probe
        self.interval = interval
        """Seconds between the end of one probe and the start of the next."""
        self.timeout = timeout
        """Seconds :meth:`wait_for` waits, and the block's end waits for the thread."""
        self.answers: list[str | None] = []
        self._more = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wave-prober", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            answer = self._probe()
            with self._more:
                self.answers.append(answer)
                self._more.notify_all()
            self._stop.wait(self.interval)

    def wait_for(self, count: int) -> int:
        """Wait until ``count`` more answers arrive (at most ``timeout``); how many did."""
        with self._more:
            start = len(self.answers)
            self._more.wait_for(lambda: len(self.answers) >= start + count, self.timeout)
            return len(self.answers) - start

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout)
