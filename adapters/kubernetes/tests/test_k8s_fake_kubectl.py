"""Real kubectl (the pinned 1.37.1) against the fake: it must print and exit as on a cluster.

The oracle for the fake (notes §4.3): if kubectl's own logic — watch-list with the
initial-events bookmark, its undo's fully defaulted JSON patch, its history from the
ReplicaSets' annotations — gets the answers a real cluster gives, the fake's rules are
the real ones. kubectl's messages are those of its sources (notes §3).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import k8s_testkit as kit
import pytest
from wave_sdk_kubernetes.fake import FakeCluster

from wave_sdk.testing import missing

OLD_KUBECTL = Path(__file__).resolve().parents[3] / ".venv" / "kubectl-1.32" / "kubectl"
"""kubectl 1.32.3, from scripts/install-test-deps (scripts/old-kubectl.py)."""

pytestmark = pytest.mark.real("kubectl")

ROLLED_OUT = 'deployment "web" successfully rolled out'


def _create(fake: FakeCluster, **spec: object) -> None:
    fake.create("deployments", kit.deployment(change_cause="initial app:1", **spec))  # type: ignore[arg-type]
    fake.run_until(kit.rolled_out())


def _deploy(kubectl: kit.Kubectl, image: str) -> None:
    """A deploy as the runbook's kubectl does it: set image, then record the cause."""
    assert (
        kubectl.ok("set", "image", "deployment/web", f"app={image}")
        == "deployment.apps/web image updated\n"
    )
    kubectl.ok("annotate", "deployment/web", f"{kit.CHANGE_CAUSE}=deploy {image}", "--overwrite")


def _history_rows(kubectl: kit.Kubectl) -> list[list[str]]:
    out = kubectl.ok("rollout", "history", "deployment/web")
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].rstrip() == "deployment.apps/web"
    assert lines[1].split() == ["REVISION", "CHANGE-CAUSE"]
    return [line.split(None, 1) for line in lines[2:]]


