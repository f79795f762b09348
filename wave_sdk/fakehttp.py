"""The plumbing of a fake platform API: routes, origins, armed faults and the request log.

An adapter for a hosted platform ships a stateful fake of its API, which its tests, its
bench and the platform's own CLI run against (the Vercel adapter's is the example). What
such a fake holds and answers is the platform's; how it is served is the same for all,
and lives here:

* :class:`Routes` — handlers registered by method and the path template the platform's
  spec writes (``/v13/deployments/{idOrUrl}``), so each answer can be checked against the
  spec's schema for that operation;
* :class:`Origin` — one loopback ``ThreadingHTTPServer`` on a port of its own, serving
  from its own thread: a platform serves each deployment at its own origin, and
  ``*.localhost`` names do not resolve outside browsers, so a port stands for a host;
* :class:`Handler` — HTTP/1.1 keep-alive with Nagle off (without it Nagle and delayed ACKs
  cap a keep-alive client at ~23 requests/s), request bodies read by length or chunked
  (how node streams a file);
* :class:`Fault` and :class:`Faults` — trouble on demand (a status such as 429 or 503 with
  ``Retry-After``, a delay, a dropped connection) for the next matching requests, and the
  log of every request;
* :class:`RateWindow` — the ``X-RateLimit-*`` headers of a minute's window, which a
  platform (Netlify, Vercel) sends on every answer.

Written on the standard library (rule 10): a fake must not add dependencies to the
distribution that ships it.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

H = TypeVar("H")
F = TypeVar("F", bound="Fault")
FakeT = TypeVar("FakeT")
T = TypeVar("T")


@dataclass(frozen=True)
class Route(Generic[H]):
    method: str
    pattern: re.Pattern[str]
    template: str
    """The operation's path as the spec writes it; ``""`` for one the spec lacks."""
    handler: H


class Routes(Generic[H]):
    """A route table: ``@routes.add("GET", "/v2/user")`` registers a handler."""

    def __init__(self) -> None:
        self.table: list[Route[H]] = []

    def add(self, method: str, template: str, *, spec: bool = True) -> Callable[[H], H]:
        """Register for ``method template``: ``{name}`` matches a segment, ``{*name}`` the rest.

        ``spec=False`` marks a route the platform's spec does not document (the CLI calls
        it all the same), so a spec check passes it over.
        """

        def pattern_of(text: str) -> str:
            text = re.sub(r"\{\*(\w+)\}", r"(?P<\1>.+)", text)
            return re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", text)

        def register(handler: H) -> H:
            documented = template.replace("{*", "{") if spec else ""
            pattern = re.compile(pattern_of(template) + "$")
            self.table.append(Route(method, pattern, documented, handler))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route[H], dict[str, str]] | None:
        for candidate in self.table:
            found = candidate.pattern.match(path)
            if found and candidate.method == method:
                return candidate, found.groupdict()
        return None


@dataclass
class Fault:
    """What the next ``times`` matching API requests get instead of (or before) their answer."""

    status: int | None = None
    """The status answered instead of the route's (``None``: the route answers)."""
    times: int = 1
    method: str | None = None
    path: str | None = None
    """A regular expression searched in the request's path."""
    delay: float = 0.0
    """Seconds to wait before answering."""
    retry_after: float | None = None
    """``Retry-After`` in seconds (whole seconds are sent as an integer)."""
    drop: bool = False
    """Close the connection without an answer."""
    message: str | None = None
    hits: int = 0
    """How many requests this fault has answered so far."""

    def applies(self, method: str, path: str) -> bool:
        return (
            self.hits < self.times
            and (self.method is None or self.method == method)
            and (self.path is None or re.search(self.path, path) is not None)
        )

    def retry_header(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        value = self.retry_after
        return {"Retry-After": str(int(value)) if value == int(value) else str(value)}


@dataclass(frozen=True)
class Logged:
    """One API request: what it asked, what it got (0: dropped), and when."""

    method: str
    path: str
    """Percent-decoded, without the query string."""
    query: str
    status: int
    bytes_in: int
    at: float
    """``time.time()`` when it was answered."""
    headers: dict[str, str] = field(default_factory=dict)
    """The request's ``x-*`` headers (lower-case names): digests, sizes."""
    fault: bool = False
    """Answered by an armed :class:`Fault`."""


@dataclass(frozen=True)
class Exchange:
    """One answered API call, as an observer (a test's spec check) sees it."""

    method: str
    template: str
    """The route's template (:attr:`Route.template`); ``""`` for one the spec lacks."""
    status: int
    request: Any
    """The request's JSON body, or ``None``."""
    response: Any
    """The answer's JSON, or ``None``."""


@dataclass
class Faults:
    """Armed faults, in the order they were armed, and the log of requests."""

    armed: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: F) -> F:
        with self.lock:
            self.armed.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this request (counted as used), or ``None``."""
        with self.lock:
            for fault in self.armed:
                if fault.applies(method, path):
                    fault.hits += 1
                    return fault
        return None

    def record(self, entry: Logged) -> None:
        with self.lock:
            self.log.append(entry)

    def entries(self) -> list[Logged]:
        with self.lock:
            return list(self.log)

    def requests(self, method: str | None = None, contains: str = "") -> list[Logged]:
        """The requests so far, optionally only ``method`` ones whose path has ``contains``."""
        return [
            r
            for r in self.entries()
            if (method is None or r.method == method) and contains in r.path
        ]


class RateWindow:
    """Counts the requests of a minute's window, for the ``X-RateLimit-*`` headers."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._start, self._count = time.time(), 0
        self._lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        """Count one more request; the limit, what remains of it, the reset (epoch seconds)."""
        with self._lock:
            if time.time() >= self._start + 60:
                self._start, self._count = time.time(), 0
            self._count += 1
            start, count = self._start, self._count
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - count, 0)),
            "X-RateLimit-Reset": str(int(start + 60)),
        }


class Handler(http.server.BaseHTTPRequestHandler):
    """Every method goes to :meth:`dispatch`; subclasses answer with :meth:`send`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16
    """Buffered: a response's head and body leave in one send (flushed after each request)."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a fake keeps its own log."""

    def dispatch(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.dispatch()

    def do_HEAD(self) -> None:
        self.dispatch()

    def do_POST(self) -> None:
        self.dispatch()

    def do_PUT(self) -> None:
        self.dispatch()

    def do_PATCH(self) -> None:
        self.dispatch()

    def do_DELETE(self) -> None:
        self.dispatch()

    def read_body(self) -> bytes:
        """The request body, by ``Content-Length`` or chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(
        self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(data)


class Origin(http.server.ThreadingHTTPServer):
    """One loopback origin on a free port, serving from a thread of its own until closed."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[Handler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.2,), name=f"fake-{self.host}", daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class Served(Origin, Generic[FakeT, T]):
    """An origin of the fake ``fake``: its API, or a host showing what ``serves()`` returns."""

    def __init__(
        self, fake: FakeT, serves: Callable[[], T | None] | None, handler: type[Handler]
    ) -> None:
        self.fake = fake
        self.serves = serves
        """``None`` for the API; else what this origin shows right now (a deploy)."""
        super().__init__(handler)


def close_all(origins: Iterable[Origin]) -> None:
    """Close ``origins`` at once: each waits up to a poll interval for its loop to end."""
    closing = [threading.Thread(target=origin.close) for origin in origins]
    for closer in closing:
        closer.start()
    for closer in closing:
        closer.join(10)
