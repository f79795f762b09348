"""Deploy, wait and roll back through the pipeline, judged by what the fake cluster runs.

Every assertion reads the fake's objects (the Deployment, its ReplicaSets and pods), what
its Service serves, or its request log — never the adapter's own report alone.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from k8s_adapter_kit import REPOSITORY, SIDECAR, Service, fake_cluster, served_images
from wave_sdk_kubernetes.adapter import KubernetesAdapter
from wave_sdk_kubernetes.fake import FakeCluster, Request

from wave_sdk import Release, Wave
from wave_sdk.config import parse_config
from wave_sdk.errors import AdapterError
from wave_sdk.reporting import ListReporter
from wave_sdk.testing.served import wait_until

ENV = "staging"
TARGET = "web"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    with fake_cluster(tmp_path) as (running, _):
        yield running


@pytest.fixture
def service(cluster: FakeCluster) -> Iterator[Service]:
    with Service(cluster) as running:
        yield running


def make_wave(tmp_path: Path, cluster: FakeCluster, url: str, **target: Any) -> Wave:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    config = parse_config(
        {
            "project": {"name": "shop"},
            "environments": {ENV: {"target": TARGET, "allow_lower_approvals": True}},
            "targets": {
                TARGET: {
                    "adapter": "kubernetes",
                    "kubeconfig": str(kubeconfig),
                    "deployment": "web",
                    "containers": {"app": REPOSITORY},
                    "url": url,
                    "timeout": 30,
                    **target,
                }
            },
            "health": {"interval": 0.05, "consecutive": 2, "retries": 3, "timeout": 2},
            "approvals": {action: {ENV: "L5"} for action in ("deploy", "rollback")},
        },
        file=project / "wave.toml",
    )
    return Wave(config, reporter=ListReporter(), deployer="k8s-test")


@pytest.fixture
def wave(tmp_path: Path, cluster: FakeCluster, service: Service) -> Wave:
    return make_wave(tmp_path, cluster, service.url)


def replicasets(cluster: FakeCluster) -> dict[str, dict[str, Any]]:
    """ReplicaSet name → its revision, revision-history, replicas and app image."""
    found = {}
    for rs in cluster.objects("replicasets"):
        notes = rs["metadata"].get("annotations") or {}
        [app] = [c for c in rs["spec"]["template"]["spec"]["containers"] if c["name"] == "app"]
        found[rs["metadata"]["name"]] = {
            "revision": int(notes.get("deployment.kubernetes.io/revision", 0)),
            "history": notes.get("deployment.kubernetes.io/revision-history"),
            "replicas": rs["spec"]["replicas"],
            "image": app["image"],
        }
    return found


def images(cluster: FakeCluster) -> dict[str, str]:
    web = cluster.get("deployments", "web")
    return {c["name"]: c["image"] for c in web["spec"]["template"]["spec"]["containers"]}


def writes(cluster: FakeCluster) -> list[Request]:
    return [r for r in cluster.requests.entries() if r.method != "GET"]


def messages(wave: Wave) -> list[str]:
    reporter = wave.reporter
    assert isinstance(reporter, ListReporter)
    return [e.message for e in reporter.events]


# -- deploy -----------------------------------------------------------------------------


def test_deploy_patches_the_image_once_keeps_the_sidecar_and_waits(
    wave: Wave, cluster: FakeCluster
) -> None:
    cluster.requests.clear()
    report = wave.deploy(ENV, release=Release(id="r2"))
    assert report.outcome == "succeeded"
    assert images(cluster) == {"app": f"{REPOSITORY}:r2", "sidecar": SIDECAR}
    assert served_images(cluster) == {f"{REPOSITORY}:r2"}
    [patch] = writes(cluster)
    assert patch.method == "PATCH" and patch.path.endswith("/deployments/web")
    assert patch.content_type == "application/strategic-merge-patch+json"
    assert json.loads(patch.body) == {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "wave deploy r2"}},
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "image": f"{REPOSITORY}:r2"}]}}
        },
    }
    web = cluster.get("deployments", "web")
    assert web["metadata"]["annotations"]["kubernetes.io/change-cause"] == "wave deploy r2"
    # Waited by watch, as kubectl: one watch at least, and kubectl's last line.
    assert any(r.watch for r in cluster.requests.entries())
    assert 'deployment "web" successfully rolled out' in messages(wave)
    history = {r["image"]: (r["revision"], r["replicas"]) for r in replicasets(cluster).values()}
    assert history == {f"{REPOSITORY}:r1": (1, 0), f"{REPOSITORY}:r2": (2, 3)}


def test_deploying_the_live_image_again_changes_nothing(wave: Wave, cluster: FakeCluster) -> None:
    before = (cluster.get("deployments", "web"), replicasets(cluster))
    cluster.requests.clear()
    report = wave.deploy(ENV, release=Release(id="r1"))
    assert report.outcome == "succeeded"
    assert writes(cluster) == []
    after = (cluster.get("deployments", "web"), replicasets(cluster))
    assert after[0]["metadata"]["resourceVersion"] == before[0]["metadata"]["resourceVersion"]
    assert after[1] == before[1]


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("crashloop", "CrashLoopBackOff"),
        ("never-ready", "running but not ready (app)"),
        ("image-pull-error", "ImagePullBackOff"),
    ],
)
def test_a_failed_rollout_names_the_pod_reason_and_is_rolled_back(
    wave: Wave, cluster: FakeCluster, behaviour: str, reason: str
) -> None:
    assert wave.deploy(ENV, release=Release(id="r2")).outcome == "succeeded"
    [r2_set] = [n for n, rs in replicasets(cluster).items() if rs["image"].endswith(":r2")]
    cluster.pod_behaviour(f"{REPOSITORY}:bad", behaviour)
    with pytest.raises(AdapterError) as info:
        wave.deploy(ENV, release=Release(id="bad"))
    text = str(info.value)
    assert "\n" not in text
    assert 'deployment "web" exceeded its progress deadline' in text
    assert reason in text
    assert "rolled back" in text
    # What the cluster runs: r2 again, on its own ReplicaSet, revision advanced as kubectl
    # does (r1=1, r2=2, bad=3 → r2 becomes 4, remembering it was 2).
    assert images(cluster)["app"] == f"{REPOSITORY}:r2"
    sets = replicasets(cluster)
    assert sets[r2_set] == {
        "revision": 4,
        "history": "2",
        "replicas": 3,
        "image": f"{REPOSITORY}:r2",
    }
    assert sorted(rs["revision"] for rs in sets.values()) == [1, 3, 4]
    assert [rs["replicas"] for rs in sets.values() if rs["image"].endswith(":bad")] == [0]
    assert served_images(cluster) == {f"{REPOSITORY}:r2"}
    # The rollback was verified and recorded.
    last = wave.history(ENV)[-1]
    assert (last.outcome, last.rolled_back_to) == ("rolled_back", "r2")
    [status] = wave.status(ENV)
    assert (status.current, status.state) == ("r2", "running")


# -- the watch --------------------------------------------------------------------------


def _deploy_direct(wave: Wave, release: str) -> KubernetesAdapter:
    with wave.open_target(TARGET, ENV) as adapter:
        assert isinstance(adapter, KubernetesAdapter)
        adapter.deploy(Release(id=release))
        return adapter


@pytest.mark.parametrize("fault", [410, 0], ids=["410-expired", "dropped-connection"])
def test_a_failing_first_watch_is_resumed(wave: Wave, cluster: FakeCluster, fault: int) -> None:
    """The first watch answers ERROR 410 (or its connection drops): read again, watch again."""
    cluster.fail("GET", "/deployments$", fault, watch=True, times=1 if fault else 4)
    cluster.requests.clear()
    adapter = _deploy_direct(wave, "r2")
    assert adapter.last_rollout is not None and adapter.last_rollout.resumed == 1
    log = cluster.requests.entries()
    failed = next(i for i, r in enumerate(log) if r.watch and r.status in (0, 200))
    # Then a fresh read of the Deployment (one GET, not a poll loop), and the right outcome.
    after = log[failed + 1 + (0 if fault else 3)]  # urllib3 itself retries a drop 3 times
    assert (after.method, after.watch) == ("GET", False)
    assert after.path.endswith("/deployments/web")
    assert served_images(cluster) == {f"{REPOSITORY}:r2"}
    assert images(cluster)["app"] == f"{REPOSITORY}:r2"


@pytest.mark.parametrize("cut", ["expire_watches", "drop_watches"])
def test_a_watch_cut_mid_rollout_is_resumed(tmp_path: Path, cut: str) -> None:
    """Mid-rollout, the open watch gets 410 Expired (history compacted) or is cut off."""
    with (
        fake_cluster(tmp_path, progressDeadlineSeconds=600) as (cluster, _),
        Service(cluster) as svc,
    ):
        wave = make_wave(tmp_path, cluster, svc.url)
        cluster.pod_behaviour(f"{REPOSITORY}:r2", "never-ready")  # held mid-rollout
        outcome: dict[str, Any] = {}

        def deploy() -> None:
            try:
                outcome["adapter"] = _deploy_direct(wave, "r2")
            except Exception as exc:  # reported by the assertion below
                outcome["error"] = exc

        worker = threading.Thread(target=deploy)
        worker.start()
        try:
            assert wait_until(cluster.open_watches, lambda n: n >= 1, timeout=10) >= 1
            watches = sum(r.watch for r in cluster.requests.entries())
            getattr(cluster, cut)()
            resumed = wait_until(
                lambda: sum(r.watch for r in cluster.requests.entries()),
                lambda n: n > watches,
                timeout=10,
            )
            assert resumed > watches, "no new watch after the cut"
            assert images(cluster)["app"] == f"{REPOSITORY}:r2"
            assert served_images(cluster) == {f"{REPOSITORY}:r1"}  # r2 pods not ready yet
        finally:
            cluster.pod_behaviour(f"{REPOSITORY}:r2", "ready")  # now they become ready
            worker.join(30)
        assert "error" not in outcome, outcome.get("error")
        adapter = outcome["adapter"]
        assert adapter.last_rollout.resumed >= 1
        assert served_images(cluster) == {f"{REPOSITORY}:r2"}


def test_a_deleted_deployment_ends_the_wait(wave: Wave, cluster: FakeCluster) -> None:
    cluster.pod_behaviour(f"{REPOSITORY}:slow", "never-ready")
    failed: list[Exception] = []

    def deploy() -> None:
        try:
            _deploy_direct(wave, "slow")
        except Exception as exc:  # asserted below
            failed.append(exc)

    worker = threading.Thread(target=deploy)
    worker.start()
    assert wait_until(cluster.open_watches, lambda n: n >= 1, timeout=10) >= 1
    cluster.store.delete("deployments", "default", "web")  # kubectl delete, meanwhile
    worker.join(30)
    assert [str(e) for e in failed] == ['deployment "web" was deleted during its rollout']


# -- retries ----------------------------------------------------------------------------


def test_429_waits_the_retry_after_the_server_asks(wave: Wave, cluster: FakeCluster) -> None:
    cluster.fail("PATCH", "/deployments/web$", 429, retry_after=2)
    cluster.requests.clear()
    _deploy_direct(wave, "r2")
    patches = [r for r in cluster.requests.entries() if r.method == "PATCH"]
    assert [p.status for p in patches] == [429, 200]
    assert patches[1].started - patches[0].started >= 2.0
    assert images(cluster)["app"] == f"{REPOSITORY}:r2"
    assert any("answered 429; trying again in 2.0s" in m for m in messages(wave))


def test_503_retry_after_and_409_on_a_fresh_read(wave: Wave, cluster: FakeCluster) -> None:
    cluster.fail("GET", "/deployments/web$", 503, retry_after=1, watch=False)
    cluster.fail("PATCH", "/deployments/web$", 409)
    cluster.requests.clear()
    _deploy_direct(wave, "r2")
    calls = [(r.method, r.status) for r in cluster.requests.entries() if r.path.endswith("/web")]
    # 503 → wait 1 s → read → 409 → read again (fresh) → patch.
    assert calls[:5] == [("GET", 503), ("GET", 200), ("PATCH", 409), ("GET", 200), ("PATCH", 200)]
    assert images(cluster)["app"] == f"{REPOSITORY}:r2"


@pytest.mark.parametrize(
    ("status", "retry_after", "words"),
    [
        (429, 5, r"kept throttling the requests to set the image .* \(429\)"),
        (409, None, r"conflicting writes kept happening until the deadline \(409\)"),
        (503, None, r"failed to set the image of deployment default/web \(503\)"),
    ],
)
def test_retries_end_at_the_deadline(
    tmp_path: Path,
    cluster: FakeCluster,
    service: Service,
    status: int,
    retry_after: int | None,
    words: str,
) -> None:
    wave = make_wave(tmp_path, cluster, service.url, timeout=1)
    cluster.fail("PATCH", "/deployments/web$", status, retry_after=retry_after, times=1000)
    started = time.monotonic()
    with pytest.raises(AdapterError, match=words):
        _deploy_direct(wave, "r2")
    assert time.monotonic() - started < 3  # the deadline (1 s), not the server's 5 s
    assert images(cluster)["app"] == f"{REPOSITORY}:r1"


# -- rollback ---------------------------------------------------------------------------


def test_rollback_is_kubectl_undo_on_the_wire(wave: Wave, cluster: FakeCluster) -> None:
    for release in ("r2", "r3"):
        wave.deploy(ENV, release=Release(id=release))
    cluster.requests.clear()
    [result] = wave.rollback(ENV, to="r1")
    assert (result.from_release, result.to_release) == ("r3", "r1")
    [patch] = writes(cluster)
    assert patch.content_type == "application/json-patch+json"
    ops = json.loads(patch.body)
    assert [(op["op"], op["path"]) for op in ops] == [
        ("replace", "/spec/template"),
        ("replace", "/metadata/annotations"),
    ]
    assert "pod-template-hash" not in ops[0]["value"]["metadata"]["labels"]
    assert ops[1]["value"]["kubernetes.io/change-cause"] == "kubectl apply r1"
    assert images(cluster) == {"app": f"{REPOSITORY}:r1", "sidecar": SIDECAR}
    assert served_images(cluster) == {f"{REPOSITORY}:r1"}
    revisions = {
        rs["image"].rpartition(":")[2]: rs["revision"] for rs in replicasets(cluster).values()
    }
    assert revisions == {"r1": 4, "r2": 2, "r3": 3}


def _adapter_rollback(wave: Wave, to: str | None = None) -> str:
    with wave.open_target(TARGET, ENV) as adapter:
        return adapter.rollback(to).message


def test_rollback_errors_as_kubectl(wave: Wave, cluster: FakeCluster) -> None:
    with pytest.raises(AdapterError, match='no rollout history found for deployment "web"'):
        _adapter_rollback(wave)
    wave.deploy(ENV, release=Release(id="r2"))
    cluster.requests.clear()
    assert _adapter_rollback(wave, "r2") == (
        "skipped rollback (current template already matches revision 2)"
    )
    assert writes(cluster) == []
    web = cluster.get("deployments", "web")
    web["spec"]["paused"] = True
    cluster.store.update("deployments", "default", "web", web)
    with pytest.raises(AdapterError, match="you cannot rollback a paused deployment"):
        _adapter_rollback(wave)
    with pytest.raises(AdapterError, match="is paused: its rollout would not start"):
        _deploy_direct(wave, "r3")
    assert writes(cluster) == []
    assert images(cluster)["app"] == f"{REPOSITORY}:r2"


def test_a_pruned_revision_is_not_found(tmp_path: Path) -> None:
    with fake_cluster(tmp_path, revisionHistoryLimit=1) as (cluster, _), Service(cluster) as svc:
        wave = make_wave(tmp_path, cluster, svc.url)
        for release in ("r2", "r3"):
            wave.deploy(ENV, release=Release(id=release))
        cluster.settle()
        with pytest.raises(AdapterError, match="release r1 is not in the rollout history"):
            _adapter_rollback(wave, "r1")
        assert images(cluster)["app"] == f"{REPOSITORY}:r3"
        with wave.open_target(TARGET, ENV) as adapter:
            assert adapter.releases() == ["r3", "r2"]
