"""Server-side printing: the ``Table`` that ``kubectl get`` asks for, so a person sees columns.

kubectl ≥ 1.11 asks ``Accept: application/json;as=Table;…`` and, given plain objects,
prints only NAME and AGE. The columns are those of the real server's printers
(pkg/printers/internalversion/printers.go) for the kinds the fake serves; ``-o wide``
adds the priority-1 columns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.objects import Obj

Row = list[object]


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def human_age(seconds: float) -> str:
    """``duration.HumanDuration``, as the AGE column shows it."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    return f"{d}d{h % 24}h" if d < 8 and h % 24 else f"{d}d"


def _age(obj: Obj, now: datetime) -> str:
    created = obj["metadata"].get("creationTimestamp")
    return human_age((now - o.parse_timestamp(created)).total_seconds()) if created else "<unknown>"


def _template_columns(obj: Obj) -> Row:
    containers = obj["spec"]["template"]["spec"].get("containers") or []
    selector = o.Selector.from_label_selector(obj["spec"].get("selector") or {})
    return [
        ",".join(c["name"] for c in containers),
        ",".join(c["image"] for c in containers),
        str(selector),
    ]


def _deployment(obj: Obj, now: datetime) -> Row:
    s = obj.get("status") or {}
    ready = f"{s.get('readyReplicas', 0)}/{obj['spec'].get('replicas', 1)}"
    counts = [s.get("updatedReplicas", 0), s.get("availableReplicas", 0)]
    return [obj["metadata"]["name"], ready, *counts, _age(obj, now), *_template_columns(obj)]


def _replicaset(obj: Obj, now: datetime) -> Row:
    s = obj.get("status") or {}
    counts = [obj["spec"].get("replicas", 1), s.get("replicas", 0), s.get("readyReplicas", 0)]
    return [obj["metadata"]["name"], *counts, _age(obj, now), *_template_columns(obj)]


def _pod(obj: Obj, now: datetime) -> Row:
    s = obj.get("status") or {}
    statuses = s.get("containerStatuses") or []
    ready = f"{sum(bool(c.get('ready')) for c in statuses)}/{len(obj['spec']['containers'])}"
    reason = s.get("phase", "Pending")
    for c in statuses:
        waiting = (c.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    node = obj["spec"].get("nodeName", "<none>")
    return [
        obj["metadata"]["name"],
        ready,
        reason,
        restarts,
        _age(obj, now),
        s.get("podIP", "<none>"),
        node,
    ]


def _namespace(obj: Obj, now: datetime) -> Row:
    return [
        obj["metadata"]["name"],
        (obj.get("status") or {}).get("phase", "Active"),
        _age(obj, now),
    ]


_WIDE = [("Containers", "string"), ("Images", "string"), ("Selector", "string")]
# kind -> (columns as (name, type), how many are priority 0, the row printer)
PRINTERS: dict[str, tuple[list[tuple[str, str]], int, Callable[[Obj, datetime], Row]]] = {
    "Deployment": (
        [
            ("Name", "string"),
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
            ("Age", "string"),
            *_WIDE,
        ],
        5,
        _deployment,
    ),
    "ReplicaSet": (
        [
            ("Name", "string"),
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
            ("Age", "string"),
            *_WIDE,
        ],
        5,
        _replicaset,
    ),
    "Pod": (
        [
            ("Name", "string"),
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
            ("Age", "string"),
            ("IP", "string"),
            ("Node", "string"),
        ],
        5,
        _pod,
    ),
    "Namespace": ([("Name", "string"), ("Status", "string"), ("Age", "string")], 3, _namespace),
}


def table(items: list[Obj], resource_version: str, now: datetime, include_object: str) -> Obj:
    kind = items[0]["kind"] if items else ""
    columns, visible, printer = PRINTERS.get(
        kind, ([("Name", "string")], 1, lambda obj, _: [obj["metadata"]["name"]])
    )
    definitions = [
        {
            "name": name,
            "type": kind_,
            "format": "name" if name == "Name" else "",
            "description": "",
            "priority": 0 if i < visible else 1,
        }
        for i, (name, kind_) in enumerate(columns)
    ]
    rows = []
    for obj in items:
        if include_object == "Object":
            embedded: Obj = obj
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append({"cells": printer(obj, now), "object": embedded})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
