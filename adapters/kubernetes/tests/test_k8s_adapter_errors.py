"""API errors become one-line wave errors a user can act on, and change nothing.

Each failure is answered by the fake API server (its injected errors leave state alone),
a closed port or a missing kubeconfig: the real client meets the real failure.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from k8s_adapter_kit import REPOSITORY, fake_cluster
from k8s_adapter_kit import adapter as kit_adapter
from wave_sdk_kubernetes import errors
from wave_sdk_kubernetes.adapter import KubernetesAdapter
from wave_sdk_kubernetes.fake import FakeCluster

from wave_sdk.config import parse_config
from wave_sdk.errors import AdapterError, ConfigError
from wave_sdk.models import Release
from wave_sdk.plugins import get_plugin_manager


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    with fake_cluster(tmp_path) as (running, _):
        yield running


def adapter(tmp_path: Path, **target: object) -> KubernetesAdapter:
    return kit_adapter(tmp_path, timeout=5, **target)


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, errors.Unauthorized, "refused the credentials to set the image"),
        (403, errors.Forbidden, "not allowed to set the image of deployment default/web (403)"),
        (422, errors.InvalidObject, "rejected the change to set the image"),
        (500, errors.ServerError, "failed to set the image of deployment default/web (500)"),
    ],
)
def test_api_errors_are_mapped_and_change_nothing(
    tmp_path: Path, cluster: FakeCluster, status: int, kind: type[AdapterError], words: str
) -> None:
    before = cluster.get("deployments", "web")
    cluster.fail("PATCH", "/deployments/web$", status, message="injected by the test")
    subject = adapter(tmp_path, kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kc")))
    with pytest.raises(kind) as info:
        subject.deploy(Release(id="r2"))
    text = str(info.value)
    assert words in text and "injected by the test" in text
    assert "\n" not in text and info.value.hint
    patches = [r for r in cluster.requests.entries() if r.method == "PATCH"]
    assert [p.status for p in patches] == [status]  # not retried: retrying would not help
    after = cluster.get("deployments", "web")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_missing_deployment_says_what_to_check(tmp_path: Path, cluster: FakeCluster) -> None:
    subject = adapter(
        tmp_path, kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kc")), deployment="shop"
    )
    with pytest.raises(errors.ObjectNotFound) as info:
        subject.deploy(Release(id="r2"))
    assert str(info.value).startswith("cannot set the image of deployment default/shop: not found")
    assert "wave changes a Deployment, it does not create one" in str(info.value)
    status = subject.status()
    assert (status.state, status.current) == ("absent", None)


def test_a_container_that_is_not_there(tmp_path: Path, cluster: FakeCluster) -> None:
    subject = adapter(
        tmp_path,
        kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kc")),
        containers={"web": REPOSITORY},
    )
    with pytest.raises(AdapterError, match="has no container 'web' \\(it has 'app', 'sidecar'\\)"):
        subject.deploy(Release(id="r2"))
    assert not [r for r in cluster.requests.entries() if r.method == "PATCH"]


def test_an_unreachable_server(tmp_path: Path, cluster: FakeCluster) -> None:
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig.write_text(kubeconfig.read_text().replace(str(cluster.port), str(port)))
    with pytest.raises(errors.ClusterUnreachable, match="unreachable \\(connection refused\\)"):
        adapter(tmp_path, kubeconfig=str(kubeconfig)).status()


def test_no_kubeconfig(tmp_path: Path) -> None:
    with pytest.raises(errors.KubeconfigError, match=r"no kubeconfig at .*missing"):
        adapter(tmp_path, kubeconfig="missing").status()


def test_an_unknown_context(tmp_path: Path, cluster: FakeCluster) -> None:
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kc")
    with pytest.raises(errors.KubeconfigError, match="prod"):
        adapter(tmp_path, kubeconfig=str(kubeconfig), context="prod").status()


def test_the_kubeconfig_token_is_never_printed(tmp_path: Path, cluster: FakeCluster) -> None:
    cluster.fail("GET", "/deployments/web$", 401, message="Unauthorized")
    subject = adapter(tmp_path, kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kc")))
    with pytest.raises(errors.Unauthorized) as info:
        subject.status()
    assert "wave-fake-token" not in str(info.value)
    assert "wave-fake-token" not in repr(subject.status().model_dump())


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("containers", {"app": f"{REPOSITORY}:latest"}, "has a tag or digest"),
        ("annotations", {"deployment.kubernetes.io/revision": "9"}, "is set by wave"),
        ("change_cause", "deploy {version}", "can be filled in"),
        ("deployment", "Web", "is not a Deployment name"),
    ],
)
def test_bad_settings_fail_validation(tmp_path: Path, key: str, value: object, words: str) -> None:
    target = {"adapter": "kubernetes", "deployment": "web", "containers": {"app": REPOSITORY}}
    config = parse_config(
        {
            "project": {"name": "shop"},
            "environments": {"staging": {"target": "web"}},
            "targets": {"web": {**target, key: value}},
        },
        file=tmp_path / "wave.toml",
    )
    with pytest.raises(ConfigError) as info:  # as `wave config validate` checks a target
        config.target_settings("web", get_plugin_manager())
    assert str(info.value).startswith(f"wave.toml: targets.web.{key}")
    assert words in str(info.value) and "\n" not in str(info.value)
