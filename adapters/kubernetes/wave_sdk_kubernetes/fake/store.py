"""The objects, their resourceVersions, and the event history that watches replay.

One global resourceVersion counter, as etcd's revision: every write that changes an object
takes the next number and appends an event. Writes that change nothing keep the object's
resourceVersion and emit no event (the real server's no-op update). The history is
bounded; a watch or list asking for a version older than the oldest kept gets 410 Gone.

The update rules are the registry strategies' (pkg/registry/apps/deployment/strategy.go):
the main resource ignores status, the ``/status`` subresource ignores spec and labels,
and a Deployment's generation moves only when its spec or annotations change.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.clock import Clock
from wave_sdk_kubernetes.fake.errors import ApiError, already_exists, conflict, expired, not_found
from wave_sdk_kubernetes.fake.objects import Obj


@dataclass(frozen=True)
class Resource:
    """One REST resource the fake serves (a row of ``/apis/<group>/<version>``)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ("status",)
    # Whether metadata.annotations count as a spec change for metadata.generation: true
    # for Deployments only (a relic of the annotation-driven rollback of extensions/v1beta1).
    annotations_bump_generation: bool = False
    default: Callable[[Obj], None] | None = None
    validate: Callable[[Obj], None] | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def generation(self) -> bool:
        return self.plural in ("deployments", "replicasets")


RESOURCES = {
    r.plural: r
    for r in (
        Resource("", "v1", "namespaces", "Namespace", False, ("ns",)),
        Resource("", "v1", "pods", "Pod", True, ("po",), default=o.default_pod),
        Resource(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            True,
            ("deploy",),
            ("status", "scale"),
            annotations_bump_generation=True,
            default=o.default_deployment,
            validate=o.validate_workload,
        ),
        Resource(
            "apps",
            "v1",
            "replicasets",
            "ReplicaSet",
            True,
            ("rs",),
            ("status", "scale"),
            default=o.default_replicaset,
            validate=o.validate_workload,
        ),
    )
}


@dataclass(frozen=True)
class Event:
    rv: int
    resource: str
    type: str  # ADDED, MODIFIED, DELETED
    object: Obj


