"""The adapter agrees with real kubectl (pinned), scenario by scenario, on the same fake.

kubectl is the oracle: what `rollout status` and `rollout history` say about what the
adapter did, and what `rollout undo` does to a twin of the cluster the adapter rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import k8s_testkit as kit
import pytest
from k8s_adapter_kit import REPOSITORY, adapter, fake_cluster
from wave_sdk_kubernetes import rollout
from wave_sdk_kubernetes.errors import RolloutFailed
from wave_sdk_kubernetes.fake import FakeCluster

from wave_sdk.models import Release


class Side:
    """One fake cluster, the adapter on it and kubectl on it."""

    def __init__(self, cluster: FakeCluster, kubeconfig: Path, directory: Path) -> None:
        self.cluster = cluster
        home = directory / "home"
        home.mkdir(parents=True, exist_ok=True)
        self.kubectl = kit.Kubectl(kit.pinned_kubectl(), kubeconfig, home)
        self.adapter = adapter(directory, kubeconfig=str(kubeconfig))

    def deploy(self, release: str) -> str | None:
        """Deploy through the adapter; the failure's message, or ``None``."""
        try:
            self.adapter.deploy(Release(id=release))
        except RolloutFailed as exc:
            return exc.message
        return None

    def last_patch(self) -> Any:
        patch = [r for r in self.cluster.requests.entries() if r.method == "PATCH"][-1]
        return patch.content_type, json.loads(patch.body)

    def state(self) -> dict[str, Any]:
        """What the cluster runs, without names, uids and times."""
        web = self.cluster.get("deployments", "web")
        sets = {}
        for rs in self.cluster.objects("replicasets"):
            notes = rs["metadata"].get("annotations") or {}
            sets[rollout.images(rs)["app"]] = (
                notes.get(rollout.REVISION),
                notes.get(rollout.REVISION_HISTORY),
                notes.get(rollout.CHANGE_CAUSE),
                rs["spec"]["replicas"],
            )
        return {
            "images": rollout.images(web),
            "annotations": rollout.annotations_of(web),
            "replicasets": sets,
        }


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    """Two identical clusters at r1 → r2 → bad (never ready, rolled out no further)."""
    with ExitStack() as stack:
        sides = []
        for name in ("kubectl", "adapter"):
            directory = tmp_path / name
            directory.mkdir()
            cluster, kubeconfig = stack.enter_context(fake_cluster(directory))
            cluster.pod_behaviour(f"{REPOSITORY}:bad", "never-ready")
            side = Side(cluster, kubeconfig, directory)
            assert side.deploy("r2") is None
            sides.append(side)
        yield sides[0], sides[1]


def test_status_and_history_agree(twins: tuple[Side, Side]) -> None:
    _, side = twins
    done = side.kubectl("rollout", "status", "deployment/web", "--timeout=20s")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (
        0,
        'deployment "web" successfully rolled out',
    )
    failure = side.deploy("bad")
    done = side.kubectl("rollout", "status", "deployment/web", "--timeout=20s")
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {failure}".split(";")[0]

    rows = [
        line.split(None, 1)
        for line in side.kubectl.ok("rollout", "history", "deployment/web").splitlines()[2:]
        if line.strip()
    ]
    status = side.adapter.status()
    assert rows == [
        [str(entry["revision"]), entry["change_cause"]] for entry in status.details["history"]
    ]
    assert status.releases == ("bad", "r2", "r1")


@pytest.mark.parametrize(
    ("kubectl_args", "adapter_to"),
    [
        (["rollout", "undo", "deployment/web"], None),
        (["rollout", "undo", "deployment/web", "--to-revision=1"], "r1"),
    ],
    ids=["previous", "to-revision"],
)
def test_undo_agrees(
    twins: tuple[Side, Side], kubectl_args: list[str], adapter_to: str | None
) -> None:
    by_kubectl, by_adapter = twins
    for side in twins:
        side.deploy("bad")
    assert by_kubectl.kubectl.ok(*kubectl_args) == "deployment.apps/web rolled back\n"
    by_kubectl.kubectl.ok("rollout", "status", "deployment/web", "--timeout=30s")
    by_adapter.adapter.rollback(adapter_to)

    # The same kind of patch, the same operations, the same template (semantically: kubectl
    # serialises its Go structs with their nulls) and the same annotations.
    (kind, ops), (their_kind, theirs) = by_adapter.last_patch(), by_kubectl.last_patch()
    assert kind == their_kind == "application/json-patch+json"
    assert [(o["op"], o["path"]) for o in ops] == [(o["op"], o["path"]) for o in theirs]
    assert rollout.equal_ignore_hash(ops[0]["value"], theirs[0]["value"])
    assert ops[1]["value"] == theirs[1]["value"]
    # And the clusters end the same: template, annotations, every ReplicaSet's revision.
    assert by_adapter.state() == by_kubectl.state()
    history = by_kubectl.kubectl.ok("rollout", "history", "deployment/web")
    assert history == by_adapter.kubectl.ok("rollout", "history", "deployment/web")


def test_undo_errors_agree(tmp_path: Path) -> None:
    with fake_cluster(tmp_path) as (cluster, kubeconfig):
        side = Side(cluster, kubeconfig, tmp_path)
        done = side.kubectl("rollout", "undo", "deployment/web")
        with pytest.raises(Exception) as info:
            side.adapter.rollback()
        assert done.stderr.strip() == f"error: {info.value.message}"  # type: ignore[attr-defined]
        side.deploy("r2")
        done = side.kubectl("rollout", "undo", "deployment/web", "--to-revision=2")
        assert done.stdout.strip() == (
            "deployment.apps/web skipped rollback (current template already matches revision 2)"
        )
        assert side.adapter.rollback("r2").message == done.stdout.strip().split(" ", 1)[1]
