"""The ReplicaSet controller and the kubelet, simulated: pods per ReplicaSet, and how they fare.

A pod is created ``Pending`` and, one controller step later, takes the state its images'
behaviour says (matched by glob against each container's image, the first rule that
matches wins): ``ready`` (after ``ready_after`` steps, 1 by default), ``never-ready``
(running, readiness never passes), ``crashloop`` (waiting in ``CrashLoopBackOff``, one
restart more each step) or ``image-pull-error`` (``ErrImagePull``, then
``ImagePullBackOff``). The states carry the reasons and fields the real kubelet writes,
so health checks read what they would read on a cluster.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.store import Store

BEHAVIOURS = ("ready", "never-ready", "crashloop", "image-pull-error")


@dataclass(frozen=True)
class Behaviour:
    """How a container with a matching image behaves; ``ready_after`` counts steps."""

    kind: str = "ready"
    ready_after: int = 1

    def __post_init__(self) -> None:
        if self.kind not in BEHAVIOURS:
            raise ValueError(f"unknown pod behaviour {self.kind!r}; one of {', '.join(BEHAVIOURS)}")


class PodPolicy:
    """Image glob → behaviour, first match wins; unmatched images are ``ready``."""

    def __init__(self, default_ready_after: int = 1) -> None:
        self.rules: list[tuple[str, Behaviour]] = []
        self.default = Behaviour("ready", default_ready_after)

    def set(self, image_glob: str, behaviour: Behaviour | str) -> None:
        if isinstance(behaviour, str):
            behaviour = Behaviour(behaviour)
        self.rules.insert(0, (image_glob, behaviour))

    def for_image(self, image: str) -> Behaviour:
        for glob, behaviour in self.rules:
            if fnmatch.fnmatchcase(image, glob):
                return behaviour
        return self.default


class ReplicaSetController:
    """Keeps each ReplicaSet's pod count at its ``spec.replicas`` and writes its status."""

    def __init__(self, store: Store, policy: PodPolicy) -> None:
        self.store = store
        self.policy = policy
        self.ages: dict[str, int] = {}  # pod uid -> controller steps since creation
        self._serial = 0

    def step(self) -> None:
        for pod in self.store.list("pods", None)[0]:
            self._advance(pod)
        for rs in self.store.list("replicasets", None)[0]:
            self._reconcile(rs)

    # -- the kubelet ---------------------------------------------------------------------

    def _advance(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        age = self.ages[uid] = self.ages.get(uid, 0) + 1
        now = self.store.clock.now()
        status = copy.deepcopy(pod.get("status") or {})
        statuses = [
            self._container(pod, c, self.policy.for_image(c["image"]), age, now, status)
            for c in pod["spec"]["containers"]
        ]
        unready = [s["name"] for s in statuses if not s["ready"]]
        # The kubelet's getPhase: a container that never started (its image not pulled)
        # keeps the pod Pending; one restarting in a crash loop counts as running.
        never_started = any("waiting" in s["state"] and "lastState" not in s for s in statuses)
        status["phase"] = "Pending" if never_started else "Running"
        status["containerStatuses"] = statuses
        status.setdefault("startTime", o.timestamp(now))
        status["hostIP"] = status["podIP"] = "127.0.0.1"
        status["qosClass"] = "BestEffort"
        ready = "False" if unready else "True"
        why = (
            {
                "reason": "ContainersNotReady",
                "message": f"containers with unready status: [{' '.join(unready)}]",
            }
            if unready
            else {}
        )
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        for kind, value, extra in (
            ("PodScheduled", "True", {}),
            ("Initialized", "True", {}),
            ("ContainersReady", ready, why),
            ("Ready", ready, why),
        ):
            old = conditions.get(kind)
            since = (
                old["lastTransitionTime"] if old and old["status"] == value else o.timestamp(now)
            )
            conditions[kind] = {
                "type": kind,
                "status": value,
                "lastProbeTime": None,
                "lastTransitionTime": since,
                **extra,
            }
        status["conditions"] = list(conditions.values())
        pod["status"] = status
        meta = pod["metadata"]
        self.store.update("pods", meta["namespace"], meta["name"], pod, subresource="status")

    @staticmethod
    def _container(
        pod: Obj, container: Obj, behaviour: Behaviour, age: int, now: datetime, status: Obj
    ) -> Obj:
        name, image = container["name"], container["image"]
        previous: Obj = next(
            (s for s in status.get("containerStatuses") or [] if s["name"] == name), {}
        )
        started = previous.get("state", {}).get("running", {}).get("startedAt", o.timestamp(now))
        out: Obj = {
            "name": name,
            "image": image,
            "imageID": "",
            "restartCount": 0,
            "ready": False,
            "started": False,
        }
        if behaviour.kind == "image-pull-error":
            # ErrImagePull once, then ImagePullBackOff: the kubelet's sequence, and stable so
            # an idle step writes nothing.
            if age <= 1:
                waiting = {
                    "reason": "ErrImagePull",
                    "message": f'failed to pull and unpack image "{image}": not found',
                }
            else:
                waiting = {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{image}"',
                }
            out["state"] = {"waiting": waiting}
            return out
        out["imageID"] = (
            f"docker-pullable://{image}@sha256:" + hashlib.sha256(image.encode()).hexdigest()
        )
        out["containerID"] = (
            "containerd://"
            + hashlib.sha256(f"{pod['metadata']['uid']}/{name}".encode()).hexdigest()
        )
        if behaviour.kind == "crashloop":
            restarts, delay = _crash_restarts(pod, now)
            meta = pod["metadata"]
            out["restartCount"] = restarts
            out["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {delay}s restarting failed container={name} "
                    f"pod={meta['name']}_{meta['namespace']}({meta['uid']})",
                }
            }
            out["lastState"] = {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": meta["creationTimestamp"],
                    "finishedAt": meta["creationTimestamp"],
                }
            }
            return out
        out["state"] = {"running": {"startedAt": started}}
        out["started"] = True
        out["ready"] = behaviour.kind == "ready" and age >= behaviour.ready_after
        return out

    # -- the ReplicaSet controller -------------------------------------------------------

    def _reconcile(self, rs: Obj) -> None:
        meta = rs["metadata"]
        ns, name = meta["namespace"], meta["name"]
        pods = [p for p in self.store.list("pods", ns)[0] if o.is_controlled_by(p, rs)]
        want = int(rs["spec"].get("replicas", 1))
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pods.append(self._create_pod(rs))
        elif len(pods) > want:
            # Unready pods go first, then the youngest (controller.ActivePods ordering).
            pods.sort(
                key=lambda p: (
                    _is_ready(p),
                    p["metadata"]["creationTimestamp"],
                    p["metadata"]["name"],
                )
            )
            doomed = pods[: len(pods) - want]
            for pod in doomed:
                self.store.delete("pods", ns, pod["metadata"]["name"])
                self.ages.pop(pod["metadata"]["uid"], None)
            pods = pods[len(doomed) :]
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        now = self.store.clock.now()
        ready = [p for p in pods if _is_ready(p)]
        available = [p for p in ready if _ready_since(p) + timedelta(seconds=min_ready) <= now]
        status = {
            k: v
            for k, v in {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": len(ready),
                "availableReplicas": len(available),
                "observedGeneration": meta.get("generation", 1),
            }.items()
            if v
        }
        status["replicas"] = len(pods)
        if rs.get("status") != status:
            rs["status"] = status
            self.store.update("replicasets", ns, name, rs, subresource="status")

    def _create_pod(self, rs: Obj) -> Obj:
        self._serial += 1
        template = copy.deepcopy(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        suffix = hashlib.sha256(f"{rs['metadata']['uid']}/{self._serial}".encode()).digest()
        name = (
            rs["metadata"]["name"]
            + "-"
            + "".join("bcdfghjklmnpqrstvwxz2456789"[b % 27] for b in suffix[:5])
        )
        pod = {
            "metadata": {
                "name": name,
                "labels": meta.get("labels") or {},
                "annotations": meta.get("annotations") or {},
                "ownerReferences": [o.owner_reference(rs)],
            },
            "spec": {**template.get("spec", {}), "nodeName": "fake-node"},
        }
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        return self.store.create("pods", rs["metadata"]["namespace"], pod)


def _is_ready(pod: Obj) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _ready_since(pod: Obj) -> datetime:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c["type"] == "Ready":
            return o.parse_timestamp(c["lastTransitionTime"])
    return datetime.max.replace(tzinfo=UTC)


def _crash_restarts(pod: Obj, now: datetime) -> tuple[int, int]:
    """Restarts so far and the current back-off, on the kubelet's schedule.

    10 s doubling to 300 s from the pod's creation: a function of the clock, so a step
    that does not move the clock writes nothing.
    """
    elapsed = (now - o.parse_timestamp(pod["metadata"]["creationTimestamp"])).total_seconds()
    restarts, delay, spent = 1, 10, 0.0
    while spent + delay <= elapsed:
        spent += delay
        restarts += 1
        delay = min(delay * 2, 300)
    return restarts, delay
