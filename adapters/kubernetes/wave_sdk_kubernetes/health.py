"""The Deployment's health as a person needs it: is it Available, are its pods ready, and why not.

``kubectl rollout status`` counts replicas and never says why they are not available; a
failed verification must (``CrashLoopBackOff``, ``ImagePullBackOff``, ``ErrImagePull``,
restarts). Pure functions over API objects (dicts), like :mod:`wave_sdk_kubernetes.rollout`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from wave_sdk_kubernetes.rollout import Obj, condition

NAMED_REASONS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "OOMKilled",
    "Error",
)
"""Container states worth naming; any other ``waiting`` reason is named too, these first."""


@dataclass(frozen=True)
class PodsSeen:
    """The pods of one ReplicaSet (or Deployment) summed up."""

    total: int = 0
    ready: int = 0
    restarts: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    """Reason → number of pods with a container in that state (waiting or last terminated)."""

    def describe(self) -> str:
        """``2/3 pods ready; 1 CrashLoopBackOff; 4 restarts`` (only what is not nothing)."""
        parts = [f"{self.ready}/{self.total} pods ready"]
        ordered = sorted(
            self.reasons.items(),
            key=lambda item: (
                NAMED_REASONS.index(item[0]) if item[0] in NAMED_REASONS else len(NAMED_REASONS),
                item[0],
            ),
        )
        parts += [f"{count} {reason}" for reason, count in ordered]
        if self.restarts:
            parts.append(f"{self.restarts} restarts")
        return "; ".join(parts)


def _ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def pods_seen(pods: list[Obj]) -> PodsSeen:
    """Ready pods, restarts and the reasons their containers are not running."""
    reasons: Counter[str] = Counter()
    restarts = ready = 0
    for pod in pods:
        status: Obj = pod.get("status") or {}
        ready += _ready(pod)
        found: set[str] = set()
        unready: list[str] = []
        for container in [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]:
            restarts += int(container.get("restartCount") or 0)
            state: Obj = container.get("state") or {}
            if "running" in state and not container.get("ready"):
                unready.append(str(container.get("name")))
            waiting: Obj = state.get("waiting") or {}
            if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
                found.add(str(waiting["reason"]))
            terminated: Obj = state.get("terminated") or {}
            if terminated.get("reason") and terminated["reason"] != "Completed":
                found.add(str(terminated["reason"]))
        if unready and not found and not _ready(pod):  # running, its readiness probe failing
            found.add(f"running but not ready ({', '.join(unready)})")
        reasons.update(found)
    return PodsSeen(total=len(pods), ready=ready, restarts=restarts, reasons=reasons)


def available(deployment: Obj) -> tuple[bool, str]:
    """The ``Available`` condition: whether it is ``True``, and its reason/message."""
    cond = condition(deployment, "Available")
    if cond is None:
        return False, "no Available condition yet"
    words = " ".join(str(w) for w in (cond.get("reason"), cond.get("message")) if w)
    return cond.get("status") == "True", words or str(cond.get("status"))


def owned_by(pods: list[Obj], replicaset: str) -> list[Obj]:
    """The pods whose controller is the ReplicaSet named ``replicaset``."""
    return [
        pod
        for pod in pods
        if any(
            ref.get("controller")
            and ref.get("kind") == "ReplicaSet"
            and ref.get("name") == replicaset
            for ref in (pod.get("metadata") or {}).get("ownerReferences") or []
        )
    ]
