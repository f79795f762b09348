"""Opt-in: the kubectl and the adapter's scenarios on a real cluster, to check the fake.

Runs only with ``WAVE_K8S_INTEGRATION=1``, a kubeconfig (``$KUBECONFIG`` or
``~/.kube/config``) and a cluster whose ``/version`` answers within 5 s; otherwise every
test here is skipped with the reason. That skip is a plain ``pytest.skip``, not
:func:`wave_sdk.testing.missing`, on purpose: a cluster is never part of this project's
set-up, so ``WAVE_REQUIRE_REAL=1`` (CI) must not turn its absence into a failure.

Everything happens in a namespace of its own (``wave-it-<random>``), deleted at the end;
no other namespace is touched. With ``WAVE_K8S_NAMESPACE=<name>`` (an account that may
not create namespaces) the tests use that one instead and delete only the Deployments they
created. Images come from the environment (the cluster pulls them):
``WAVE_K8S_IMAGE_GOOD``, ``WAVE_K8S_IMAGE_GOOD2`` and ``WAVE_K8S_IMAGE_BAD`` (a tag that
does not exist: ErrImagePull, then ProgressDeadlineExceeded), all of one repository, since
the adapter deploys a release as a tag of its configured repository.

The suite can be tried without a cluster against the fake as a program, which checks the
suite itself (not the fake)::

    python -m wave_sdk_kubernetes.fake --kubeconfig /tmp/kc \
        --pod-behaviour '*:wave-does-not-exist=image-pull-error' &
    WAVE_K8S_INTEGRATION=1 KUBECONFIG=/tmp/kc WAVE_K8S_NAMESPACE=default \
        pytest adapters/kubernetes/tests/test_k8s_integration.py

Left to do once a cluster is at hand: record the Deployment and ReplicaSet objects after
each step (uid, timestamps and resourceVersions removed) so the fake's objects can be
compared with them by shape.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import k8s_testkit as kit
import pytest
from k8s_adapter_kit import adapter
from wave_sdk_kubernetes.errors import RolloutFailed

from wave_sdk.models import Release

pytestmark = pytest.mark.k8s_integration

GOOD = os.environ.get("WAVE_K8S_IMAGE_GOOD", "registry.k8s.io/pause:3.10")
GOOD2 = os.environ.get("WAVE_K8S_IMAGE_GOOD2", "registry.k8s.io/pause:3.9")
BAD = os.environ.get("WAVE_K8S_IMAGE_BAD", "registry.k8s.io/pause:wave-does-not-exist")


def _kubeconfig() -> Path:
    if os.environ.get("WAVE_K8S_INTEGRATION") != "1":
        pytest.skip(
            "real-cluster tests are opt-in: set WAVE_K8S_INTEGRATION=1 and give a kubeconfig"
        )
    path = Path(
        os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or Path.home() / ".kube" / "config"
    )
    if not path.is_file():
        pytest.skip(f"WAVE_K8S_INTEGRATION=1 but no kubeconfig at {path} (set KUBECONFIG)")
    return path


@pytest.fixture(scope="module")
def cluster_kubectl() -> kit.Kubectl:
    path = _kubeconfig()
    kubectl = kit.Kubectl(kit.pinned_kubectl(), path, Path.home(), inherit_env=True)
    try:
        probe = kubectl("version", "-o", "json", "--request-timeout=5s", timeout=10)
    except OSError as exc:
        pytest.skip(f"kubectl cannot run: {exc}")
    if probe.returncode != 0 or "serverVersion" not in probe.stdout:
        pytest.skip(
            f"the cluster of {path} does not answer /version within 5s: {probe.stderr.strip()}"
        )
    return kubectl


@pytest.fixture(scope="module")
def namespace(cluster_kubectl: kit.Kubectl) -> Iterator[str]:
    given = os.environ.get("WAVE_K8S_NAMESPACE")
    if given:
        yield given
        return
    name = f"wave-it-{uuid.uuid4().hex[:8]}"
    cluster_kubectl.ok("create", "namespace", name)
    try:
        yield name
    finally:
        cluster_kubectl("delete", "namespace", name, "--wait=true", "--timeout=120s", timeout=150)


@pytest.fixture
def created(cluster_kubectl: kit.Kubectl, namespace: str) -> Iterator[list[str]]:
    """Names of the Deployments a test creates; deleted after it (a given namespace stays)."""
    names: list[str] = []
    yield names
    for name in names:
        cluster_kubectl("delete", "deployment", name, "-n", namespace, "--ignore-not-found")


def _rolled_out(k: kit.Kubectl, name: str, namespace: str) -> None:
    done = k(
        "rollout", "status", f"deployment/{name}", "--timeout=120s", "-n", namespace, timeout=150
    )
    assert done.returncode == 0, done.stderr


def test_the_kubectl_scenarios_on_a_real_cluster(
    cluster_kubectl: kit.Kubectl, namespace: str, created: list[str], tmp_path: Path
) -> None:
    k = cluster_kubectl
    created.append("web")
    n = ("-n", namespace)
    manifest = tmp_path / "web.json"
    manifest.write_text(
        json.dumps(
            kit.deployment(
                images={"app": GOOD}, replicas=2, change_cause="initial", progressDeadlineSeconds=45
            )
        )
    )
    assert k.ok("apply", "-f", str(manifest), *n) == "deployment.apps/web created\n"
    assert (
        k.ok("rollout", "status", "deployment/web", "--timeout=120s", *n, timeout=150).splitlines()[
            -1
        ]
        == 'deployment "web" successfully rolled out'
    )

    for image, cause in ((GOOD2, "good2"), (BAD, "bad")):
        k.ok("set", "image", "deployment/web", f"app={image}", *n)
        k.ok("annotate", "deployment/web", f"{kit.CHANGE_CAUSE}={cause}", "--overwrite", *n)
        done = k("rollout", "status", "deployment/web", "--timeout=120s", *n, timeout=150)
        if cause == "good2":
            assert done.returncode == 0, done.stderr
    assert (done.returncode, done.stderr.strip()) == (
        1,
        'error: deployment "web" exceeded its progress deadline',
    )

    assert k.ok("rollout", "undo", "deployment/web", *n) == "deployment.apps/web rolled back\n"
    assert (
        k("rollout", "status", "deployment/web", "--timeout=120s", *n, timeout=150).returncode == 0
    )
    rows = [
        line.split(None, 1)
        for line in k.ok("rollout", "history", "deployment/web", *n).splitlines()[2:]
        if line.strip()
    ]
    assert rows == [["1", "initial"], ["3", "bad"], ["4", "good2"]]
    replicasets = json.loads(k.ok("get", "replicasets", "-o", "json", *n))["items"]
    reused = next(
        rs for rs in replicasets if rs["metadata"]["annotations"].get(kit.REVISION) == "4"
    )
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "2"

    assert (
        k.ok("rollout", "undo", "deployment/web", "--to-revision=1", *n)
        == "deployment.apps/web rolled back\n"
    )
    assert (
        k("rollout", "status", "deployment/web", "--timeout=120s", *n, timeout=150).returncode == 0
    )
    same = k("rollout", "undo", "deployment/web", "--to-revision=5", *n)
    assert (
        same.stdout
        == "deployment.apps/web skipped rollback (current template already matches revision 5)\n"
    )


def _tag(image: str) -> tuple[str, str]:
    """``registry:5000/team/app:1.2`` → (``registry:5000/team/app``, ``1.2``)."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        pytest.skip(f"{image!r} has no tag; the adapter deploys a release as a tag")
    return repository, tag


