"""The HTTP side: routing, discovery, JSON bodies and ``metav1.Status`` errors.

Watch requests are handed to :mod:`.watch`.

Built on the standard library's ``ThreadingHTTPServer`` rather than aiohttp (which the
client brings along): test hooks (``step()``, ``fail()``, reading objects) are plain
synchronous calls from the test's thread, every request is one thread that holds the store
lock only while it reads or writes, and a watch is a loop that waits on the store's
condition variable. An event loop would need every hook marshalled onto it for nothing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import partialmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from wave_sdk_kubernetes.fake import discovery, tables
from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.errors import ApiError, conflict
from wave_sdk_kubernetes.fake.faults import Fault, Request
from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.patches import PATCH_TYPES, apply_patch
from wave_sdk_kubernetes.fake.store import RESOURCES, Resource, Store
from wave_sdk_kubernetes.fake.watch import Stream, WatchRequest
from wave_sdk_kubernetes.fake.watch import serve as serve_watch

if TYPE_CHECKING:
    from wave_sdk_kubernetes.fake.cluster import FakeCluster


@dataclass(frozen=True)
class Route:
    resource: Resource
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool


class _Drop(Exception):
    """Close the connection without an answer (an injected dropped connection)."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cluster: FakeCluster, host: str, port: int) -> None:
        self.cluster = cluster
        super().__init__((host, port), Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record."""

    # -- plumbing ------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        cluster = self.server.cluster
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        route: Route | None = None
        try:
            route = _route(url.path, query)
        except ApiError:
            route = None
        watch = method == "GET" and route is not None and route.watch
        entry = cluster.requests.add(
            Request(method, url.path, url.query, content_type, body, watch=watch)
        )
        try:
            fault = cluster.faults.take(method, url.path, watch)
            if fault is not None:
                self._inject(fault, entry, watch)
                return
            if watch and route is not None:
                request = WatchRequest.parse(route.resource, route.namespace, route.name, query)
                serve_watch(cluster, request, Stream(self, entry))
                return
            dry = query.get("dryRun") == "All" and method != "GET"
            with cluster.store.dry_run() if dry else contextlib.nullcontext():
                code, answer = self._answer(method, url.path, query, route, content_type, body)
            if method == "GET" and tables.wants_table(self.headers.get("Accept") or ""):
                answer = self._as_table(answer, query)
            self._send_json(entry, code, answer)
        except ApiError as exc:
            self._send_error(entry, exc)
        except _Drop:
            self._drop(entry)
        except Exception as exc:  # a bug in the fake: say so as the server would, loudly
            traceback.print_exc()
            if entry.status == 0:
                self._send_error(entry, ApiError(500, f"fake API server bug: {exc!r}"))
        finally:
            entry.finished = entry.finished or time.monotonic()

    do_GET = partialmethod(_handle, "GET")
    do_POST = partialmethod(_handle, "POST")
    do_PUT = partialmethod(_handle, "PUT")
    do_PATCH = partialmethod(_handle, "PATCH")
    do_DELETE = partialmethod(_handle, "DELETE")

    def _as_table(self, answer: Obj, query: dict[str, str]) -> Obj:
        """A Table of a list or of one object (``kubectl get``), when the kind has a printer."""
        listed = answer.get("items")
        items = listed if isinstance(listed, list) else [answer]
        if not items or items[0].get("kind") not in tables.PRINTERS:
            return answer
        rv = str(answer.get("metadata", {}).get("resourceVersion", ""))
        now = self.server.cluster.clock.now()
        return tables.table(items, rv, now, query.get("includeObject", "Metadata"))

    def _inject(self, fault: Fault, entry: Request, watch: bool) -> None:
        if fault.status == 0:
            raise _Drop
        if fault.status == 410 and watch:
            stream = Stream(self, entry)
            stream.start()
            error = ApiError(410, fault.message or "too old resource version: injected")
            stream.send({"type": "ERROR", "object": error.status()})
            stream.end()
            return
        raise ApiError(
            fault.status,
            fault.message or f"injected failure ({fault.status})",
            retry_after=fault.retry_after,
        )

    def _send_json(
        self, entry: Request, code: int, answer: Obj, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(answer, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        entry.status, entry.sent = code, len(data)

    def _send_error(self, entry: Request, exc: ApiError) -> None:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        self._send_json(entry, exc.code, exc.status(), headers)

    def _drop(self, entry: Request) -> None:
        entry.status = 0
        Stream(self, entry).cut()

    # -- non-watch requests --------------------------------------------------------------

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        route: Route | None,
        content_type: str,
        raw: bytes,
    ) -> tuple[int, Obj]:
        static = self._static(path)
        if static is not None:
            if method != "GET":
                raise ApiError(405, f"the server does not allow this method on {path}")
            return 200, static
        if route is None:
            raise ApiError(404, "the server could not find the requested resource")
        store = self.server.cluster.store
        r, ns, name, sub = route.resource, route.namespace or "", route.name, route.subresource
        body = _decode(raw) if raw else None
        if method == "GET" and name is None:
            return 200, _list(store, route, query)
        if method == "POST" and name is None:
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be a JSON object")
            sent_ns = (body.get("metadata") or {}).get("namespace")
            if r.namespaced and sent_ns and sent_ns != ns:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request",
                )
            return 201, store.create(r.plural, ns, body)
        if name is None:
            raise ApiError(405, f"{method} is not supported on a collection")
        if method == "GET":
            obj = store.get(r.plural, ns, name)
            return 200, _scale(obj) if sub == "scale" else obj
        if method == "DELETE":
            gone = store.delete(r.plural, ns, name)
            details = {
                "name": name,
                "group": r.group,
                "kind": r.plural,
                "uid": gone["metadata"]["uid"],
            }
            return 200, {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        if method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "the request body must be a JSON object")
            return 200, self._write(r, ns, name, sub, lambda current: body)
        if method == "PATCH":
            if content_type not in PATCH_TYPES:
                raise ApiError(
                    415,
                    "the body of the request was in an unknown format - accepted media types "
                    f"include: {', '.join(PATCH_TYPES)}",
                )

            def patched(current: Obj) -> Obj:
                try:
                    return apply_patch(content_type, current, body)
                except o.Invalid as exc:
                    raise ApiError(422, str(exc)) from exc

            return 200, self._write(r, ns, name, sub, patched)
        raise ApiError(405, f"{method} is not supported")

    def _write(
        self, r: Resource, ns: str, name: str, sub: str | None, change: Callable[[Obj], Obj]
    ) -> Obj:
        """Read, change and write under the store lock (a PUT or a PATCH, of any subresource)."""
        store = self.server.cluster.store
        with store.lock:
            current = store.get(r.plural, ns, name)
            if sub == "scale":
                scale = change(_scale(current))
                sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
                if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                    raise conflict(r.group_resource, name)
                current["spec"]["replicas"] = int((scale.get("spec") or {}).get("replicas", 0))
                return _scale(store.update(r.plural, ns, name, current))
            return store.update(r.plural, ns, name, change(current), subresource=sub)

    def _static(self, path: str) -> Obj | None:
        path = path.rstrip("/") or "/"
        if path == "/version":
            return discovery.version()
        if path == "/api":
            return discovery.core_versions(f"127.0.0.1:{self.server.server_address[1]}")
        if path == "/apis":
            return discovery.groups()
        if path == "/openapi/v3":
            return discovery.openapi_root()
        if path.startswith("/openapi/v3/"):
            return discovery.openapi_group_version(path.removeprefix("/openapi/v3/"))
        parts = path.strip("/").split("/")
        if parts == ["api", "v1"]:
            return discovery.resources("v1")
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.group(parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resources(f"{parts[1]}/{parts[2]}")
        return None


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"the request body is not JSON: {exc}") from exc


def _route(path: str, query: dict[str, str]) -> Route | None:
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group_version, rest = "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    watch = query.get("watch") in ("true", "1")
    if rest[:1] == ["watch"]:
        watch, rest = True, rest[1:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    r = RESOURCES.get(rest[0])
    if r is None or r.api_version != group_version:
        return None
    if r.namespaced and namespace is None and len(rest) > 1:
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in r.subresources:
        return None
    return Route(r, namespace, name, sub, watch)


def _list(store: Store, route: Route, query: dict[str, str]) -> Obj:
    labels = o.Selector.parse(query["labelSelector"]) if query.get("labelSelector") else None
    try:
        items, rv = store.list(
            route.resource.plural, route.namespace, labels, query.get("fieldSelector", "")
        )
    except o.Invalid as exc:
        raise ApiError(400, str(exc)) from exc
    meta: Obj = {"resourceVersion": str(rv)}
    start = 0
    if query.get("continue"):
        try:
            token = json.loads(base64.urlsafe_b64decode(query["continue"]))
            start, rv_then = int(token["start"]), int(token["rv"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, "invalid continue token") from exc
        if rv_then < store.oldest:
            raise ApiError(
                410,
                "The provided continue parameter is too old to display a consistent list result.",
            )
    limit = int(query.get("limit") or 0)
    if limit and start + limit < len(items):
        token = json.dumps({"start": start + limit, "rv": rv}).encode()
        meta["continue"] = base64.urlsafe_b64encode(token).decode()
        meta["remainingItemCount"] = len(items) - start - limit
        items = items[start : start + limit]
    else:
        items = items[start:]
    r = route.resource
    return {"kind": f"{r.kind}List", "apiVersion": r.api_version, "metadata": meta, "items": items}


def _scale(obj: Obj) -> Obj:
    """The ``autoscaling/v1`` Scale view of a Deployment or ReplicaSet."""
    meta = obj["metadata"]
    selector = o.Selector.from_label_selector(obj["spec"]["selector"])
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": str(selector),
        },
    }
