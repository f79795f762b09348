"""The Deployment controller, simulated step by step as pkg/controller/deployment does it.

A port of the parts a rollout client can observe: ``getNewReplicaSet`` (one ReplicaSet
per pod template, found by semantic template equality, revision = highest old + 1, a
reused ReplicaSet's old number appended to ``revision-history``), ``rolloutRolling`` and
``rolloutRecreate`` (maxSurge/maxUnavailable fenceposts, unhealthy old replicas first),
``calculateStatus``, ``syncRolloutStatus`` (Progressing: NewReplicaSetCreated →
ReplicaSetUpdated → NewReplicaSetAvailable, or ProgressDeadlineExceeded on the clock),
paused/resumed conditions and ``cleanupDeployment`` beyond ``revisionHistoryLimit``.
Proportional scaling of several active ReplicaSets is left out: one sync scales the new
ReplicaSet up or the old ones down, which is what a rollout sees.

Writes go through the store as the real controller's go through the API (ReplicaSet
updates, Deployment ``/status`` updates), so each one is an event a watch sees. Nothing
runs by itself: :meth:`DeploymentController.sync_all` is one pass, and the fake's
``step()`` calls it after the ReplicaSet controller's pass.
"""

from __future__ import annotations

import copy
from typing import Any

from wave_sdk_kubernetes.fake import objects as o
from wave_sdk_kubernetes.fake.errors import ApiError
from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.store import Store

PROGRESSING, AVAILABLE = "Progressing", "Available"


