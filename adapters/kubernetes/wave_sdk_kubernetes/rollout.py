"""kubectl's rollout logic, ported step for step, as pure functions over API objects.

The objects are the API's JSON as dicts (camelCase keys), so every decision here is tested
without HTTP and reads like the Go it ports. The sources, in ``kubernetes/kubectl``:

* :func:`rollout_state` — ``pkg/polymorphichelpers/rollout_status.go``
  (``DeploymentStatusViewer.Status``): what ``kubectl rollout status`` prints and when it
  stops;
* :func:`controlled`, :func:`rollback_target`, :func:`undo_patch` —
  ``pkg/polymorphichelpers/rollback.go`` (``DeploymentRollbacker.Rollback``,
  ``deploymentRevision``, ``getDeploymentPatch``, ``annotationsToSkip``) and
  ``pkg/util/deployment/deployment.go`` (``GetAllReplicaSets``, ``Revision``,
  ``EqualIgnoreHash``): ``kubectl rollout undo [--to-revision=N]``;
* :func:`history` — ``pkg/polymorphichelpers/history.go``: ``kubectl rollout history``.

kubectl is written against typed Go structs; its only non-obvious step is the template
comparison, which must be *semantic* (:func:`equal_ignore_hash`): the pod-template-hash
label is ignored, and so are nulls and empty values that one serialisation writes and
another leaves out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from wave_sdk.errors import AdapterError, ReleaseNotFound, RollbackUnavailable

Obj = dict[str, Any]
"""An API object as the server sends it (``apiVersion``, ``kind``, ``metadata`` …)."""

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"

ANNOTATIONS_TO_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        REVISION_HISTORY,
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)
"""``annotationsToSkip`` of rollback.go: kept from the Deployment, never copied from the RS."""


class PausedDeployment(AdapterError):
    """``kubectl rollout undo`` refuses a paused Deployment, and so does wave."""


# -- rollout status ---------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutState:
    """One evaluation of ``kubectl rollout status``: a tagged result and kubectl's words.

    ``kind`` is one of ``waiting_observed``, ``waiting_updated``, ``waiting_old``,
    ``waiting_available``, ``done``, ``deadline_exceeded``, ``revision_mismatch`` — and
    wave's own ``overtaken`` (:mod:`wave_sdk_kubernetes.watching`).
    """

    kind: str
    message: str

    @property
    def done(self) -> bool:
        return self.kind == "done"

    @property
    def failed(self) -> bool:
        return self.kind in ("deadline_exceeded", "revision_mismatch", "overtaken")


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def annotations_of(obj: Obj) -> dict[str, str]:
    found: dict[str, str] = _meta(obj).get("annotations") or {}
    return found


def revision(obj: Obj) -> int:
    """``deploymentutil.Revision``: the revision annotation, 0 when absent or unreadable."""
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def condition(obj: Obj, kind: str) -> Obj | None:
    """The status condition of type ``kind`` (``Progressing``, ``Available``), if any."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            found: Obj = cond
            return found
    return None


def rollout_state(deployment: Obj, pinned: int = 0) -> RolloutState:
    """``DeploymentStatusViewer.Status(deployment, revision=pinned)``."""
    name = _meta(deployment).get("name", "")
    if pinned > 0:
        current = revision(deployment)
        if current != pinned:
            return RolloutState(
                "revision_mismatch",
                f"desired revision ({pinned}) is different from the running revision ({current})",
            )
    status: Obj = deployment.get("status") or {}
    spec: Obj = deployment.get("spec") or {}
    generation = int(_meta(deployment).get("generation") or 0)
    if generation <= int(status.get("observedGeneration") or 0):
        progressing = condition(deployment, "Progressing")
        if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
            return RolloutState(
                "deadline_exceeded", f'deployment "{name}" exceeded its progress deadline'
            )
        wanted = spec.get("replicas")
        updated = int(status.get("updatedReplicas") or 0)
        replicas = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        waiting = f'Waiting for deployment "{name}" rollout to finish: '
        if wanted is not None and updated < int(wanted):
            return RolloutState(
                "waiting_updated",
                f"{waiting}{updated} out of {wanted} new replicas have been updated...",
            )
        if replicas > updated:
            return RolloutState(
                "waiting_old",
                f"{waiting}{replicas - updated} old replicas are pending termination...",
            )
        if available < updated:
            return RolloutState(
                "waiting_available",
                f"{waiting}{available} of {updated} updated replicas are available...",
            )
        return RolloutState("done", f'deployment "{name}" successfully rolled out')
    return RolloutState("waiting_observed", "Waiting for deployment spec update to be observed...")


# -- the Deployment's ReplicaSets -------------------------------------------------------


def controlled(deployment: Obj, replicasets: list[Obj]) -> list[Obj]:
    """``metav1.IsControlledBy(rs, deployment)``: a ``controller: true`` owner with its UID.

    The list is the one the API gave for the Deployment's selector; what the selector
    catches but the Deployment does not control (another owner, an orphan) is left out.
    """
    uid = _meta(deployment).get("uid")
    return [
        rs
        for rs in replicasets
        if any(
            ref.get("controller") and ref.get("uid") == uid
            for ref in _meta(rs).get("ownerReferences") or []
        )
    ]


