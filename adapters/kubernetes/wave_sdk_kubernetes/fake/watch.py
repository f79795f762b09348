"""Watch streams: newline-delimited JSON events over chunked HTTP, as the API server sends.

A watch from resourceVersion N replays every later event of its resource that passes its
selectors, then waits on the store for more. No version (or ``"0"``) starts with the
current objects as ``ADDED``; ``sendInitialEvents=true`` (kubectl ≥ 1.35's watch-list)
ends those with a ``BOOKMARK`` annotated ``k8s.io/initial-events-end`` — without it
``kubectl rollout status`` waits forever. A version older than the store's history gets
an ``ERROR`` event with 410 ``Expired`` inside the 200 stream, as the real server does.
The cluster's hooks act on open streams through their :class:`WatchSession` flags.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.errors import ApiError, expired
from wave_sdk_kubernetes.fake.faults import Request
from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.store import Resource

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
class WatchRequest:
    """What one watch asks for, parsed from its URL."""

    resource: Resource
    namespace: str | None
    labels: o.Selector | None
    fields: str
    requested: str
    initial: bool
    bookmarks: bool
    timeout: float

    @classmethod
    def parse(
        cls, resource: Resource, namespace: str | None, name: str | None, query: dict[str, str]
    ) -> WatchRequest:
        fields = query.get("fieldSelector", "")
        if name is not None:
            fields = ",".join(filter(None, [fields, f"metadata.name={name}"]))
        return cls(
            resource=resource,
            namespace=namespace,
            labels=o.Selector.parse(query["labelSelector"]) if query.get("labelSelector") else None,
            fields=fields,
            requested=query.get("resourceVersion", ""),
            initial=query.get("sendInitialEvents") == "true",
            bookmarks=query.get("allowWatchBookmarks") in ("true", "1"),
            timeout=float(query.get("timeoutSeconds") or 1800),
        )


class Stream:
    """The chunked response of one request, counted in its log entry."""

    def __init__(self, handler: BaseHTTPRequestHandler, entry: Request) -> None:
        self.handler = handler
        self.entry = entry

    def start(self) -> None:
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Transfer-Encoding", "chunked")
        self.handler.end_headers()
        self.entry.status = 200

    def send(self, event: Obj) -> None:
        data = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.handler.wfile.flush()
        self.entry.sent += len(data)

    def end(self) -> None:
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def peer_closed(self) -> bool:
        connection = self.handler.connection
        try:
            readable, _, _ = select.select([connection], [], [], 0)
            return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def cut(self) -> None:
        """Close the connection mid-stream, without the terminating chunk."""
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)


def serve(cluster: FakeCluster, watch: WatchRequest, stream: Stream) -> None:
    """Stream events until the timeout, a hook's 410 or drop, or the client going away."""
    store = cluster.store
    first: list[Obj] = []
    with store.lock:
        if watch.initial or watch.requested in ("", "0"):
            items, start = store.list(
                watch.resource.plural, watch.namespace, watch.labels, watch.fields
            )
            first = [{"type": "ADDED", "object": item} for item in items]
            if watch.initial:
                first.append(bookmark(watch.resource, start, end_of_initial=True))
        else:
            start = int(watch.requested)
            if start < store.oldest:
                first = [{"type": "ERROR", "object": expired(start, store.oldest).status()}]
    session = WatchSession()
    cluster.watch_opened(session)
    stream.start()
    try:
        for event in first:
            stream.send(event)
        if first and first[-1]["type"] == "ERROR":
            stream.end()
            return
        deadline = time.monotonic() + watch.timeout
        while True:
            events, start, ending = _next(cluster, session, watch, stream, start, deadline)
            for event in events:
                stream.send(event)
            if ending == "drop":
                stream.cut()
                return
            if ending == "end":
                stream.end()
                return
            if ending == "gone":
                return
    except (BrokenPipeError, ConnectionResetError):
        stream.handler.close_connection = True
    finally:
        cluster.watch_closed(session)


def _next(
    cluster: FakeCluster,
    session: WatchSession,
    watch: WatchRequest,
    stream: Stream,
    start: int,
    deadline: float,
) -> tuple[list[Obj], int, str]:
    """Events to send now, the new position, and whether the stream ends (and how)."""
    store = cluster.store
    plural = watch.resource.plural
    with store.lock:
        while True:
            out: list[Obj] = []
            if session.drop:
                return out, start, "drop"
            if session.expire:
                error = expired(start, store.oldest).status()
                return [{"type": "ERROR", "object": error}], start, "end"
            try:
                for event in store.events_after(start):
                    start = event.rv
                    if event.resource == plural and store.selected(
                        event.object, watch.namespace, watch.labels, watch.fields
                    ):
                        out.append({"type": event.type, "object": event.object})
            except ApiError as exc:
                return [{"type": "ERROR", "object": exc.status()}], start, "end"
            if session.bookmark:
                session.bookmark = False
                if watch.bookmarks:
                    out.append(bookmark(watch.resource, store.rv))
            if out:
                return out, start, ""
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out, start, "end"
            if stream.peer_closed():
                return out, start, "gone"
            if not cluster.watch_idle():
                store.lock.wait(min(remaining, 0.2))


def bookmark(r: Resource, rv: int, *, end_of_initial: bool = False) -> Obj:
    meta: Obj = {"resourceVersion": str(rv)}
    if end_of_initial:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return {
        "type": "BOOKMARK",
        "object": {"kind": r.kind, "apiVersion": r.api_version, "metadata": meta},
    }