class DeploymentController:
    def __init__(self, store: Store) -> None:
        self.store = store

    def sync_all(self) -> None:
        for d in self.store.list("deployments", None)[0]:
            self.sync(d)

    # -- syncDeployment ------------------------------------------------------------------

    def sync(self, d: Obj) -> None:
        rs_list = self._owned(d)
        self._check_paused_conditions(d)
        if d["spec"].get("paused"):
            new, old = self._new_and_old(d, rs_list, create=False)
            self._scale_single(d, new, old)
            self._cleanup(old, d)
            self._write_status(d, self._calculate_status([*old, *_opt(new)], new, d))
        elif d["spec"]["strategy"].get("type") == "Recreate":
            self._rollout_recreate(d, rs_list)
        else:
            self._rollout_rolling(d, rs_list)

    def _owned(self, d: Obj) -> list[Obj]:
        ns = d["metadata"]["namespace"]
        selector = o.Selector.from_label_selector(d["spec"]["selector"])
        return [
            rs
            for rs in self.store.list("replicasets", ns, selector)[0]
            if o.is_controlled_by(rs, d)
        ]

    def _rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> None:
        new, old = self._new_and_old(d, rs_list, create=True)
        if new is None:
            return
        all_rs = [*old, new]
        if self._reconcile_new(all_rs, new, d):
            return self._sync_rollout_status(all_rs, new, d)
        if self._reconcile_old(all_rs, [rs for rs in old if _spec(rs) > 0], new, d):
            return self._sync_rollout_status(all_rs, new, d)
        if _complete(d, d.get("status") or {}):
            self._cleanup(old, d)
        self._sync_rollout_status(all_rs, new, d)

    def _rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> None:
        new, old = self._new_and_old(d, rs_list, create=False)
        scaled_down = False
        for rs in old:
            if _spec(rs) > 0:
                scaled_down |= self._scale(rs, 0, d)
        if scaled_down or any(_actual(rs) > 0 for rs in old):
            return self._sync_rollout_status([*old, *_opt(new)], new, d)
        if new is None:
            new, old = self._new_and_old(d, rs_list, create=True)
            if new is None:
                return None
        self._scale(new, int(d["spec"]["replicas"]), d)
        if _complete(d, d.get("status") or {}):
            self._cleanup(old, d)
        return self._sync_rollout_status([*old, new], new, d)

    # -- getAllReplicaSetsAndSyncRevision / getNewReplicaSet -----------------------------

    def _new_and_old(
        self, d: Obj, rs_list: list[Obj], *, create: bool
    ) -> tuple[Obj | None, list[Obj]]:
        existing = _find_new(d, rs_list)
        old = [
            rs
            for rs in rs_list
            if existing is None or rs["metadata"]["uid"] != existing["metadata"]["uid"]
        ]
        return self._new_replicaset(d, existing, old, create), old

    def _new_replicaset(
        self, d: Obj, existing: Obj | None, old: list[Obj], create: bool
    ) -> Obj | None:
        new_revision = str(max((o.revision_of(rs) for rs in old), default=0) + 1)
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = _set_new_rs_annotations(d, rs, new_revision, exists=True)
            min_ready = d["spec"].get("minReadySeconds", 0)
            if changed or rs["spec"].get("minReadySeconds", 0) != min_ready:
                _set_optional(rs["spec"], "minReadySeconds", min_ready)
                # As the real controller: the Deployment's revision follows on the next sync.
                return self._write("replicasets", rs)
            needs_update = _set_deployment_revision(d, rs["metadata"]["annotations"][o.REVISION])
            if _progress_deadline(d) and _condition(d.get("status") or {}, PROGRESSING) is None:
                _set_condition(
                    d["status"],
                    self._condition(
                        PROGRESSING,
                        "True",
                        "FoundNewReplicaSet",
                        f'Found new replica set "{rs["metadata"]["name"]}"',
                    ),
                )
                needs_update = True
            if needs_update:
                self._write_status(d, d["status"])
            return rs
        if not create:
            return None
        collisions = int((d.get("status") or {}).get("collisionCount", 0))
        suffix = o.template_hash(d["spec"]["template"], collisions)
        template = copy.deepcopy(d["spec"]["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[o.HASH_LABEL] = suffix
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[o.HASH_LABEL] = suffix
        rs = {
            "metadata": {
                "name": f"{d['metadata']['name']}-{suffix}",
                "labels": dict(template["metadata"]["labels"]),
                "ownerReferences": [o.owner_reference(d)],
                "annotations": {},
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        _set_optional(rs["spec"], "minReadySeconds", d["spec"].get("minReadySeconds", 0))
        rs["spec"]["replicas"] = _new_rs_replicas(d, old, None)
        _set_new_rs_annotations(d, rs, new_revision, exists=False)
        try:
            created = self.store.create("replicasets", d["metadata"]["namespace"], rs)
        except ApiError as exc:
            if exc.code != 409:
                raise
            # A hash collision with a ReplicaSet this Deployment does not own: as the real
            # controller, count it; the next sync names the ReplicaSet differently.
            d["status"]["collisionCount"] = collisions + 1
            self._write_status(d, d["status"])
            return None
        _set_deployment_revision(d, new_revision)
        if _progress_deadline(d):
            _set_condition(
                d["status"],
                self._condition(
                    PROGRESSING,
                    "True",
                    "NewReplicaSetCreated",
                    f'Created new replica set "{created["metadata"]["name"]}"',
                ),
            )
        self._write_status(d, d["status"])
        return created

    # -- rolling.go ----------------------------------------------------------------------

    def _reconcile_new(self, all_rs: list[Obj], new: Obj, d: Obj) -> bool:
        replicas = int(d["spec"]["replicas"])
        if _spec(new) == replicas:
            return False
        if _spec(new) > replicas:
            return self._scale(new, replicas, d)
        return self._scale(new, _new_rs_replicas(d, all_rs, new), d)

    def _reconcile_old(self, all_rs: list[Obj], old: list[Obj], new: Obj, d: Obj) -> bool:
        if sum(_spec(rs) for rs in old) == 0:
            return False
        min_available = int(d["spec"]["replicas"]) - _max_unavailable(d)
        new_unavailable = _spec(new) - _status(new, "availableReplicas")
        max_scaled_down = sum(_spec(rs) for rs in all_rs) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = 0
        for rs in sorted(old, key=_by_creation):
            if cleaned >= max_scaled_down:
                break
            unhealthy = _spec(rs) - _status(rs, "availableReplicas")
            if _spec(rs) == 0 or unhealthy <= 0:
                continue
            down = min(max_scaled_down - cleaned, unhealthy)
            self._scale(rs, _spec(rs) - down, d)
            cleaned += down
        available = sum(_status(rs, "availableReplicas") for rs in [*old, new])
        scaled = 0
        if available > min_available:
            total = available - min_available
            for rs in sorted(old, key=_by_creation):
                if scaled >= total:
                    break
                if _spec(rs) == 0:
                    continue
                down = min(_spec(rs), total - scaled)
                self._scale(rs, _spec(rs) - down, d)
                scaled += down
        return cleaned + scaled > 0

    def _scale_single(self, d: Obj, new: Obj | None, old: list[Obj]) -> None:
        """``scale`` for a paused Deployment, in its unambiguous cases only."""
        active = [rs for rs in [*_opt(new), *old] if _spec(rs) > 0]
        target = active[0] if len(active) == 1 else new if not active else None
        if target is not None:
            self._scale(target, int(d["spec"]["replicas"]), d)

    def _scale(self, rs: Obj, size: int, d: Obj) -> bool:
        """``scaleReplicaSet``: size and the desired/max-replicas annotations; True if resized."""
        resized = _spec(rs) != size
        replicas = int(d["spec"]["replicas"])
        notes = rs["metadata"].setdefault("annotations", {})
        wanted = {o.DESIRED_REPLICAS: str(replicas), o.MAX_REPLICAS: str(replicas + _max_surge(d))}
        if resized or any(notes.get(k) != v for k, v in wanted.items()):
            rs["spec"]["replicas"] = size
            notes.update(wanted)
            self._write("replicasets", rs)
        return resized

    def _cleanup(self, old: list[Obj], d: Obj) -> None:
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        alive = sorted(old, key=lambda rs: (o.revision_of(rs), *_by_creation(rs)))
        for rs in alive[: max(0, len(alive) - int(limit))]:
            status = rs.get("status") or {}
            if (
                status.get("replicas", 0)
                or _spec(rs)
                or rs["metadata"].get("generation", 1) > status.get("observedGeneration", 0)
            ):
                continue
            self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    # -- status and progress.go ----------------------------------------------------------

    def _calculate_status(self, all_rs: list[Obj], new: Obj | None, d: Obj) -> Obj:
        old_status = d.get("status") or {}
        available = sum(_status(rs, "availableReplicas") for rs in all_rs)
        values = {
            "observedGeneration": d["metadata"]["generation"],
            "replicas": sum(_actual(rs) for rs in all_rs),
            "updatedReplicas": _actual(new) if new is not None else 0,
            "readyReplicas": sum(_status(rs, "readyReplicas") for rs in all_rs),
            "availableReplicas": available,
            "unavailableReplicas": max(0, sum(_spec(rs) for rs in all_rs) - available),
            "collisionCount": old_status.get("collisionCount", 0),
        }
        status: Obj = {k: v for k, v in values.items() if v}
        status["conditions"] = copy.deepcopy(old_status.get("conditions") or [])
        if available >= int(d["spec"]["replicas"]) - _max_unavailable(d):
            cond = self._condition(
                AVAILABLE,
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            cond = self._condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        _set_condition(status, cond)
        return status

    def _sync_rollout_status(self, all_rs: list[Obj], new: Obj | None, d: Obj) -> None:
        status = self._calculate_status(all_rs, new, d)
        current = _condition(d.get("status") or {}, PROGRESSING)
        subject = (
            f'ReplicaSet "{new["metadata"]["name"]}"'
            if new is not None
            else f'Deployment "{d["metadata"]["name"]}"'
        )
        complete = (
            status.get("replicas", 0) == status.get("updatedReplicas", 0)
            and current is not None
            and current["reason"] == "NewReplicaSetAvailable"
        )
        if _progress_deadline(d) and not complete:
            if _complete(d, status):
                _set_condition(
                    status,
                    self._condition(
                        PROGRESSING,
                        "True",
                        "NewReplicaSetAvailable",
                        f"{subject} has successfully progressed.",
                    ),
                )
            elif _progressing(d, status):
                cond = self._condition(
                    PROGRESSING, "True", "ReplicaSetUpdated", f"{subject} is progressing."
                )
                if current is not None:
                    if current["status"] == "True":
                        cond["lastTransitionTime"] = current["lastTransitionTime"]
                    status["conditions"] = [
                        c for c in status["conditions"] if c["type"] != PROGRESSING
                    ]
                status["conditions"].append(cond)
            elif self._timed_out(d, status):
                _set_condition(
                    status,
                    self._condition(
                        PROGRESSING,
                        "False",
                        "ProgressDeadlineExceeded",
                        f"{subject} has timed out progressing.",
                    ),
                )
        self._write_status(d, status)

    def _timed_out(self, d: Obj, status: Obj) -> bool:
        cond = _condition(status, PROGRESSING)
        if cond is None or cond["reason"] == "NewReplicaSetAvailable":
            return False
        if cond["reason"] == "ProgressDeadlineExceeded":
            return True
        deadline = int(d["spec"]["progressDeadlineSeconds"])
        return (
            o.parse_timestamp(cond["lastUpdateTime"]).timestamp() + deadline
        ) < self.store.clock.now().timestamp()

    def _check_paused_conditions(self, d: Obj) -> None:
        if not _progress_deadline(d):
            return
        status = d.setdefault("status", {})
        cond = _condition(status, PROGRESSING)
        if cond is not None and cond["reason"] == "ProgressDeadlineExceeded":
            return
        paused_cond = cond is not None and cond["reason"] == "DeploymentPaused"
        if d["spec"].get("paused") and not paused_cond:
            _set_condition(
                status,
                self._condition(PROGRESSING, "Unknown", "DeploymentPaused", "Deployment is paused"),
            )
        elif not d["spec"].get("paused") and paused_cond:
            _set_condition(
                status,
                self._condition(
                    PROGRESSING, "Unknown", "DeploymentResumed", "Deployment is resumed"
                ),
            )
        else:
            return
        self._write_status(d, status)

    def _condition(self, kind: str, status: str, reason: str, message: str) -> Obj:
        now = o.timestamp(self.store.clock.now())
        return {
            "type": kind,
            "status": status,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    # -- writes --------------------------------------------------------------------------

    def _write(self, plural: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        written = self.store.update(plural, meta["namespace"], meta["name"], obj)
        obj.clear()
        obj.update(written)
        return obj

    def _write_status(self, d: Obj, status: Obj) -> None:
        """Update the Deployment's status (and revision annotation) in place, via /status."""
        d["status"] = status
        meta = d["metadata"]
        written = self.store.update(
            "deployments", meta["namespace"], meta["name"], d, subresource="status"
        )
        d.clear()
        d.update(written)


# -- deployment_util.go ----------------------------------------------------------------------


def _opt(rs: Obj | None) -> list[Obj]:
    return [] if rs is None else [rs]


def _spec(rs: Obj) -> int:
    return int(rs["spec"].get("replicas", 1))


def _status(rs: Obj, field: str) -> int:
    return int((rs.get("status") or {}).get(field, 0))


def _actual(rs: Obj) -> int:
    return _status(rs, "replicas")


def _by_creation(rs: Obj) -> tuple[str, str]:
    return rs["metadata"]["creationTimestamp"], rs["metadata"]["name"]


def _set_optional(mapping: Obj, key: str, value: Any) -> None:
    if value:
        mapping[key] = value
    else:
        mapping.pop(key, None)


def _find_new(d: Obj, rs_list: list[Obj]) -> Obj | None:
    """``FindNewReplicaSet``: the oldest ReplicaSet whose template equals the Deployment's."""
    for rs in sorted(rs_list, key=_by_creation):
        if o.templates_equal(rs["spec"]["template"], d["spec"]["template"]):
            return rs
    return None


def _max_surge(d: Obj) -> int:
    if d["spec"]["strategy"].get("type") != "RollingUpdate":
        return 0
    return o.fenceposts(d)[0]


def _max_unavailable(d: Obj) -> int:
    replicas = int(d["spec"]["replicas"])
    if d["spec"]["strategy"].get("type") != "RollingUpdate" or replicas == 0:
        return 0
    return min(o.fenceposts(d)[1], replicas)


def _new_rs_replicas(d: Obj, all_rs: list[Obj], new: Obj | None) -> int:
    """``NewRSNewReplicas``: how far the new ReplicaSet may grow now."""
    replicas = int(d["spec"]["replicas"])
    if d["spec"]["strategy"].get("type") != "RollingUpdate":
        return replicas
    current_new = _spec(new) if new is not None else 0
    current = sum(_spec(rs) for rs in all_rs)
    max_total = replicas + _max_surge(d)
    if current >= max_total:
        return current_new
    return current_new + min(max_total - current, replicas - current_new)


def _progress_deadline(d: Obj) -> bool:
    deadline = d["spec"].get("progressDeadlineSeconds")
    return deadline is not None and deadline != 2**31 - 1


def _complete(d: Obj, status: Obj) -> bool:
    replicas = int(d["spec"]["replicas"])
    return bool(
        status.get("updatedReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
        and status.get("availableReplicas", 0) == replicas
        and status.get("observedGeneration", 0) >= d["metadata"]["generation"]
    )


def _progressing(d: Obj, new: Obj) -> bool:
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return bool(
        new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
        or new_old < old_old
        or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
        or new.get("availableReplicas", 0) > old.get("availableReplicas", 0)
    )


def _condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), None)


def _set_condition(status: Obj, cond: Obj) -> None:
    """``SetDeploymentCondition``: same status and reason changes nothing."""
    current = _condition(status, cond["type"])
    if (
        current is not None
        and current["status"] == cond["status"]
        and current["reason"] == cond["reason"]
    ):
        return
    if current is not None and current["status"] == cond["status"]:
        cond["lastTransitionTime"] = current["lastTransitionTime"]
    status["conditions"] = [
        c for c in status.get("conditions") or [] if c["type"] != cond["type"]
    ] + [cond]


def _set_deployment_revision(d: Obj, revision: str) -> bool:
    notes = d["metadata"].setdefault("annotations", {})
    if notes.get(o.REVISION) == revision:
        return False
    notes[o.REVISION] = revision
    return True


def _set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, *, exists: bool) -> bool:
    """``SetNewReplicaSetAnnotations``: copy, advance the revision, keep the history."""
    notes = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in (d["metadata"].get("annotations") or {}).items():
        if key not in o.SKIP_COPY and notes.get(key) != value:
            notes[key] = value
            changed = True
    had = o.REVISION in notes
    old = o.revision_of(rs)
    if old < int(new_revision):
        notes[o.REVISION] = new_revision
        changed = True
        if had:
            history = notes.get(o.REVISION_HISTORY, "")
            notes[o.REVISION_HISTORY] = f"{history},{old}" if history else str(old)
    if not exists:
        replicas = int(d["spec"]["replicas"])
        notes[o.DESIRED_REPLICAS] = str(replicas)
        notes[o.MAX_REPLICAS] = str(replicas + _max_surge(d))
        changed = True
    return changed
