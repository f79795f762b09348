"""The Kubernetes adapter passes the conformance suite, against the fake API server.

What is served is read through :class:`k8s_adapter_kit.Service`, which forwards to the
fake's ready pods: a release answers only once the fake's controller runs its pods.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from k8s_adapter_kit import REPOSITORY, Service, fake_cluster
from wave_sdk_kubernetes.fake import FakeCluster

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeCluster, Path]]:
    with fake_cluster(tmp_path) as running:
        yield running


@pytest.fixture
def service(cluster: tuple[FakeCluster, Path]) -> Iterator[Service]:
    with Service(cluster[0]) as running:
        yield running


class TestKubernetesContract(AdapterContract):
    adapter = "kubernetes"

    @pytest.fixture
    def target_config(self, cluster: tuple[FakeCluster, Path], service: Service) -> dict[str, Any]:
        self.fake = cluster[0]
        return {
            "kubeconfig": str(cluster[1]),
            "deployment": "web",
            "containers": {"app": REPOSITORY},
            "url": service.url,
            "timeout": 30,
        }

    @pytest.fixture
    def make_release(self, cluster: tuple[FakeCluster, Path]) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            if not healthy:
                cluster[0].pod_behaviour(f"{REPOSITORY}:{release_id}", "crashloop")
            return Release(id=release_id)

        return make

    def kill_behind_back(self, adapter: Adapter) -> None:
        # An operator scales the Deployment to zero (kubectl scale --replicas=0).
        web = self.fake.get("deployments", "web")
        web["spec"]["replicas"] = 0
        self.fake.store.update("deployments", "default", "web", web)
