"""Fixtures of the Kubernetes tests: the fake API server, a kubeconfig for it, real kubectl.

``fake`` is a started :class:`~wave_sdk_kubernetes.fake.FakeCluster` on 127.0.0.1 with a
manual clock, stepped by the test (``fake.step()``, ``fake.run_until(...)``,
``fake.settle()``) and also whenever a client's watch waits with nothing to read
(``step_on_watch``), so a blocking client — the adapter's wait, ``kubectl rollout
status`` — drives the rollout without sleeping. It is stopped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import k8s_testkit as kit
import pytest
from wave_sdk_kubernetes.fake import FakeCluster


@pytest.fixture
def fake() -> Iterator[FakeCluster]:
    cluster = FakeCluster(step_on_watch=True).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def kubeconfig(fake: FakeCluster, tmp_path: Path) -> Path:
    """A kubeconfig whose current context is ``fake`` (namespace ``default``)."""
    return fake.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture(scope="session")
def kubectl_binary() -> str:
    return kit.pinned_kubectl()


@pytest.fixture
def kubectl(kubectl_binary: str, kubeconfig: Path, tmp_path: Path) -> kit.Kubectl:
    home = tmp_path / "home"
    home.mkdir()
    return kit.Kubectl(kubectl_binary, kubeconfig, home)