def test_apply_then_rollout_status_waits_and_succeeds(
    fake: FakeCluster, kubectl: kit.Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "web.json"
    manifest.write_text(json.dumps(kit.deployment(change_cause="initial app:1")))
    assert kubectl.ok("apply", "-f", str(manifest)) == "deployment.apps/web created\n"
    stored = fake.get("deployments", "web")
    spec = stored["spec"]
    assert (spec["progressDeadlineSeconds"], spec["revisionHistoryLimit"]) == (600, 10)
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert stored["metadata"]["generation"] == 1 and "observedGeneration" not in stored["status"]

    done = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == ROLLED_OUT
    assert any(
        line.startswith('Waiting for deployment "web" rollout to finish: ') for line in lines[:-1]
    )
    # kubectl 1.37 watched with the streaming list: the fake ended the initial events with
    # the bookmark, or the command would have hung until its timeout.
    watches = [r for r in fake.requests.entries() if r.watch]
    assert any("sendInitialEvents=true" in r.query for r in watches)

    assert kubectl.ok("apply", "-f", str(manifest)) == "deployment.apps/web unchanged\n"
    assert fake.get("deployments", "web")["metadata"]["generation"] == 1


def test_set_image_patches_one_container_and_makes_a_revision(
    fake: FakeCluster, kubectl: kit.Kubectl
) -> None:
    _create(fake)
    before = fake.get("deployments", "web")
    kubectl.ok("set", "image", "deployment/web", "app=app:2")
    patch = [r for r in fake.requests.entries() if r.method == "PATCH"][-1]
    assert patch.content_type == "application/strategic-merge-patch+json"
    after = fake.get("deployments", "web")
    # Nothing stepped yet: the spec change is not observed.
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["status"]["observedGeneration"] == before["metadata"]["generation"]
    assert kit.images(after) == {"app": "app:2", "sidecar": "side:1"}

    fake.run_until(kit.rolled_out())
    new, old = kit.replicasets(fake)[-1], kit.replicasets(fake)[0]
    assert kit.images(new) == {"app": "app:2", "sidecar": "side:1"}
    assert (
        kit.revision(old),
        old["spec"]["replicas"],
        kit.revision(new),
        new["spec"]["replicas"],
    ) == (1, 0, 2, 3)
    pods = fake.objects("pods")
    assert len(pods) == 3 and all(
        p["metadata"]["labels"]["pod-template-hash"]
        == new["metadata"]["labels"]["pod-template-hash"]
        for p in pods
    )
    assert _history_rows(kubectl) == [["1", "initial app:1"], ["2", "initial app:1"]]


def test_rollout_status_reports_progress_deadline_exceeded(
    fake: FakeCluster, kubectl: kit.Kubectl
) -> None:
    _create(fake, progressDeadlineSeconds=120)
    fake.pod_behaviour("app:bad", "never-ready")
    _deploy(kubectl, "app:bad")
    fake.advance_per_step = 30  # the deadline passes after a few steps, on the fake's clock
    done = kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    assert done.returncode == 1
    assert done.stderr.strip() == 'error: deployment "web" exceeded its progress deadline'
    progressing = {c["type"]: c for c in fake.get("deployments", "web")["status"]["conditions"]}[
        "Progressing"
    ]
    new = kit.replicasets(fake)[-1]
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert (
        progressing["message"]
        == f'ReplicaSet "{new["metadata"]["name"]}" has timed out progressing.'
    )
    # The old pods still serve: maxUnavailable 25% of 3 rounds down to 0.
    assert kit.replicasets(fake)[0]["status"]["availableReplicas"] == 3


def test_undo_reuses_the_old_replicaset_and_advances_its_revision(
    fake: FakeCluster, kubectl: kit.Kubectl
) -> None:
    _create(fake, progressDeadlineSeconds=120)
    _deploy(kubectl, "app:2")
    assert kubectl("rollout", "status", "deployment/web", "--timeout=30s").returncode == 0
    good = kit.replicasets(fake)[-1]
    fake.pod_behaviour("app:bad", "never-ready")
    _deploy(kubectl, "app:bad")
    fake.advance_per_step = 30
    assert kubectl("rollout", "status", "deployment/web", "--timeout=60s").returncode == 1
    fake.advance_per_step = 0

    undo = kubectl("rollout", "undo", "deployment/web")
    assert (undo.returncode, undo.stdout) == (0, "deployment.apps/web rolled back\n")
    patch = [r for r in fake.requests.entries() if r.method == "PATCH"][-1]
    assert patch.content_type == "application/json-patch+json"
    assert [op["path"] for op in json.loads(patch.body)] == [
        "/spec/template",
        "/metadata/annotations",
    ]
    done = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, ROLLED_OUT)

    reused = next(
        rs for rs in kit.replicasets(fake) if rs["metadata"]["uid"] == good["metadata"]["uid"]
    )
    notes = reused["metadata"]["annotations"]
    assert (notes[kit.REVISION], notes["deployment.kubernetes.io/revision-history"]) == ("4", "2")
    assert reused["spec"]["replicas"] == 3 and len(kit.replicasets(fake)) == 3
    assert fake.get("deployments", "web")["metadata"]["annotations"][kit.REVISION] == "4"
    assert _history_rows(kubectl) == [
        ["1", "initial app:1"],
        ["3", "deploy app:bad"],
        ["4", "deploy app:2"],
    ]

    assert (
        kubectl.ok("rollout", "undo", "deployment/web", "--to-revision=1")
        == "deployment.apps/web rolled back\n"
    )
    assert kubectl("rollout", "status", "deployment/web", "--timeout=30s").returncode == 0
    first = kit.replicasets(fake)[-1]
    assert kit.images(first)["app"] == "app:1"
    assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert _history_rows(kubectl) == [
        ["3", "deploy app:bad"],
        ["4", "deploy app:2"],
        ["5", "initial app:1"],
    ]

    missing = kubectl("rollout", "undo", "deployment/web", "--to-revision=9")
    assert (missing.returncode, missing.stderr.splitlines()[-1]) == (
        1,
        "error: unable to find specified revision 9 in history",
    )
    same = kubectl("rollout", "undo", "deployment/web", "--to-revision=5")
    assert (same.returncode, same.stdout) == (
        0,
        "deployment.apps/web skipped rollback (current template already matches revision 5)\n",
    )


def test_undo_without_history_fails(fake: FakeCluster, kubectl: kit.Kubectl) -> None:
    _create(fake)
    done = kubectl("rollout", "undo", "deployment/web")
    assert done.returncode == 1
    assert done.stderr.strip() == 'error: no rollout history found for deployment "web"'


def test_undo_to_a_pruned_revision_fails(fake: FakeCluster, kubectl: kit.Kubectl) -> None:
    _create(fake, revisionHistoryLimit=2)
    for tag in ("2", "3", "4"):
        _deploy(kubectl, f"app:{tag}")
        fake.run_until(kit.rolled_out())
    fake.settle()
    assert sorted(kit.history(fake)) == [2, 3, 4]  # the new one and two old ones
    done = kubectl("rollout", "undo", "deployment/web", "--to-revision=1")
    assert (done.returncode, done.stderr.strip()) == (
        1,
        "error: unable to find specified revision 1 in history",
    )


def test_pause_holds_the_rollout_and_resume_releases_it(
    fake: FakeCluster, kubectl: kit.Kubectl
) -> None:
    _create(fake)
    _deploy(kubectl, "app:2")
    fake.run_until(kit.rolled_out())
    assert kubectl.ok("rollout", "pause", "deployment/web") == "deployment.apps/web paused\n"
    kubectl.ok("set", "image", "deployment/web", "app=app:3")
    fake.settle()
    d = fake.get("deployments", "web")
    progressing = {c["type"]: c for c in d["status"]["conditions"]}["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    assert sorted(kit.history(fake)) == [1, 2]
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    assert "updatedReplicas" not in d["status"]  # no ReplicaSet has the paused template
    undo = kubectl("rollout", "undo", "deployment/web")
    assert undo.returncode == 1
    assert (
        "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume"
        in undo.stderr
    )

    assert kubectl.ok("rollout", "resume", "deployment/web") == "deployment.apps/web resumed\n"
    assert "paused" not in fake.get("deployments", "web")["spec"]
    done = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, ROLLED_OUT)
    assert sorted(kit.history(fake)) == [1, 2, 3]


