"""What the adapter's tests share: a fake cluster with a Deployment, and a Service in front.

* :func:`fake_cluster` starts ``wave_sdk_kubernetes.fake.FakeCluster`` on loopback with a
  Deployment ``web`` (3 replicas, containers ``app`` and ``sidecar``), settled at release
  ``r1``, and writes a kubeconfig for it. Its controllers step in a background thread
  (every 20 ms) on a manual clock that moves one second per step, so a progress deadline
  of 20 s passes in well under a second of real time, and nothing sleeps to hope.
* :class:`Service` is what a Kubernetes Service is to the app: an HTTP endpoint that
  forwards each request to one of the *ready* pods of the Deployment, round robin. Each
  pod answers as the example health app does: ``/`` names its release (the tag of its
  ``app`` image) and the runbook's health endpoints answer 200. With no ready pod it
  answers 503, as a Service with no endpoints would refuse. So what the tests see at the
  URL is what the fake's pods serve, not what the adapter reports.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wave_sdk_kubernetes.adapter import KubernetesAdapter
from wave_sdk_kubernetes.config import KubernetesTarget
from wave_sdk_kubernetes.fake import FakeCluster, ManualClock

from wave_sdk.adapter import TargetContext
from wave_sdk.reporting import ListReporter

REPOSITORY = "registry.example.com/shop/web"
SIDECAR = "registry.example.com/shop/proxy:1.4"


def deployment(release: str, **spec: Any) -> dict[str, Any]:
    """The manifest a team would ``kubectl apply`` once, at ``release``."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web"},
            "annotations": {"kubernetes.io/change-cause": f"kubectl apply {release}"},
        },
        "spec": {
            "replicas": 3,
            "progressDeadlineSeconds": 20,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": f"{REPOSITORY}:{release}"},
                        {"name": "sidecar", "image": SIDECAR},
                    ]
                },
            },
            **spec,
        },
    }


@contextmanager
def fake_cluster(directory: Path, **spec: Any) -> Iterator[tuple[FakeCluster, Path]]:
    """A running fake with ``web`` rolled out at ``r1``; and its kubeconfig."""
    cluster = FakeCluster(clock=ManualClock(), auto_step=0.02, advance_per_step=1.0)
    cluster.start()
    try:
        cluster.create("deployments", deployment("r1", **spec))
        cluster.run_until(lambda c: _rolled_out(c.get("deployments", "web")), max_steps=100)
        yield cluster, cluster.write_kubeconfig(directory / "kubeconfig")
    finally:
        cluster.stop()


def _rolled_out(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return bool(
        status.get("observedGeneration") == obj["metadata"]["generation"]
        and status.get("availableReplicas") == status.get("replicas") == obj["spec"]["replicas"]
        and status.get("updatedReplicas") == obj["spec"]["replicas"]
    )


def ready_pods(cluster: FakeCluster) -> list[dict[str, Any]]:
    """The pods a Service would send traffic to: labelled app=web, Ready, not deleted."""
    found = []
    for pod in cluster.objects("pods"):
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get("app") != "web" or meta.get("deletionTimestamp"):
            continue
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            found.append(pod)
    return found


def served_images(cluster: FakeCluster) -> set[str]:
    """The ``app`` images of the ready pods: what the Service serves now."""
    return {
        c["image"]
        for pod in ready_pods(cluster)
        for c in pod["spec"]["containers"]
        if c["name"] == "app"
    }


class Service:
    """The Deployment's Service, on a loopback port; see the module docstring."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.turn = itertools.count()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                code, body = service.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        pods = ready_pods(self.cluster)
        if not pods:
            return 503, {"error": "no endpoints available for service web"}
        pod = pods[next(self.turn) % len(pods)]
        image = next(c["image"] for c in pod["spec"]["containers"] if c["name"] == "app")
        release = image.rpartition(":")[2]
        if path.startswith("/api/health"):
            return 200, {"status": "ok", "pod": pod["metadata"]["name"]}
        return 200, {"version": release, "pod": pod["metadata"]["name"]}

    def __enter__(self) -> Service:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def adapter(directory: Path, **target: Any) -> KubernetesAdapter:
    """The adapter of a target ``web`` (staging, project shop), outside the pipeline."""
    config = KubernetesTarget.model_validate(
        {"deployment": "web", "containers": {"app": REPOSITORY}, "timeout": 30, **target}
    )
    context = TargetContext(
        target="web",
        environment="staging",
        project="shop",
        root=directory,
        state_dir=directory / "state",
        reporter=ListReporter(),
    )
    return KubernetesAdapter(config=config, context=context)
