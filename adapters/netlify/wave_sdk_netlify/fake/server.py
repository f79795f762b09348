"""The fake Netlify on loopback: the API on one port, every site and deploy on its own.

Netlify serves each deploy at its own origin (``https://<id>--<site>.netlify.app``) and
the published one at the site's; absolute links (``/css/app.css``) only work at an
origin's root. ``*.localhost`` names do not resolve outside browsers, so the fake gives
each site and each deploy its own 127.0.0.1 port instead: ``deploy_url`` and the site's
``url`` are real origins that an HTTP check, curl or a browser can load.

Written on the standard library's ``http.server`` (rule 10: no dependency of the fake
outside wave-sdk's own): one :class:`~http.server.ThreadingHTTPServer` per origin, all
accepted by one selector thread, each connection on its own thread, HTTP/1.1 keep-alive
with ``disable_nagle_algorithm`` (without it Nagle and delayed ACKs cap a keep-alive
client at ~23 requests/s, notes/performance.md). Bodies sent chunked (netlify-cli streams
files) are read.
"""

from __future__ import annotations

import http.server
import json
import mimetypes
import os
import selectors
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wave_sdk_netlify.fake.api import Api, Body, Call
from wave_sdk_netlify.fake.faults import (
    Fault,
    Faults,
    Logged,
    fault_headers,
    rate_limit_headers,
)
from wave_sdk_netlify.fake.state import ApiError, Deploy, Site, Store

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Exchange:
    """One answered API call, as an observer (a spec check) sees it."""

    method: str
    template: str
    """The operation's path in the spec; ``""`` for routes outside it."""
    status: int
    request: Any
    """The request's JSON body, or ``None``."""
    response: Body
    content_type: str


Observer = Callable[[Exchange], None]


