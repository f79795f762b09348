"""The fake Vercel on loopback: the API on one port, each deployment and domain on its own.

Vercel serves a deployment at its own host (``<name>-<hash>.vercel.app``) and the
production deployment at the project's domain. ``*.localhost`` names do not resolve
outside browsers, so each deployment, project domain and alias here gets its own
127.0.0.1 port, and its host (``127.0.0.1:PORT``) is what the API calls its ``url``.

Served through :mod:`wave_sdk.fakehttp` (one loopback origin per host, armed faults, the
request log): this module is what is Vercel's in it — the error body, the rate-limit
headers, which deployment each origin shows.
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

from wave_sdk.fakehttp import (
    Exchange,
    Fault,
    Faults,
    Handler,
    Logged,
    RateWindow,
    Served,
    close_all,
)
from wave_sdk_vercel.fake.routes import ROUTES, Api, Body, Call
from wave_sdk_vercel.fake.state import ApiError, BuildFailure, Deployment, Project, Store

Serves = Callable[[], Deployment | None]


class FakeVercel:
    """A stateful fake Vercel API and CDN; ``with FakeVercel() as fake:`` starts it.

    Attributes:
        url: the API's base URL (the vercel CLI's ``--api``, the adapter's ``api_url``).
        store: projects, deployments, aliases, blobs (read under :attr:`lock`).

    """

    def __init__(
        self,
        *,
        token: str | None = None,
        queue_delay: float = 0.05,
        build_delay: float = 0.2,
        rate_limit: int = 1000,
        observer: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.token = token
        """The one bearer token accepted; ``None`` accepts any non-empty one."""
        self.store = Store(queue_delay=queue_delay, build_delay=build_delay)
        self.lock = threading.RLock()
        self.rate_limit = rate_limit
        self.observer = observer
        self.faults = Faults()
        self._window = RateWindow(rate_limit)
        self._origins: dict[str, Served[FakeVercel, Deployment]] = {}
        self._alias_origins: dict[str, str] = {}
        self.api = Api(self.store, self._deployment_origin)
        self._api = self._open(None)

    @property
    def url(self) -> str:
        return f"http://{self._api.host}"

    def __enter__(self) -> FakeVercel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        with self.lock:
            origins = list(self._origins.values())
        close_all(origins)

    def _open(self, serves: Serves | None) -> Served[FakeVercel, Deployment]:
        origin = Served(self, serves, _Handler)
        with self.lock:
            self._origins[origin.host] = origin
        return origin

    def _deployment_origin(self, deployment: Deployment) -> str:
        return self._open(lambda: deployment).host

    # -- set-up and trouble ------------------------------------------------------------

    def add_project(self, name: str = "wave-site") -> Project:
        """A project whose production domain (its own origin) serves the production one."""
        holder: list[Project] = []

        def production() -> Deployment | None:
            return self.store.deployments.get(holder[0].production or "") if holder else None

        domain = self._open(production).host
        with self.lock:
            project = self.store.add_project(name, domain=domain)
            holder.append(project)
        return project

    def inject(self, **fault: Any) -> Fault:
        """Arm a :class:`Fault` (its fields as keywords), e.g. ``status=429, retry_after=1``."""
        return self.faults.add(Fault(**fault))

    def fail_builds(self, message: str, logs: list[str], *, times: int = 1) -> None:
        """The next ``times`` deployments end in ERROR with ``message`` and build ``logs``."""
        with self.lock:
            self.store.failures.append(BuildFailure(message, list(logs), times))

    # -- what happened -------------------------------------------------------------------

    def requests(self, method: str | None = None, contains: str = "") -> list[Logged]:
        return self.faults.requests(method, contains)

    def uploads(self) -> list[str]:
        """The SHA-1 of every file upload accepted so far, in order."""
        return [
            r.headers.get("x-vercel-digest") or r.headers.get("x-now-digest", "")
            for r in self.requests("POST", "/v2/files")
            if r.status == 200
        ]

    def alias_url(self, name: str) -> str:
        """The origin serving alias ``name`` (a custom domain's stand-in)."""
        with self.lock:
            host = self._alias_origins.get(name)
        if host is None:

            def aliased() -> Deployment | None:
                alias = self.store.aliases.get(name)
                return self.store.deployments.get(alias.deployment) if alias else None

            host = self._open(aliased).host
            with self.lock:
                self._alias_origins[name] = host
        return f"http://{host}"

    def served(self, url: str, path: str) -> bytes | None:
        """What the origin at ``url`` serves at ``path`` right now (``None``: nothing)."""
        host = url.split("://")[-1].rstrip("/")
        with self.lock:
            origin = self._origins.get(host)
            if origin is None or origin.serves is None:
                return None
            deployment = origin.serves()
            if deployment is not None:
                self.store.advance(deployment)
            return self.store.content(deployment, path)

    # -- answering -----------------------------------------------------------------------

    def answer(self, call: Call) -> tuple[int, Body, dict[str, str], bool]:
        """Status, body, extra headers, and whether a fault answered (0: drop)."""
        fault = self.faults.take(call.method, call.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                return 0, None, {}, True
            if fault.status is not None:
                return (*self._fault_answer(fault), True)
        found = ROUTES.match(call.method, call.path)
        if found is None:
            missing = ApiError(404, "not_found", "The requested path was not found")
            return 404, missing.body(), {}, False
        auth = call.headers.get("authorization", "")
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not token or (self.token is not None and token != self.token):
            error = ApiError(403, "forbidden", "Not authorized", invalidToken=True)
            return 403, error.body(), {}, False
        route, params = found
        try:
            with self.lock:
                self.store.advance_all()  # time moved every deployment, not only this one
                status, payload = route.handler(self.api, call, params)
        except ApiError as error:
            status, payload = error.status, error.body()
        if self.observer is not None:
            self.observer(Exchange(call.method, route.template, status, _json(call), payload))
        return status, payload, {}, False

    def _fault_answer(self, fault: Fault) -> tuple[int, Body, dict[str, str]]:
        """The injected answer; a 429 carries Vercel's ``rate_limited`` body (notes §3.1)."""
        status = fault.status or 500
        headers = fault.retry_header()
        if status == 429:
            reset = time.time() + (fault.retry_after or 1)
            headers.update(
                {
                    "X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(reset + 0.999)),
                }
            )
            limit = {
                "remaining": 0,
                "reset": int(reset),
                "resetMs": int(reset * 1000),
                "total": self.rate_limit,
            }
            message = f"The rate limit of {self.rate_limit} exceeded. Try again later"
            return status, ApiError(429, "rate_limited", message, limit=limit).body(), headers
        phrase = fault.message or http.HTTPStatus(status).phrase
        code = "internal_server_error" if status >= 500 else "bad_request"
        return status, ApiError(status, code, phrase).body(), headers

    def rate_headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` of a minute's window (reset in epoch seconds), on every answer."""
        return self._window.headers()


def _json(call: Call) -> Any:
    if "json" not in call.headers.get("content-type", "") or not call.body.strip():
        return None
    try:
        return json.loads(call.body)
    except ValueError:
        return None


class _Handler(Handler):
    server: Served[FakeVercel, Deployment]

    def dispatch(self) -> None:
        body = self.read_body()
        if self.server.serves is None:
            self._api(body)
        else:
            self._site(self.server.serves)

    def _site(self, serves: Serves) -> None:
        """A deployment's files by path; ``/`` and ``dir/`` are their ``index.html``."""
        fake = self.server.fake
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        data, found = None, path
        with fake.lock:
            deployment = serves()
            if deployment is not None:
                fake.store.advance(deployment)
            for candidate in (path, (path.rstrip("/") + "/index.html").lstrip("/")):
                data = fake.store.content(deployment, candidate)
                if data is not None:
                    found = candidate
                    break
        if data is None:
            self.send(404, b"The page could not be found\n\nNOT_FOUND\n", "text/plain")
            return
        self.send(200, data, mimetypes.guess_type(found)[0] or "application/octet-stream")

    def _api(self, body: bytes) -> None:
        fake = self.server.fake
        split = urllib.parse.urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        call = Call(
            self.command,
            urllib.parse.unquote(split.path),
            dict(urllib.parse.parse_qsl(split.query)),
            body,
            headers,
        )
        status, payload, extra, fault = fake.answer(call)
        sent = {k: v for k, v in headers.items() if k.startswith("x-")}
        fake.faults.record(
            Logged(call.method, call.path, split.query, status, len(body), time.time(), sent, fault)
        )
        if status == 0:  # dropped: logged first, so a test sees it at once
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        out = b"" if payload is None else json.dumps(payload).encode()
        self.send(status, out, "application/json; charset=utf-8", {**fake.rate_headers(), **extra})
