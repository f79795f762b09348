"""How the upload loop's requests reach the platform: a kept-alive connection per thread.

:func:`~wave_sdk.digests.transfer.upload` sends thousands of small requests, and there the
client's own CPU time is what bounds a deploy: on this project's 2-core test machine a
32 KB ``PUT`` costs the client 1.2 ms of CPU through ``httpx`` (its request and response
models, ``httpcore``'s pool and ``h11``) and 0.42 ms through the standard library's
:mod:`http.client`, measured against the same fake server; for a 10,000-file site that is
8 s of CPU. So each upload thread keeps one :class:`http.client.HTTPConnection` (or
``HTTPSConnection``) per origin for the whole upload, with the adapter's ``httpx.Client``
supplying the headers (authorisation, user agent) and the timeout, and the trust store
``httpx`` uses by default, loaded once per process (:mod:`wave_sdk.tls`).

Everything else — proxies, which ``http.client`` does not find on its own — stays with
``httpx``: when the environment names a proxy for an upload's origin and the client trusts
the environment, every upload goes through the client itself (:func:`sender`). Both senders
answer with an :class:`Answer` (an :class:`httpx.Response` on demand) and fail with
:class:`httpx.TransportError`, so the retry rules of :mod:`~wave_sdk.digests.transfer`
see one kind of answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import httpx

SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection"})
"""Client headers a sender sets itself (or leaves out: bodies are read undecoded)."""


class Answer:
    """A response's status; the whole :class:`httpx.Response` is built only when asked.

    An upload that succeeds needs nothing but its status, and building the response
    object costs as much as a quarter of a direct request.
    """

    def __init__(self, status: int, build: Callable[[], httpx.Response]) -> None:
        self.status = status
        self._build = build

    def response(self) -> httpx.Response:
        return self._build()


@dataclass(frozen=True)
class Outgoing:
    """One upload request: the body is bytes, or an open file read to its end."""

    method: str
    url: str
    body: bytes | BinaryIO
    size: int
    headers: Mapping[str, str]


class Sender(Protocol):
    """Sends one request: an :class:`Answer`, or :class:`httpx.TransportError`."""

    def send(self, request: Outgoing, timeout: float) -> Answer: ...

    def close(self) -> None: ...


def sender(client: httpx.Client, urls: list[str]) -> Sender:
    """The sender for these upload URLs: direct, unless a proxy applies to one of them."""
    origins = {urllib.parse.urlsplit(url)[:2]: url for url in urls}
    if client.trust_env and any(proxied(url) for url in origins.values()):
        return ClientSender(client)
    return DirectSender(client)


def proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (``HTTPS_PROXY``, ``NO_PROXY``)."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


class ClientSender:
    """Through the adapter's ``httpx.Client``: its proxies, its pool."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def send(self, request: Outgoing, timeout: float) -> Answer:
        response = self.client.request(
            request.method,
            request.url,
            content=request.body,
            headers=request.headers,
            timeout=timeout,
        )
        return Answer(response.status_code, lambda: response)

    def close(self) -> None:
        """The client is the adapter's to close."""


class DirectSender:
    """One kept-alive ``http.client`` connection per thread and origin."""

    def __init__(self, client: httpx.Client) -> None:
        self.headers = {k: v for k, v in client.headers.items() if k not in SKIPPED_HEADERS}
        self.local = threading.local()
        self.lock = threading.Lock()
        self.opened: list[http.client.HTTPConnection] = []
        self._tls: ssl.SSLContext | None = None

    def send(self, request: Outgoing, timeout: float) -> Answer:
        method, url = request.method, request.url
        parts = httpx.URL(url)  # percent-encoded as httpx would send it
        target = parts.raw_path.decode("ascii")
        connection = self._connection(parts.scheme, parts.host, parts.port)
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        try:
            size = len(request.body) if isinstance(request.body, bytes) else request.size
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers.update({k.lower(): v for k, v in request.headers.items()})
            headers["content-length"] = str(size)  # one of each name, the request's last
            connection.request(method, target, body=request.body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop(connection)
            raise httpx.TransportError(f"{type(exc).__name__}: {exc}") from None
        if answer.will_close:
            self._drop(connection)
        status, headers_in = answer.status, answer.getheaders()
        return Answer(
            status,
            lambda: httpx.Response(
                status, headers=headers_in, content=content, request=httpx.Request(method, url)
            ),
        )

    def close(self) -> None:
        with self.lock:
            opened, self.opened = self.opened, []
        for connection in opened:
            connection.close()

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        mine: dict[tuple[str, str, int | None], http.client.HTTPConnection]
        mine = self.local.__dict__.setdefault("connections", {})
        connection = mine.get((scheme, host, port))
        if connection is None:
            if scheme == "https":
                connection = _Https(host, port, context=self._context())
            elif scheme == "http":
                connection = _Http(host, port)
            else:
                raise httpx.UnsupportedProtocol(f"cannot upload to a {scheme!r} URL")
            mine[(scheme, host, port)] = connection
            with self.lock:
                self.opened.append(connection)
        return connection

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        """Forget a connection that failed or that the server closes; the next one is new."""
        connection.close()
        mine = self.local.__dict__.get("connections", {})
        for key, value in list(mine.items()):
            if value is connection:
                del mine[key]

    def _context(self) -> ssl.SSLContext:
        with self.lock:
            if self._tls is None:
                from wave_sdk import tls

                self._tls = tls.context()
            return self._tls


class _Http(http.client.HTTPConnection):
    """Without Nagle's algorithm.

    A head and a streamed body leave in two sends, and the second would wait for the
    server's delayed ACK: 40 ms a request.
    """

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Https(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