def _pruned(value: Any) -> Any:
    """``value`` without nulls, empty maps and empty lists, recursively."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def without_hash(template: Obj) -> Obj:
    """A copy of a pod template without the ``pod-template-hash`` label."""
    copied = copy.deepcopy(template)
    labels = (copied.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return copied


def equal_ignore_hash(one: Obj, other: Obj) -> bool:
    """``EqualIgnoreHash``, made semantic: see the module docstring."""
    return bool(_pruned(without_hash(one)) == _pruned(without_hash(other)))


def template(obj: Obj) -> Obj:
    found: Obj = (obj.get("spec") or {}).get("template") or {}
    return found


def images(obj: Obj) -> dict[str, str]:
    """Container name → image of a Deployment's or ReplicaSet's pod template."""
    spec: Obj = template(obj).get("spec") or {}
    return {c.get("name", ""): c.get("image", "") for c in spec.get("containers") or []}


# -- rollout history --------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """One line of ``kubectl rollout history``, with what wave needs besides."""

    revision: int
    replicaset: str
    change_cause: str | None
    images: dict[str, str]
    replicas: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "replicaset": self.replicaset,
            "change_cause": self.change_cause,
            "images": dict(self.images),
            "replicas": self.replicas,
        }


def history(deployment: Obj, replicasets: list[Obj]) -> list[Revision]:
    """``GetHistory``: the controlled ReplicaSets by revision, oldest first."""
    found = [
        Revision(
            revision=revision(rs),
            replicaset=_meta(rs).get("name", ""),
            change_cause=annotations_of(rs).get(CHANGE_CAUSE),
            images=images(rs),
            replicas=int((rs.get("spec") or {}).get("replicas") or 0),
        )
        for rs in controlled(deployment, replicasets)
    ]
    return sorted(found, key=lambda r: r.revision)


# -- rollout undo -----------------------------------------------------------------------


def rollback_target(deployment: Obj, replicasets: list[Obj], to_revision: int = 0) -> Obj:
    """``deploymentRevision``: the ReplicaSet to go back to.

    With ``to_revision`` 0 the one with the second-highest revision, else the one with
    that revision. Raises :class:`RollbackUnavailable` ("no rollout history found") or
    :class:`ReleaseNotFound` ("unable to find specified revision N in history").
    """
    name = _meta(deployment).get("name", "")
    latest: tuple[int, Obj | None] = (-1, None)
    previous: tuple[int, Obj | None] = (-1, None)
    for rs in controlled(deployment, replicasets):
        number = revision(rs)
        if to_revision == 0:
            if latest[0] < number:
                previous, latest = latest, (number, rs)
            elif previous[0] < number:
                previous = (number, rs)
        elif number == to_revision:
            return rs
    if to_revision > 0:
        raise ReleaseNotFound(
            f'unable to find specified revision {to_revision} in history of deployment "{name}"',
            hint="`wave status` lists the revisions kept (revisionHistoryLimit prunes the "
            "oldest); deploy the release again instead",
        )
    if previous[1] is None:
        raise RollbackUnavailable(
            f'no rollout history found for deployment "{name}"',
            hint="only one revision exists: deploy an earlier release by id instead "
            "(wave deploy --release ID)",
        )
    return previous[1]


def check_undo(deployment: Obj, target: Obj) -> str | None:
    """The rest of ``Rollback`` before the patch: paused is an error; "already there" skips.

    Returns kubectl's "skipped rollback" message when the Deployment's template already
    matches ``target``'s (nothing to send), else ``None``.
    """
    name = _meta(deployment).get("name", "")
    if (deployment.get("spec") or {}).get("paused"):
        raise PausedDeployment(
            f'you cannot rollback a paused deployment "{name}"; resume it first',
            hint=f"kubectl rollout resume deployment/{name}, then roll back again",
        )
    if equal_ignore_hash(template(target), template(deployment)):
        return f"skipped rollback (current template already matches revision {revision(target)})"
    return None


def undo_patch(deployment: Obj, target: Obj) -> list[Obj]:
    """``getDeploymentPatch``: one JSON patch replacing the template and the annotations.

    The annotations are the Deployment's values of the skipped keys plus every annotation
    of the ReplicaSet that is not skipped, so the change-cause comes back from the RS and
    any other Deployment annotation the RS lacks is dropped — exactly as kubectl does.
    """
    restored = {k: v for k, v in annotations_of(deployment).items() if k in ANNOTATIONS_TO_SKIP}
    restored.update(
        {k: v for k, v in annotations_of(target).items() if k not in ANNOTATIONS_TO_SKIP}
    )
    return [
        {"op": "replace", "path": "/spec/template", "value": without_hash(template(target))},
        {"op": "replace", "path": "/metadata/annotations", "value": restored},
    ]
