"""The HTTP side: routing, JSON bodies, ``metav1.Status`` errors and chunked watch streams.

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
import select
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partialmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from wave_sdk_kubernetes.fake import discovery
from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.errors import ApiError, conflict, expired
from wave_sdk_kubernetes.fake.faults import Fault, Request
from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.patches import PATCH_TYPES, apply_patch
from wave_sdk_kubernetes.fake.store import RESOURCES, Resource, Store

if TYPE_CHECKING:
    from wave_sdk_kubernetes.fake.cluster import FakeCluster

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


@dataclass(eq=False)
class WatchSession:
    """An open watch stream; the cluster's hooks set these flags, the stream obeys them."""

    expire: bool = False
    drop: bool = False
    bookmark: bool = False
    done: threading.Event = field(default_factory=threading.Event)


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
                self._watch(route, query, entry)
                return
            code, answer = self._answer(method, url.path, query, route, content_type, body)
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

    def _inject(self, fault: Fault, entry: Request, watch: bool) -> None:
        if fault.status == 0:
            raise _Drop
        if fault.status == 410 and watch:
            self._start_stream(entry)
            error = ApiError(410, fault.message or "too old resource version: injected")
            self._chunk(entry, {"type": "ERROR", "object": error.status()})
            self._end_stream()
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
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

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

    # -- watch ---------------------------------------------------------------------------

    def _watch(self, route: Route, query: dict[str, str], entry: Request) -> None:
        cluster = self.server.cluster
        store = cluster.store
        labels = o.Selector.parse(query["labelSelector"]) if query.get("labelSelector") else None
        fields = query.get("fieldSelector", "")
        plural, ns = route.resource.plural, route.namespace
        timeout = float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        initial = query.get("sendInitialEvents") == "true"
        requested = query.get("resourceVersion", "")
        if route.name is not None:
            fields = ",".join(filter(None, [fields, f"metadata.name={route.name}"]))
        first: list[Obj] = []
        with store.lock:
            if initial or requested in ("", "0"):
                items, start = store.list(plural, ns, labels, fields)
                first = [{"type": "ADDED", "object": item} for item in items]
                if initial:
                    first.append(_bookmark(route.resource, start, end_of_initial=True))
            else:
                start = int(requested)
                if start < store.oldest:
                    first = [{"type": "ERROR", "object": expired(start, store.oldest).status()}]
        session = WatchSession()
        cluster.watch_opened(session)
        self._start_stream(entry)
        try:
            for event in first:
                self._chunk(entry, event)
            if first and first[-1]["type"] == "ERROR":
                self._end_stream()
                return
            deadline = time.monotonic() + timeout
            while True:
                events, start, ending = self._next(
                    session, plural, ns, labels, fields, start, bookmarks, deadline
                )
                for event in events:
                    self._chunk(entry, event)
                if ending == "drop":
                    raise _Drop
                if ending == "end":
                    self._end_stream()
                    return
                if ending == "gone":
                    return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except _Drop:
            self._drop(entry)
        finally:
            cluster.watch_closed(session)

    def _next(
        self,
        session: WatchSession,
        plural: str,
        ns: str | None,
        labels: o.Selector | None,
        fields: str,
        start: int,
        bookmarks: bool,
        deadline: float,
    ) -> tuple[list[Obj], int, str]:
        """Events to send now, the new position, and whether the stream ends (and how)."""
        store = self.server.cluster.store
        with store.lock:
            while True:
                out: list[Obj] = []
                if session.drop:
                    return out, start, "drop"
                if session.expire:
                    return (
                        [{"type": "ERROR", "object": expired(start, store.oldest).status()}],
                        start,
                        "end",
                    )
                try:
                    for event in store.events_after(start):
                        start = event.rv
                        if event.resource == plural and store.selected(
                            event.object, ns, labels, fields
                        ):
                            out.append({"type": event.type, "object": event.object})
                except ApiError as exc:
                    return [{"type": "ERROR", "object": exc.status()}], start, "end"
                if session.bookmark:
                    session.bookmark = False
                    if bookmarks:
                        out.append(_bookmark(RESOURCES[plural], store.rv))
                if out:
                    return out, start, ""
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return out, start, "end"
                if self._peer_closed():
                    return out, start, "gone"
                if not self.server.cluster.watch_idle():
                    store.lock.wait(min(remaining, 0.2))

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _start_stream(self, entry: Request) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        entry.status = 200

    def _chunk(self, entry: Request, event: Obj) -> None:
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
        entry.sent += len(data)

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _bookmark(r: Resource, rv: int, *, end_of_initial: bool = False) -> Obj:
    meta: Obj = {"resourceVersion": str(rv)}
    if end_of_initial:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return {
        "type": "BOOKMARK",
        "object": {"kind": r.kind, "apiVersion": r.api_version, "metadata": meta},
    }


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
