"""kubectl's decisions, ported (rollout.py, health.py): table-driven, on API-shaped objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from wave_sdk_kubernetes import health, rollout
from wave_sdk_kubernetes.rollout import PausedDeployment

from wave_sdk.errors import ReleaseNotFound, RollbackUnavailable

UID = "0b4b5c1e-1111-4222-8333-444455556666"


def _template(image: str, *, hashed: str | None = None) -> dict[str, Any]:
    labels = {"app": "web", **({"pod-template-hash": hashed} if hashed else {})}
    return {
        "metadata": {"creationTimestamp": None, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                },
                {"name": "sidecar", "image": "side:1", "resources": {}},
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
        },
    }


def _deployment(image: str = "app:2", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "uid": UID,
            "generation": status.pop("generation", 2),
            "annotations": {
                "deployment.kubernetes.io/revision": "2",
                "kubernetes.io/change-cause": "deploy app:2",
                "team": "shop",
            },
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": _template(image),
            "paused": status.pop("paused", False),
        },
        "status": status,
    }


def _rs(name: str, image: str, revision: int, *, owner: str = UID, **notes: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": f"2026-12-01T00:00:0{revision}Z",
            "annotations": {
                "deployment.kubernetes.io/revision": str(revision),
                "deployment.kubernetes.io/desired-replicas": "3",
                "kubernetes.io/change-cause": f"deploy {image}",
                **notes,
            },
            "ownerReferences": [{"kind": "Deployment", "uid": owner, "controller": True}],
        },
        "spec": {"replicas": 0, "template": _template(image, hashed=name[-4:])},
    }


DONE = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (
            {"observedGeneration": 1},
            "waiting_observed",
            "Waiting for deployment spec update to be observed...",
        ),
        (
            {**DONE, "updatedReplicas": 1, "replicas": 4},
            "waiting_updated",
            'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have '
            "been updated...",
        ),
        (
            {**DONE, "replicas": 4},
            "waiting_old",
            'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
            "termination...",
        ),
        (
            {**DONE, "availableReplicas": 2},
            "waiting_available",
            'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
            "available...",
        ),
        (DONE, "done", 'deployment "web" successfully rolled out'),
        (
            {
                **DONE,
                "availableReplicas": 0,
                "conditions": [
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
                ],
            },
            "deadline_exceeded",
            'deployment "web" exceeded its progress deadline',
        ),
    ],
)
def test_rollout_status_as_kubectl(status: dict[str, Any], kind: str, message: str) -> None:
    state = rollout.rollout_state(_deployment(**status))
    assert (state.kind, state.message) == (kind, message)
    assert state.done == (kind == "done")
    assert state.failed == (kind == "deadline_exceeded")


def test_rollout_status_pinned_to_a_revision() -> None:
    state = rollout.rollout_state(_deployment("app:2", **DONE), pinned=3)
    assert state.kind == "revision_mismatch"
    assert state.message == "desired revision (3) is different from the running revision (2)"


def test_undo_to_previous_revision_as_kubectl() -> None:
    deployment = _deployment("app:bad")
    replicasets = [
        _rs("web-aaaa", "app:1", 1),
        _rs("web-bbbb", "app:2", 2),
        _rs("web-cccc", "app:bad", 3),
        _rs("web-dddd", "app:9", 9, owner="someone-else"),  # selected, not controlled
    ]
    target = rollout.rollback_target(deployment, replicasets)
    assert target["metadata"]["name"] == "web-bbbb"
    assert rollout.check_undo(deployment, target) is None
    patch = rollout.undo_patch(deployment, target)
    assert [op["path"] for op in patch] == ["/spec/template", "/metadata/annotations"]
    assert all(op["op"] == "replace" for op in patch)
    assert "pod-template-hash" not in patch[0]["value"]["metadata"]["labels"]
    assert patch[0]["value"]["spec"]["containers"][0]["image"] == "app:2"
    # The skipped keys keep the Deployment's values; the rest comes from the RS; "team"
    # (on the Deployment only) is dropped, as kubectl drops it.
    assert patch[1]["value"] == {
        "deployment.kubernetes.io/revision": "2",
        "kubernetes.io/change-cause": "deploy app:2",
    }
    assert "web-aaaa" not in str(patch)


def test_undo_to_a_named_revision_and_its_errors() -> None:
    deployment = _deployment("app:2")
    replicasets = [_rs("web-aaaa", "app:1", 1), _rs("web-bbbb", "app:2", 2)]
    assert rollout.rollback_target(deployment, replicasets, 1)["metadata"]["name"] == "web-aaaa"
    with pytest.raises(ReleaseNotFound, match="unable to find specified revision 7 in history"):
        rollout.rollback_target(deployment, replicasets, 7)
    with pytest.raises(RollbackUnavailable, match='no rollout history found for deployment "web"'):
        rollout.rollback_target(deployment, replicasets[1:])


def test_undo_already_there_and_paused() -> None:
    deployment = _deployment("app:2")
    current = _rs("web-bbbb", "app:2", 2)
    assert rollout.check_undo(deployment, current) == (
        "skipped rollback (current template already matches revision 2)"
    )
    with pytest.raises(PausedDeployment, match="paused"):
        rollout.check_undo(_deployment("app:2", paused=True), _rs("web-aaaa", "app:1", 1))


def test_templates_compare_semantically() -> None:
    one = _template("app:1", hashed="abcd")
    other = copy.deepcopy(_template("app:1"))
    del other["metadata"]["creationTimestamp"]  # null on one side, absent on the other
    del other["spec"]["securityContext"]  # {} on one side, absent on the other
    assert rollout.equal_ignore_hash(one, other)
    other["spec"]["containers"][0]["image"] = "app:2"
    assert not rollout.equal_ignore_hash(one, other)


def test_history_as_kubectl() -> None:
    deployment = _deployment("app:2")
    replicasets = [_rs("web-bbbb", "app:2", 4), _rs("web-aaaa", "app:1", 1)]
    entries = rollout.history(deployment, replicasets)
    assert [(e.revision, e.change_cause) for e in entries] == [
        (1, "deploy app:1"),
        (4, "deploy app:2"),
    ]
    assert entries[1].images == {"app": "app:2", "sidecar": "side:1"}


def _pod(ready: bool, *, waiting: str | None = None, restarts: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {
        "metadata": {
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-b", "controller": True}]
        },
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {"name": "app", "ready": ready, "restartCount": restarts, "state": state}
            ],
        },
    }


def test_pods_name_the_reasons() -> None:
    seen = health.pods_seen(
        [
            _pod(True),
            _pod(False, waiting="CrashLoopBackOff", restarts=4),
            _pod(False, waiting="ImagePullBackOff"),
            _pod(False),
        ]
    )
    assert seen.describe() == (
        "1/4 pods ready; 1 CrashLoopBackOff; 1 ImagePullBackOff; 1 running but not ready (app); "
        "4 restarts"
    )
    assert len(health.owned_by([_pod(True)], "web-b")) == 1
    assert health.owned_by([_pod(True)], "web-x") == []


def test_available_condition() -> None:
    deployment = _deployment(
        "app:2",
        **DONE,
        conditions=[
            {
                "type": "Available",
                "status": "False",
                "reason": "MinimumReplicasUnavailable",
                "message": "Deployment does not have minimum availability.",
            }
        ],
    )
    ok, why = health.available(deployment)
    assert not ok
    assert why == "MinimumReplicasUnavailable Deployment does not have minimum availability."