class Store:
    """Thread-safe: every method takes :attr:`lock`, which watches wait on."""

    HISTORY = 100_000

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.Condition(threading.RLock())
        self.rv = 1
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {p: {} for p in RESOURCES}
        self.events: list[Event] = []
        self.oldest = 1  # events after this resourceVersion can be replayed
        self._uids = 0

    # -- reads ---------------------------------------------------------------------------

    def get(self, plural: str, namespace: str, name: str) -> Obj:
        with self.lock:
            found = self.objects[plural].get((namespace, name))
            if found is None:
                r = RESOURCES[plural]
                raise not_found(r.group_resource, name, r.kind, r.group)
            return copy.deepcopy(found)

    def list(
        self,
        plural: str,
        namespace: str | None,
        labels: o.Selector | None = None,
        fields: str = "",
    ) -> tuple[list[Obj], int]:
        """Matching objects (sorted by namespace and name) and the current resourceVersion."""
        with self.lock:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self.objects[plural].items())
                if self.selected(obj, namespace, labels, fields)
            ]
            return items, self.rv

    @staticmethod
    def selected(obj: Obj, namespace: str | None, labels: o.Selector | None, fields: str) -> bool:
        meta = obj.get("metadata") or {}
        if namespace is not None and meta.get("namespace") != namespace:
            return False
        if labels is not None and not labels.matches(meta.get("labels") or {}):
            return False
        return not fields or o.field_matches(fields, obj)

    def events_after(self, rv: int) -> Iterator[Event]:
        """Events with a resourceVersion above ``rv``; 410 if some were already forgotten."""
        with self.lock:
            if rv < self.oldest:
                raise expired(rv, self.oldest)
            lo, hi = 0, len(self.events)
            while lo < hi:
                mid = (lo + hi) // 2
                if self.events[mid].rv <= rv:
                    lo = mid + 1
                else:
                    hi = mid
            pending = self.events[lo:]
        yield from pending

    @contextlib.contextmanager
    def dry_run(self) -> Iterator[None]:
        """Writes inside are validated and answered as usual, then undone (``dryRun=All``).

        The lock is held throughout, so no watch or reader ever sees them.
        """
        with self.lock:
            saved = copy.deepcopy(self.objects), self.rv, len(self.events), self.oldest, self._uids
            try:
                yield
            finally:
                self.objects, self.rv, kept, self.oldest, self._uids = saved
                del self.events[kept:]

    def compact(self) -> None:
        """Forget all history: a watch or list from any earlier version gets 410."""
        with self.lock:
            self.events.clear()
            self.oldest = self.rv
            self.lock.notify_all()

    # -- writes --------------------------------------------------------------------------

    def create(self, plural: str, namespace: str, body: Obj) -> Obj:
        r = RESOURCES[plural]
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            raise ApiError(
                422, f"{r.kind}.{r.group or 'core'} is invalid: metadata.name: Required value"
            )
        obj["apiVersion"], obj["kind"] = r.api_version, r.kind
        if r.namespaced:
            meta["namespace"] = namespace
        for server_field in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
            meta.pop(server_field, None)
        obj.pop("status", None)
        if r.default is not None:
            r.default(obj)
        self._validate(r, obj)
        with self.lock:
            if r.namespaced and ("", namespace) not in self.objects["namespaces"]:
                raise not_found("namespaces", namespace, "Namespace", "")
            key = (namespace if r.namespaced else "", name)
            if key in self.objects[plural]:
                raise already_exists(r.group_resource, name)
            self._uids += 1
            meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wave-fake/{self._uids}/{name}"))
            meta["creationTimestamp"] = o.timestamp(self.clock.now())
            if r.generation:
                meta["generation"] = 1
            obj["status"] = {"phase": "Active"} if plural == "namespaces" else {}
            if plural == "pods":
                obj["status"] = {"phase": "Pending"}
            return self._commit(plural, key, obj, "ADDED")

    def update(
        self,
        plural: str,
        namespace: str,
        name: str,
        body: Obj,
        subresource: str | None = None,
    ) -> Obj:
        """A PUT: 409 if ``body`` names another resourceVersion than the stored one."""
        r = RESOURCES[plural]
        with self.lock:
            current = self.get(plural, namespace, name)
            sent_rv = (body.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise conflict(r.group_resource, name)
            new = copy.deepcopy(body)
            meta = new.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise ApiError(
                    400,
                    f"the name of the object ({meta['name']}) does not match the name on the URL "
                    f"({name})",
                )
            new["apiVersion"], new["kind"] = r.api_version, r.kind
            for key in ("uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp"):
                if key in current["metadata"]:
                    meta[key] = current["metadata"][key]
            meta["name"] = name
            if subresource == "status":
                new["spec"] = current.get("spec")
                if new["spec"] is None:
                    new.pop("spec")
                meta["labels"] = current["metadata"].get("labels")
                if meta["labels"] is None:
                    meta.pop("labels")
            else:
                new["status"] = current.get("status", {})
                if r.default is not None:
                    r.default(new)
                self._validate(r, new)
                if plural in ("deployments", "replicasets") and (
                    (new.get("spec") or {}).get("selector")
                    != (current.get("spec") or {}).get("selector")
                ):
                    raise ApiError(
                        422,
                        f'{r.kind}.{r.group} "{name}" is invalid: spec.selector: Invalid value: '
                        f"{new['spec'].get('selector')}: field is immutable",
                    )
                if r.generation and self._spec_changed(r, current, new):
                    meta["generation"] = current["metadata"].get("generation", 1) + 1
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            if new == current:
                return current
            return self._commit(plural, (namespace if r.namespaced else "", name), new, "MODIFIED")

    def delete(self, plural: str, namespace: str, name: str) -> Obj:
        """Delete the object, then (as the garbage collector) everything it owns.

        A namespace takes everything in it along, at once (no ``Terminating`` phase).
        """
        r = RESOURCES[plural]
        with self.lock:
            current = self.get(plural, namespace, name)
            key = (namespace if r.namespaced else "", name)
            del self.objects[plural][key]
            self.rv += 1
            current["metadata"]["resourceVersion"] = str(self.rv)
            self._record(Event(self.rv, plural, "DELETED", copy.deepcopy(current)))
            uid = current["metadata"]["uid"]
            for dependent in RESOURCES:
                for obj in list(self.objects[dependent].values()):
                    refs = obj["metadata"].get("ownerReferences") or []
                    inside = plural == "namespaces" and obj["metadata"].get("namespace") == name
                    if inside or any(ref.get("uid") == uid for ref in refs):
                        meta = obj["metadata"]
                        self.delete(dependent, meta.get("namespace", ""), meta["name"])
            return current

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _validate(r: Resource, obj: Obj) -> None:
        if r.validate is None:
            return
        try:
            r.validate(obj)
        except o.Invalid as exc:
            raise ApiError(422, str(exc)) from exc

    @staticmethod
    def _spec_changed(r: Resource, old: Obj, new: Obj) -> bool:
        if old.get("spec") != new.get("spec"):
            return True
        if not r.annotations_bump_generation:
            return False
        return bool(
            (old["metadata"].get("annotations") or {}) != (new["metadata"].get("annotations") or {})
        )

    def _commit(self, plural: str, key: tuple[str, str], obj: Obj, kind: str) -> Obj:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[plural][key] = obj
        self._record(Event(self.rv, plural, kind, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def _record(self, event: Event) -> None:
        self.events.append(event)
        if len(self.events) > self.HISTORY:
            dropped = self.events[: len(self.events) - self.HISTORY]
            del self.events[: len(dropped)]
            self.oldest = dropped[-1].rv
        self.lock.notify_all()