def test_get_prints_the_server_side_columns(fake: FakeCluster, kubectl: kit.Kubectl) -> None:
    fake.pod_behaviour("app:bad", "crashloop")
    _create(fake, replicas=1)
    kubectl.ok("set", "image", "deployment/web", "app=app:bad")
    fake.step(4)
    deployments = kubectl.ok("get", "deployments").splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1].split()[:4] == ["web", "1/1", "1", "1"]
    pods = {line.split()[0]: line.split() for line in kubectl.ok("get", "pods").splitlines()[1:]}
    bad = next(row for row in pods.values() if row[2] != "Running")
    assert bad[1:4] == ["1/2", "CrashLoopBackOff", "1"]
    wide = kubectl.ok("get", "replicasets", "-o", "wide").splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]


def test_an_older_kubectl_lists_then_watches(
    fake: FakeCluster, kubeconfig: Path, tmp_path: Path
) -> None:
    """Kubectl before 1.35 lists, then watches from the list's version (notes §3.1).

    A second oracle for that older wire path: kubectl 1.32.3, which scripts/install-test-deps
    puts in .venv/kubectl-1.32 (on x86_64), else a system kubectl older than 1.35. Without
    either the test skips on a laptop and fails under WAVE_REQUIRE_REAL=1.
    """
    candidates = [OLD_KUBECTL] if OLD_KUBECTL.is_file() else []
    system = shutil.which("kubectl", path="/usr/local/bin:/usr/bin:/bin")
    candidates += [Path(system)] if system else []
    home = tmp_path / "home132"
    home.mkdir()
    older = None
    for path in candidates:
        candidate = kit.Kubectl(str(path), kubeconfig, home)
        version = json.loads(candidate.ok("version", "--client", "-o", "json"))["clientVersion"]
        if int(version["minor"].rstrip("+")) < 35:
            older = candidate
            break
    if older is None:
        missing("a kubectl older than 1.35", "run scripts/install-test-deps (x86_64)")
    _create(fake)
    _deploy(older, "app:2")
    done = older("rollout", "status", "deployment/web", "--timeout=30s")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, ROLLED_OUT)
    gets = [
        r.query
        for r in fake.requests.entries()
        if r.method == "GET" and r.path.endswith("/deployments")
    ]
    assert any("fieldSelector=metadata.name%3Dweb" in q and "watch" not in q for q in gets)
    assert any(
        "watch=true" in q and "resourceVersion=" in q and "sendInitialEvents" not in q for q in gets
    )


def test_reapply_scale_restart_dry_run_and_delete(
    fake: FakeCluster, kubectl: kit.Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "web.json"
    manifest.write_text(json.dumps(kit.deployment(change_cause="initial app:1")))
    kubectl.ok("apply", "-f", str(manifest))
    fake.run_until(kit.rolled_out())
    # A re-apply without the sidecar: kubectl's three-way strategic merge patch
    # ($setElementOrder, `$patch: delete` on the list element) removes it.
    manifest.write_text(json.dumps(kit.deployment(images={"app": "app:3"}, replicas=2)))
    assert kubectl.ok("apply", "-f", str(manifest)) == "deployment.apps/web configured\n"
    d = fake.get("deployments", "web")
    assert (kit.images(d), d["spec"]["replicas"]) == ({"app": "app:3"}, 2)
    assert kit.CHANGE_CAUSE not in d["metadata"]["annotations"]  # dropped from the manifest
    fake.run_until(kit.rolled_out())  # or the restart's template would overtake this one

    assert kubectl.ok("scale", "deployment/web", "--replicas=4") == "deployment.apps/web scaled\n"
    assert kubectl.ok("rollout", "restart", "deployment/web") == "deployment.apps/web restarted\n"
    done = kubectl("rollout", "status", "deployment/web", "--timeout=30s")
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, ROLLED_OUT)
    assert len(fake.objects("pods")) == 4 and sorted(kit.history(fake)) == [1, 2, 3]

    before = fake.store.rv, fake.get("deployments", "web")
    dry = kubectl.ok("rollout", "undo", "deployment/web", "--dry-run=server")
    assert dry == "deployment.apps/web rolled back (server dry run)\n"
    assert (fake.store.rv, fake.get("deployments", "web")) == before

    assert (
        kubectl.ok("delete", "deployment/web")
        == 'deployment.apps "web" deleted from default namespace\n'
    )
    assert fake.objects("replicasets") == fake.objects("pods") == []
