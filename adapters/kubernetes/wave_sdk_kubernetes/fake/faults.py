"""Failure injection and the request log: what tests and benches see of the wire.

An injected fault answers the request with its error and changes nothing (unlike kmock,
whose injected errors still apply the write), so a client's retry meets the state it left.
Status 0 means "drop the connection without answering"; a 410 on a watch request is sent
as the real server sends it, an ``ERROR`` event inside a 200 stream.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Fault:
    method: str  # "GET", …, or "*"
    path: re.Pattern[str]
    status: int
    times: int
    retry_after: int | None = None
    message: str | None = None
    watch: bool | None = None  # only watch requests (True), only others (False), or both


@dataclass
class Request:
    """One request as the fake received and answered it (a watch: as streamed so far)."""

    method: str
    path: str
    query: str
    content_type: str
    body: bytes
    status: int = 0
    sent: int = 0  # response bytes, headers excluded
    watch: bool = False
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def bytes(self) -> int:
        """Request body plus response body: the bytes a bench counts per request."""
        return len(self.body) + self.sent

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


class _Shared(Generic[T]):
    """A list that request threads and the test's thread share."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def add(self, item: T) -> T:
        with self._lock:
            self._items.append(item)
        return item

    def entries(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Faults(_Shared[Fault]):
    def take(self, method: str, path: str, watch: bool) -> Fault | None:
        """The first pending fault matching this request, counted as used."""
        with self._lock:
            for fault in self._items:
                if fault.method not in ("*", method) or not fault.path.search(path):
                    continue
                if fault.watch is not None and fault.watch != watch:
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._items.remove(fault)
                return fault
        return None


class RequestLog(_Shared[Request]):
    """Every request, in arrival order."""
