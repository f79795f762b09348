"""What the API server does to an object on its way in: defaulting, validation, selectors.

Rules from kube-apiserver's apps/v1 and core/v1 defaulting (``SetDefaults_Deployment``,
``SetDefaults_PodSpec``, ``SetDefaults_Container``) and the deployment registry strategy.
Objects are plain JSON dicts (``Obj``), as they travel on the wire: the fake never needs a
typed model, and serving exactly what it stores keeps it honest about the schema.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
"""A Kubernetes object (or part of one) as decoded JSON."""

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Deployment annotations the controller never copies onto a ReplicaSet (deployment_util.go).
SKIP_COPY = frozenset(
    {
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        "deprecated.deployment.rollback.to",
    }
)


class Invalid(ValueError):
    """An object the real server would reject with 422 ``Invalid``; the message says why."""


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with seconds, as the API server writes ``metav1.Time``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# -- defaulting ----------------------------------------------------------------------------


def default_container(container: Obj) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    untagged = ":" not in tag and "@" not in tag
    container.setdefault(
        "imagePullPolicy", "Always" if untagged or tag.endswith(":latest") else "IfNotPresent"
    )
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def default_pod_spec(spec: Obj) -> None:
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or []:
            default_container(container)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")


def default_deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def default_replicaset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def default_pod(obj: Obj) -> None:
    default_pod_spec(obj.setdefault("spec", {}))


# -- validation ----------------------------------------------------------------------------


def validate_workload(obj: Obj) -> None:
    """A Deployment's or ReplicaSet's spec: selector present and matching, containers named."""
    kind, name = obj.get("kind", "object"), obj.get("metadata", {}).get("name", "")
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        raise Invalid(f'{kind} "{name}" is invalid: spec.selector: Required value')
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not Selector.from_label_selector(selector).matches(labels):
        raise Invalid(
            f'{kind} "{name}" is invalid: spec.template.metadata.labels: Invalid value: '
            f"{json.dumps(labels)}: `selector` does not match template `labels`"
        )
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise Invalid(f'{kind} "{name}" is invalid: spec.replicas: must be an integer >= 0')
    validate_pod_spec(kind, name, (spec.get("template") or {}).get("spec") or {}, "spec.template.")


def validate_pod_spec(kind: str, name: str, spec: Obj, prefix: str = "") -> None:
    containers = spec.get("containers") or []
    if not containers:
        raise Invalid(f'{kind} "{name}" is invalid: {prefix}spec.containers: Required value')
    for i, container in enumerate(containers):
        for field in ("name", "image"):
            if not container.get(field):
                raise Invalid(
                    f'{kind} "{name}" is invalid: {prefix}spec.containers[{i}].{field}: '
                    "Required value"
                )


# -- selectors -----------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9./_-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9._-]*)|\s+(?P<setop>in|notin)\s*"
    r"\((?P<values>[^)]*)\))?\s*$"
)


@dataclass(frozen=True)
class Selector:
    """A parsed label selector: ``(key, operator, values)`` requirements, all of which hold."""

    requirements: tuple[tuple[str, str, frozenset[str]], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Selector:
        """The query-string form (``app=web,tier!=db,env in (a,b),!legacy``)."""
        parts = [p for p in re.split(r",(?![^()]*\))", text) if p.strip()]
        requirements: list[tuple[str, str, frozenset[str]]] = []
        for part in parts:
            match = _REQUIREMENT.match(part)
            if match is None:
                raise Invalid(f"unable to parse requirement: {part!r}")
            key = match["key"]
            if match["neg"]:
                requirements.append((key, "DoesNotExist", frozenset()))
            elif match["op"]:
                op = "NotIn" if match["op"] == "!=" else "In"
                requirements.append((key, op, frozenset({match["value"]})))
            elif match["setop"]:
                values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
                requirements.append((key, "In" if match["setop"] == "in" else "NotIn", values))
            else:
                requirements.append((key, "Exists", frozenset()))
        return cls(tuple(requirements))

    @classmethod
    def from_label_selector(cls, selector: Obj) -> Selector:
        """A ``metav1.LabelSelector`` (``matchLabels`` and ``matchExpressions``)."""
        requirements = [
            (k, "In", frozenset({str(v)}))
            for k, v in sorted((selector.get("matchLabels") or {}).items())
        ]
        for expr in selector.get("matchExpressions") or []:
            values = frozenset(str(v) for v in expr.get("values") or [])
            requirements.append((str(expr["key"]), str(expr["operator"]), values))
        return cls(tuple(requirements))

    def matches(self, labels: dict[str, str]) -> bool:
        for key, op, values in self.requirements:
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True

    def __str__(self) -> str:
        """The query-string form, as ``kubectl`` and the server print a selector."""
        out = []
        for key, op, values in self.requirements:
            if op == "In" and len(values) == 1:
                out.append(f"{key}={next(iter(values))}")
            elif op in ("In", "NotIn"):
                out.append(f"{key} {op.lower()} ({','.join(sorted(values))})")
            else:
                out.append(key if op == "Exists" else f"!{key}")
        return ",".join(out)


def field_matches(selector: str, obj: Obj) -> bool:
    """``metadata.name=`` and ``metadata.namespace=`` field selectors (all kubectl sends)."""
    meta = obj.get("metadata") or {}
    for part in filter(None, selector.split(",")):
        key, _, value = part.partition("!=") if "!=" in part else part.partition("=")
        value = value.lstrip("=")
        actual = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}
        if key not in actual:
            raise Invalid(f'field label not supported: "{key}"')
        if ("!=" in part) == (actual[key] == value):
            return False
    return True


# -- pod templates -------------------------------------------------------------------------


def _pruned(value: Any) -> Any:
    """``value`` without nulls, empty maps, empty lists and empty strings, recursively."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def comparable_template(template: Obj) -> Obj:
    """A pod template as the controller compares it: defaulted, no hash label, pruned.

    kubectl's undo sends the ReplicaSet's fully defaulted template while a user's manifest
    is sparse: comparing with plain equality would create a new ReplicaSet where the real
    controller reuses the old one (notes §4.3).
    """
    out = copy.deepcopy(template)
    default_pod_spec(out.setdefault("spec", {}))
    labels = (out.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    pruned: Obj = _pruned(out)
    return pruned


def templates_equal(a: Obj, b: Obj) -> bool:
    return comparable_template(a) == comparable_template(b)


_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj, collisions: int = 0) -> str:
    """A stable name suffix for a template: sha256 of its canonical form, safe-encoded.

    The real controller's FNV hash of a Go spew dump cannot be reproduced (and need not
    be); what matters is that equal templates hash alike and the alphabet is the same.
    """
    canonical = json.dumps([comparable_template(template), collisions], sort_keys=True)
    number = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
    chars = []
    for _ in range(10):
        number, rest = divmod(number, len(_SAFE))
        chars.append(_SAFE[rest])
    return "".join(chars)


def int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: ``"25%"`` of ``total``, or an integer."""
    if isinstance(value, str) and value.endswith("%"):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    if isinstance(value, str):
        return int(value)
    return int(value or 0)


def fenceposts(deployment: Obj) -> tuple[int, int]:
    """``ResolveFenceposts``: (maxSurge, maxUnavailable); both 0 makes unavailable 1."""
    spec = deployment["spec"]
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    replicas = int(spec.get("replicas", 1))
    surge = int_or_percent(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(
        ref.get("controller") and ref.get("uid") == uid
        for ref in obj.get("metadata", {}).get("ownerReferences") or []
    )


def owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def revision_of(obj: Obj) -> int:
    """The ``deployment.kubernetes.io/revision`` annotation; missing or bad means 0."""
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION, "")
    try:
        return int(value)
    except ValueError:
        return 0