class _Origin(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeNetlify, serves: Callable[[], Deploy | None] | None) -> None:
        self.fake = fake
        self.serves = serves
        """``None`` for the API; else which deploy this origin shows right now."""
        self.timeout = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeNetlify:
    """A stateful fake Netlify API and CDN; start it with ``with FakeNetlify() as fake:``.

    Attributes:
        api_url: ``NETLIFY_API_URL`` for netlify-cli or an adapter (ends in ``/api/v1``).
        store: sites, deploys and blobs (read under :attr:`lock`).

    """

    def __init__(
        self,
        *,
        token: str | None = None,
        diff_delay: float = 0.3,
        process_delay: float = 0.2,
        rate_limit: int = 500,
        observer: Observer | None = None,
    ) -> None:
        self.token = token
        """The one bearer token accepted; ``None`` accepts any non-empty one."""
        self.store = Store(diff_delay=diff_delay, process_delay=process_delay)
        self.lock = threading.RLock()
        self.rate_limit = rate_limit
        self.observer = observer
        self.faults = Faults()
        self._window = (time.time(), 0)
        self._origins: list[_Origin] = []
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fake-netlify", daemon=True)
        self.api = Api(self.store, self._deploy_origin)
        self._api_origin = self._open(None)

    # -- life ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API's origin (``http://127.0.0.1:PORT``)."""
        return self._api_origin.url

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def start(self) -> FakeNetlify:
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(10)
        with self.lock:
            for origin in self._origins:
                origin.server_close()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def __enter__(self) -> FakeNetlify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open(self, serves: Callable[[], Deploy | None] | None) -> _Origin:
        origin = _Origin(self, serves)
        with self.lock:
            self._origins.append(origin)
        self._selector.register(origin.socket, selectors.EVENT_READ, origin)
        os.write(self._wake_w, b"x")  # the loop's select() sees the new socket
        return origin

    def _loop(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=1.0):
                if key.data is None:
                    os.read(self._wake_r, 4096)
                else:
                    key.data.handle_request()  # ready: accepts one, hands it to a thread

    # -- sites, faults, log ----------------------------------------------------------------

    def add_site(self, site_id: str = "wave-site", *, name: str | None = None) -> Site:
        """A site with its own origin, serving whatever deploy is published (nothing yet)."""
        with self.lock:
            site = self.store.add_site(site_id, name=name)

        def published() -> Deploy | None:
            return self.store.deploys.get(site.published_deploy or "")

        site.url = self._open(published).url
        return site

    def _deploy_origin(self, deploy: Deploy) -> str:
        def this() -> Deploy | None:
            return deploy if deploy.state == "ready" else None

        return self._open(this).url

    def inject(self, **fault: Any) -> Fault:
        """Arm a :class:`~wave_sdk_netlify.fake.faults.Fault` (its fields as keywords)."""
        return self.faults.add(Fault(**fault))

    def requests(self, method: str | None = None, contains: str = "") -> list[Logged]:
        """The API requests so far, optionally only ``method`` ones whose path has ``contains``."""
        return [
            r
            for r in self.faults.requests()
            if (method is None or r.method == method) and contains in r.path
        ]

    def uploads(self) -> list[str]:
        """Paths of the files uploaded and accepted so far, in order."""
        marker = "/files/"
        return [
            r.path.split(marker, 1)[1]
            for r in self.requests("PUT", marker)
            if r.status == 200 and "/deploys/" in r.path
        ]

    def served(self, url: str, path: str) -> bytes | None:
        """What the origin at ``url`` serves at ``path`` right now (``None``: 404)."""
        with self.lock:
            origin = next((o for o in self._origins if o.url == url.rstrip("/")), None)
            deploy = origin.serves() if origin is not None and origin.serves else None
            return self.store.content(deploy, path) if deploy is not None else None

    def _count(self) -> dict[str, str]:
        with self.lock:
            start, count = self._window
            if time.time() >= start + 60:
                start, count = time.time(), 0
            self._window = (start, count + 1)
            return rate_limit_headers(self.rate_limit, count + 1, start)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16
    """Buffered: a response's head and body leave in one send (flushed after each request)."""
    server: _Origin

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's log is :meth:`FakeNetlify.requests`."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        if self.server.serves is not None:
            self._serve_site(self.server.serves)
        else:
            self._api()

    # -- the CDN ---------------------------------------------------------------------------

    def _serve_site(self, serves: Callable[[], Deploy | None]) -> None:
        """A deploy's files by path: ``/`` and ``dir/`` are their ``index.html``."""
        self._body()
        fake = self.server.fake
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with fake.lock:
            deploy = serves()
            if deploy is not None:
                fake.store.advance(deploy)
                deploy = serves()
            data, found = None, path
            if deploy is not None and self.command in ("GET", "HEAD"):
                for candidate in (path, path.rstrip("/") + "/index.html"):
                    data = fake.store.content(deploy, candidate)
                    if data is not None:
                        found = candidate
                        break
                if data is None:
                    page = fake.store.content(deploy, "404.html")
                    if page is not None:
                        self._send(404, page, "text/html; charset=utf-8")
                        return
        if data is None:
            self._send(404, b"Not Found\n", "text/plain; charset=utf-8")
            return
        kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self._send(200, data, kind)

    # -- the API ---------------------------------------------------------------------------

    def _api(self) -> None:
        fake = self.server.fake
        started = time.monotonic()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        body = self._body()
        status, payload, headers, fault = self._answer(fake, path, split.query, body)
        out = b"" if payload is None else json.dumps(payload).encode()
        if status != 0:
            headers = {**fake._count(), **headers}
            self._send(status, out, "application/json; charset=utf-8", headers)
        fake.faults.record(
            Logged(
                method=self.command,
                path=path,
                query=split.query,
                status=status,
                bytes_in=len(body),
                bytes_out=len(out) if status else 0,
                started=time.time(),
                seconds=time.monotonic() - started,
                fault=fault,
            )
        )
        if status == 0:  # a dropped connection: logged first, so a test sees it at once
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(
        self, fake: FakeNetlify, path: str, query: str, body: bytes
    ) -> tuple[int, Body, dict[str, str], bool]:
        fault = fake.faults.take(self.command, path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                return 0, None, {}, True
            if fault.status is not None:
                message = fault.message or http.HTTPStatus(fault.status).phrase
                return (
                    fault.status,
                    {"code": fault.status, "message": message},
                    fault_headers(fault),
                    True,
                )
        inside = path.startswith(API_PREFIX + "/")
        relative = path[len(API_PREFIX) :] if inside else path
        found = fake.api.match(self.command, relative)
        if found is None or bool(found[0].template) != inside:
            return 404, {"code": 404, "message": "Not Found"}, {}, False
        route, params = found
        auth = self.headers.get("Authorization", "")
        if inside and (
            not auth.startswith("Bearer ")
            or not auth[7:].strip()
            or (fake.token is not None and auth[7:] != fake.token)
        ):
            return 401, {"code": 401, "message": "Access Denied: bad or missing token"}, {}, False
        call = Call(self.command, relative, dict(urllib.parse.parse_qsl(query)), body)
        try:
            with fake.lock:
                status, payload = route.handler(fake.api, call, params)
        except ApiError as error:
            status, payload = error.status, {"code": error.status, "message": error.message}
        if fake.observer is not None:
            fake.observer(
                Exchange(
                    self.command,
                    route.template,
                    status,
                    _json_or_none(body, self.headers.get("Content-Type", "")),
                    payload,
                    "application/json",
                )
            )
        return status, payload, {}, False

    # -- plumbing --------------------------------------------------------------------------

    def _body(self) -> bytes:
        """The request body: by Content-Length, or chunked (how node streams a file)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
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


def _json_or_none(body: bytes, content_type: str) -> Any:
    if "json" not in content_type or not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
