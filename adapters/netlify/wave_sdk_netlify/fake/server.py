"""The fake Netlify on loopback: the API on one port, every site and deploy on its own.

Netlify serves each deploy at its own origin (``https://<id>--<site>.netlify.app``) and
the published one at the site's; absolute links (``/css/app.css``) only work at an
origin's root. ``*.localhost`` names do not resolve outside browsers, so the fake gives
each site and each deploy its own 127.0.0.1 port instead: ``deploy_url`` and the site's
``url`` are real origins that an HTTP check, curl or a browser can load.

Served through :mod:`wave_sdk.fakehttp` (one loopback origin per host, each serving from
a thread of its own; armed faults, the request log): this module is what is Netlify's in
it — the ``/api/v1`` prefix, the error body, the rate-limit headers, which deploy each
origin shows.
"""

from __future__ import annotations

import http
import json
import mimetypes
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from wave_sdk.fakehttp import Exchange, Faults, Handler, RateWindow, Served, close_all
from wave_sdk_netlify.fake.api import ROUTES, Api, Body, Call
from wave_sdk_netlify.fake.faults import Fault, Logged
from wave_sdk_netlify.fake.state import ApiError, Deploy, Site, Store

API_PREFIX = "/api/v1"
Observer = Callable[[Exchange], None]
Serves = Callable[[], Deploy | None]


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
        self._window = RateWindow(rate_limit)
        self._origins: list[Served[FakeNetlify, Deploy]] = []
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
        """Already serving (each origin from its own thread): kept for ``with`` and callers."""
        return self

    def stop(self) -> None:
        with self.lock:
            origins = list(self._origins)
        close_all(origins)

    def __enter__(self) -> FakeNetlify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open(self, serves: Serves | None) -> Served[FakeNetlify, Deploy]:
        origin = Served(self, serves, _Handler)
        with self.lock:
            self._origins.append(origin)
        return origin

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
        return [r for r in self.faults.requests(method, contains) if isinstance(r, Logged)]

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


class _Handler(Handler):
    server: Served[FakeNetlify, Deploy]

    def dispatch(self) -> None:
        started = time.monotonic()
        body = self.read_body()
        if self.server.serves is not None:
            self._serve_site(self.server.serves)
        else:
            self._api(body, started)

    # -- the CDN ---------------------------------------------------------------------------

    def _serve_site(self, serves: Serves) -> None:
        """A deploy's files by path: ``/`` and ``dir/`` are their ``index.html``."""
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
                        self.send(404, page, "text/html; charset=utf-8")
                        return
        if data is None:
            self.send(404, b"Not Found\n", "text/plain; charset=utf-8")
            return
        kind = mimetypes.guess_type(found)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self.send(200, data, kind)

    # -- the API ---------------------------------------------------------------------------

    def _api(self, body: bytes, started: float) -> None:
        fake = self.server.fake
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        status, payload, headers, fault = self._answer(fake, path, split.query, body)
        out = b"" if payload is None else json.dumps(payload).encode()
        answered = time.time()  # before the answer leaves: the client cannot have it earlier
        if status != 0:
            headers = {**fake._window.headers(), **headers}
            self.send(status, out, "application/json; charset=utf-8", headers)
        fake.faults.record(
            Logged(
                method=self.command,
                path=path,
                query=split.query,
                status=status,
                bytes_in=len(body),
                at=answered,
                fault=fault,
                bytes_out=len(out) if status else 0,
                seconds=time.monotonic() - started,
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
                    fault.retry_header(),
                    True,
                )
        inside = path.startswith(API_PREFIX + "/")
        relative = path[len(API_PREFIX) :] if inside else path
        found = ROUTES.match(self.command, relative)
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
                )
            )
        return status, payload, {}, False


def _json_or_none(body: bytes, content_type: str) -> Any:
    if "json" not in content_type or not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