def test_the_adapters_scenarios_on_a_real_cluster(
    cluster_kubectl: kit.Kubectl, namespace: str, created: list[str], tmp_path: Path
) -> None:
    """Deploy, a no-op redeploy, a bad image that fails, undo and a named undo, by the adapter.

    What kubectl reads back from the cluster is the judge, as in the fake's tests.
    """
    k, n, name = cluster_kubectl, ("-n", namespace), "wave-api"
    (repository, good), (other, good2), (third, bad) = map(_tag, (GOOD, GOOD2, BAD))
    if not repository == other == third:
        pytest.skip("the adapter's scenarios need GOOD, GOOD2 and BAD in one repository")
    created.append(name)
    manifest = tmp_path / "api.json"
    manifest.write_text(
        json.dumps(
            kit.deployment(
                name,
                images={"app": GOOD},
                replicas=2,
                change_cause=f"initial {good}",
                progressDeadlineSeconds=45,
            )
        )
    )
    k.ok("apply", "-f", str(manifest), *n)
    _rolled_out(k, name, namespace)
    subject = adapter(
        tmp_path,
        kubeconfig=str(k.kubeconfig),
        namespace=namespace,
        deployment=name,
        containers={"app": repository},
        timeout=180,
    )

    def live() -> tuple[str, int]:
        obj = json.loads(k.ok("get", "deployment", name, "-o", "json", *n))
        return kit.images(obj)["app"], obj["metadata"]["generation"]

    try:
        subject.deploy(Release(id=good2))
        image, generation = live()
        assert image == GOOD2
        _rolled_out(k, name, namespace)
        subject.deploy(Release(id=good2))
        assert live() == (GOOD2, generation), "deploying the live image again changed it"

        with pytest.raises(RolloutFailed) as failed:
            subject.deploy(Release(id=bad))
        assert "exceeded its progress deadline" in failed.value.message
        reasons = " ".join(h.detail for h in subject.health() if not h.ok)
        assert "ErrImagePull" in reasons or "ImagePullBackOff" in reasons, reasons

        subject.rollback()
        _rolled_out(k, name, namespace)
        assert live()[0] == GOOD2
        rows = [
            line.split(None, 1)
            for line in k.ok("rollout", "history", f"deployment/{name}", *n).splitlines()[2:]
            if line.strip()
        ]
        history = subject.status().details["history"]
        assert rows == [[str(e["revision"]), e["change_cause"]] for e in history]
        assert [row[0] for row in rows] == ["1", "3", "4"]

        subject.rollback(good)
        _rolled_out(k, name, namespace)
        assert live()[0] == GOOD
        assert all(h.ok for h in subject.health()), subject.health()
    finally:
        subject.close()
