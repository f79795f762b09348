"""``wave_sdk_docker.images.publish``: the image builder, as other adapters use it.

The Kubernetes adapter builds and pushes through it (``wave-sdk-kubernetes[build]``): a
real engine builds, a real registry receives, and — for the Kubernetes target — the fake
API server's Deployment then runs the pushed tag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker_testkit as kit
from docker import APIClient
from wave_sdk_docker.config import DockerTarget
from wave_sdk_docker.images import publish

from wave_sdk.adapter import TargetContext
from wave_sdk.models import Release
from wave_sdk.reporting import ListReporter


def _context(root: Path, target: str = "web") -> TargetContext:
    return TargetContext(
        target=target,
        environment="staging",
        project="shop",
        root=root,
        state_dir=root / "state",
        reporter=ListReporter(),
    )


def test_publish_builds_once_and_pushes(
    tmp_path: Path,
    docker_api: APIClient,
    docker_engine: str,
    registry: str,
    context: Callable[..., Path],
    cleanup: str,
    test_id: str,
) -> None:
    config = DockerTarget(
        image=f"{registry}/wave-test/{test_id}",
        docker_host=docker_engine,
        push=True,
        labels={"wave-test": test_id},
    )
    said: list[str] = []
    release = Release(id="v1", source=context("v1"))
    reference = publish(config, release, context=_context(tmp_path), emit=said.append)
    assert reference == f"{registry}/wave-test/{test_id}:v1"
    assert kit.registry_tags(registry, f"wave-test/{test_id}") == ["v1"]
    labels = docker_api.inspect_image(reference)["Config"]["Labels"]
    assert labels["wave.image-release"] == "v1" and labels["wave-test"] == test_id
    assert docker_api.containers(all=True, filters={"label": cleanup}) == []  # no container
    # The release id names one version of the code: published again, it is not rebuilt.
    said.clear()
    publish(config, release, context=_context(tmp_path), emit=said.append)
    assert not any(line.startswith("building") for line in said), said


def test_a_kubernetes_target_builds_pushes_and_deploys_the_tag(
    tmp_path: Path,
    docker_api: APIClient,
    docker_engine: str,
    registry: str,
    context: Callable[..., Path],
    cleanup: str,
    test_id: str,
) -> None:
    from wave_sdk_kubernetes.adapter import KubernetesAdapter
    from wave_sdk_kubernetes.config import KubernetesTarget
    from wave_sdk_kubernetes.fake import FakeCluster, ManualClock

    repository = f"{registry}/wave-test/{test_id}"
    with FakeCluster(clock=ManualClock(), auto_step=0.02, advance_per_step=1.0) as cluster:
        cluster.create("deployments", _deployment(f"{repository}:v0"))
        kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
        config = KubernetesTarget(
            kubeconfig=str(kubeconfig),
            deployment="web",
            containers={"app": repository},
            docker_host=docker_engine,
            timeout=30,
        )
        adapter = KubernetesAdapter(config=config, context=_context(tmp_path))
        try:
            adapter.deploy(Release(id="v1", source=context("v1")))
        finally:
            reference = f"{repository}:v1"
            if docker_api.images(name=reference):
                docker_api.remove_image(reference, force=True)
        assert kit.registry_tags(registry, f"wave-test/{test_id}") == ["v1"]
        web = cluster.get("deployments", "web")
        assert web["spec"]["template"]["spec"]["containers"][0]["image"] == f"{repository}:v1"
        assert web["status"]["availableReplicas"] == 2


def _deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }
