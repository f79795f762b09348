"""The fake's own rules, through the official client (37.x) and a real kubeconfig.

What the adapter leans on and kubectl alone would not exercise: resourceVersion and
generation rules, the three patch types, watch replay, bookmarks and 410, injected errors
that change nothing, the controller's revision arithmetic, pod states by behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import k8s_testkit as kit
import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client import ApiException
from wave_sdk_kubernetes.fake import FakeCluster

NS = "default"


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def _create(fake: FakeCluster, **kwargs: Any) -> dict[str, Any]:
    created = fake.create("deployments", kit.deployment(**kwargs))
    fake.run_until(kit.rolled_out(created["metadata"]["name"]))
    return fake.get("deployments", created["metadata"]["name"])


def _rv(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["resourceVersion"])


# -- discovery and objects -------------------------------------------------------------------


def test_discovery_and_objects_match_the_client_schema(
    fake: FakeCluster, api: client.ApiClient, apps: client.AppsV1Api
) -> None:
    assert client.VersionApi(api).get_code().git_version.startswith("v1.37")
    names = {r.name for r in apps.get_api_resources().resources}
    assert {"deployments", "deployments/status", "deployments/scale", "replicasets"} <= names
    created = apps.create_namespaced_deployment(NS, kit.deployment())
    assert created.metadata.generation == 1 and created.metadata.uid
    assert (
        created.spec.revision_history_limit == 10 and created.spec.progress_deadline_seconds == 600
    )
    fake.run_until(kit.rolled_out())
    listed = apps.list_namespaced_deployment(NS)  # pydantic-validated: kind, apiVersion, metadata
    assert [d.metadata.name for d in listed.items] == ["web"]
    assert int(listed.metadata.resource_version) == fake.store.rv
    with pytest.raises(ApiException) as exists:
        apps.create_namespaced_deployment(NS, kit.deployment())
    assert (exists.value.status, json.loads(exists.value.body)["reason"]) == (409, "AlreadyExists")
    with pytest.raises(ApiException) as gone:
        apps.read_namespaced_deployment("nope", NS)
    assert gone.value.status == 404
    assert json.loads(gone.value.body)["message"] == 'deployments.apps "nope" not found'


def test_validation_rejects_a_selector_that_misses_the_template(apps: client.AppsV1Api) -> None:
    bad = kit.deployment()
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiException) as invalid:
        apps.create_namespaced_deployment(NS, bad)
    assert invalid.value.status == 422
    assert (
        "`selector` does not match template `labels`" in json.loads(invalid.value.body)["message"]
    )


def test_list_pages_with_limit_and_continue(fake: FakeCluster, core: client.CoreV1Api) -> None:
    _create(fake, replicas=5)
    first = core.list_namespaced_pod(NS, limit=2)
    assert len(first.items) == 2 and first.metadata.remaining_item_count == 3
    names = [p.metadata.name for p in first.items]
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_pod(NS, limit=2, _continue=token)
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
    assert sorted(names) == sorted(p["metadata"]["name"] for p in fake.objects("pods"))


# -- resourceVersion and generation ------------------------------------------------------------


def test_generation_moves_with_spec_and_annotations_only(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    d = _create(fake)
    labelled = apps.patch_namespaced_deployment(
        "web", NS, {"metadata": {"labels": {"tier": "web"}}}
    )
    assert labelled.metadata.generation == 1 and labelled.metadata.resource_version != _rv(d)
    annotated = apps.patch_namespaced_deployment(
        "web", NS, {"metadata": {"annotations": {"a": "b"}}}
    )
    assert annotated.metadata.generation == 2
    scaled = apps.patch_namespaced_deployment("web", NS, {"spec": {"replicas": 4}})
    assert scaled.metadata.generation == 3
    # The main resource ignores status; /status ignores spec and does not bump generation.
    ignored = apps.patch_namespaced_deployment("web", NS, {"status": {"replicas": 99}})
    assert (
        ignored.status.replicas != 99
        and ignored.metadata.resource_version == scaled.metadata.resource_version
    )
    status = apps.patch_namespaced_deployment_status(
        "web", NS, {"spec": {"replicas": 7}, "status": {"replicas": 99}}
    )
    assert (status.spec.replicas, status.status.replicas, status.metadata.generation) == (4, 99, 3)


def test_a_write_that_changes_nothing_keeps_the_version_and_emits_nothing(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    d = _create(fake)
    before = fake.store.rv
    same = apps.patch_namespaced_deployment(
        "web",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}},
    )
    assert same.metadata.resource_version == _rv(d) and same.metadata.generation == 1
    assert fake.store.rv == before


def test_stale_resource_version_conflicts_and_selector_is_immutable(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    d = _create(fake)
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"x": "1"}}})
    stale = kit.deployment()
    stale["metadata"]["resourceVersion"] = _rv(d)
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("web", NS, stale)
    assert (conflict.value.status, json.loads(conflict.value.body)["reason"]) == (409, "Conflict")
    fresh = kit.deployment(images={"app": "app:2", "sidecar": "side:1"})
    assert (
        apps.replace_namespaced_deployment("web", NS, fresh).metadata.generation == 2
    )  # no RV: unconditional
    moved = kit.deployment()
    moved["spec"]["selector"] = {"matchLabels": {"app": "web", "extra": "x"}}
    moved["spec"]["template"]["metadata"]["labels"]["extra"] = "x"
    with pytest.raises(ApiException) as immutable:
        apps.replace_namespaced_deployment("web", NS, moved)
    assert immutable.value.status == 422 and "field is immutable" in immutable.value.body


def test_scale_subresource(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    _create(fake)
    scale = apps.read_namespaced_deployment_scale("web", NS)
    assert (scale.spec.replicas, scale.status.selector) == (3, "app=web")
    apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 5}})
    fake.run_until(kit.rolled_out())
    assert (
        len(fake.objects("pods")) == 5
        and fake.get("deployments", "web")["metadata"]["generation"] == 2
    )


# -- patches ---------------------------------------------------------------------------------


def test_the_three_patch_types(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    _create(fake)
    # Strategic merge (a dict body): containers merge by name, the sidecar stays.
    smp = apps.patch_namespaced_deployment(
        "web",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}},
    )
    assert [c.image for c in smp.spec.template.spec.containers] == ["app:2", "side:1"]
    # ... `$patch: delete` removes one element, null deletes a key.
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"annotations": {"x": "1"}}})
    smp = apps.patch_namespaced_deployment(
        "web",
        NS,
        {
            "metadata": {"annotations": {"x": None}},
            "spec": {
                "template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}
            },
        },
    )
    assert [c.name for c in smp.spec.template.spec.containers] == ["app"] and "x" not in (
        smp.metadata.annotations or {}
    )
    # Merge patch: lists are replaced whole.
    merge = apps.patch_namespaced_deployment(
        "web",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "solo", "image": "solo:1"}]}}}},
        _content_type="application/merge-patch+json",
    )
    assert [(c.name, c.image) for c in merge.spec.template.spec.containers] == [("solo", "solo:1")]
    # JSON patch (a list body), with a failing `test`: 422 and nothing changed.
    before = fake.get("deployments", "web")
    with pytest.raises(ApiException) as failed:
        apps.patch_namespaced_deployment(
            "web",
            NS,
            [
                {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
                {"op": "replace", "path": "/spec/replicas", "value": 1},
            ],
        )
    assert failed.value.status == 422 and fake.get("deployments", "web") == before
    ok = apps.patch_namespaced_deployment(
        "web",
        NS,
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": _rv(before)},
            {"op": "replace", "path": "/spec/replicas", "value": 1},
        ],
    )
    assert ok.spec.replicas == 1
    types = [r.content_type for r in fake.requests.entries() if r.method == "PATCH"]
    assert (
        types[-1] == "application/json-patch+json"
        and types[0] == "application/strategic-merge-patch+json"
    )
    with pytest.raises(ApiException) as unsupported:
        apps.patch_namespaced_deployment(
            "web", NS, {"spec": {}}, _content_type="application/apply-patch+yaml"
        )
    assert unsupported.value.status == 415


# -- watch -------------------------------------------------------------------------------------


def _events(apps: client.AppsV1Api, count: int, **kwargs: Any) -> list[dict[str, Any]]:
    """The first ``count`` events of a deployments watch, then the watch is closed."""
    w, out = watch.Watch(), []
    for event in w.stream(apps.list_namespaced_deployment, NS, timeout_seconds=10, **kwargs):
        out.append(event)
        if len(out) == count:
            w.stop()
    return out


def test_watch_replays_after_a_resource_version_and_resumes(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    d = _create(fake)
    fake.step_on_watch = False  # exactly the two writes below happen
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"annotations": {"n": "1"}}})
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"annotations": {"n": "2"}}})
    replayed = _events(apps, 2, field_selector="metadata.name=web", resource_version=_rv(d))
    assert [(e["type"], e["object"].metadata.annotations["n"]) for e in replayed] == [
        ("MODIFIED", "1"),
        ("MODIFIED", "2"),
    ]
    # Resuming from the first event's version gives the rest, nothing twice.
    (rest,) = _events(apps, 1, resource_version=replayed[0]["object"].metadata.resource_version)
    assert (
        rest["object"].metadata.resource_version == replayed[1]["object"].metadata.resource_version
    )
    # No version (or "0"): the current objects as ADDED first.
    (added,) = _events(apps, 1)
    assert (added["type"], added["object"].metadata.annotations["n"]) == ("ADDED", "2")


def test_watch_from_a_compacted_version_gets_410(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    d = _create(fake)
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"x": "1"}}})
    fake.expire_watches()  # no watch open: compacts history up to the label change
    with pytest.raises(ApiException) as gone:
        list(
            watch.Watch().stream(
                apps.list_namespaced_deployment, NS, resource_version=_rv(d), timeout_seconds=2
            )
        )
    assert gone.value.status == 410
    # A fresh list gives a version the watch accepts.
    listed = apps.list_namespaced_deployment(NS).metadata.resource_version
    fake.step_on_watch = False
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"x": "2"}}})
    (event,) = _events(apps, 1, resource_version=listed)
    assert event["object"].metadata.labels["x"] == "2"


def test_410_mid_watch_and_dropped_connection(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    d = _create(fake)
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment, NS, resource_version=_rv(d), timeout_seconds=30
    )
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"annotations": {"n": "1"}}})
    assert next(stream)["type"] == "MODIFIED"
    fake.expire_watches()
    with pytest.raises(ApiException) as gone:
        for _ in stream:
            pass
    assert gone.value.status == 410

    listed = apps.list_namespaced_deployment(NS).metadata.resource_version
    dropped = watch.Watch().stream(
        apps.list_namespaced_deployment, NS, resource_version=listed, timeout_seconds=30
    )
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"annotations": {"n": "2"}}})
    assert next(dropped)["type"] == "MODIFIED"
    fake.drop_watches()
    with pytest.raises((urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError)):
        for _ in dropped:
            pass


def test_initial_events_end_with_a_bookmark_and_bookmarks_on_demand(
    fake: FakeCluster, api: client.ApiClient
) -> None:
    _create(fake)
    http = urllib3.PoolManager()
    query = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
    url = f"{fake.url}/apis/apps/v1/namespaces/default/deployments?{query}"
    url += "&allowWatchBookmarks=true&timeoutSeconds=2"
    response = http.request("GET", url, preload_content=False)
    lines = []
    for line in response.stream(amt=None):
        lines.extend(json.loads(part) for part in line.decode().splitlines() if part)
        if lines and lines[-1]["type"] == "BOOKMARK" and len(lines) >= 2:
            fake.send_bookmarks()
        if sum(e["type"] == "BOOKMARK" for e in lines) == 2:
            break
    response.release_conn()
    assert [e["type"] for e in lines[:2]] == ["ADDED", "BOOKMARK"]
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert lines[-1]["type"] == "BOOKMARK" and "annotations" not in lines[-1]["object"]["metadata"]


def test_deleting_a_deployment_deletes_what_it_owns_and_watches_see_it(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    d = _create(fake)
    stream = watch.Watch().stream(
        apps.list_namespaced_deployment, NS, resource_version=_rv(d), timeout_seconds=5
    )
    apps.delete_namespaced_deployment("web", NS)
    assert next(stream)["type"] == "DELETED"
    assert fake.objects("replicasets") == [] and fake.objects("pods") == []


# -- injected errors ---------------------------------------------------------------------------


def test_injected_errors_leave_state_untouched(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    d = _create(fake)
    fake.fail("PATCH", r"/deployments/web$", 409)
    fake.fail("PATCH", r"/deployments/web$", 429, retry_after=2)
    fake.fail("PATCH", r"/deployments/web$", 503, retry_after=1)
    body = {"spec": {"replicas": 5}}
    for code in (409, 429, 503):
        with pytest.raises(ApiException) as failed:
            apps.patch_namespaced_deployment("web", NS, body)
        assert failed.value.status == code
        if code != 409:
            assert failed.value.headers["Retry-After"] == ("2" if code == 429 else "1")
            assert json.loads(failed.value.body)["details"]["retryAfterSeconds"] == int(
                failed.value.headers["Retry-After"]
            )
        assert fake.get("deployments", "web") == d
    assert apps.patch_namespaced_deployment("web", NS, body).spec.replicas == 5
    fake.fail("GET", r"/deployments/web$", 0, times=4)  # urllib3 retries a GET three times
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        apps.read_namespaced_deployment("web", NS, _request_timeout=5)
    statuses = [
        (r.method, r.status) for r in fake.requests.entries() if r.path.endswith("/deployments/web")
    ]
    assert (
        statuses
        == [("PATCH", 409), ("PATCH", 429), ("PATCH", 503), ("PATCH", 200)] + [("GET", 0)] * 4
    )


def test_request_log_counts_bytes(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, kit.deployment())
    entry = fake.requests.entries()[-1]
    # Client 37 sends a POST body without Content-Type; the server takes it as JSON.
    assert (entry.method, entry.status, entry.content_type) == ("POST", 201, "")
    assert entry.bytes == len(entry.body) + entry.sent and entry.sent > 500
    mark = len(fake.requests.entries())
    apps.read_namespaced_deployment("web", NS)
    stats = fake.stats(mark)
    assert (stats["requests"], stats["by_method"]) == (1, {"GET": 1}) and stats["bytes"] > 500


def test_namespaces_exist_before_their_objects_and_take_them_along(
    fake: FakeCluster, core: client.CoreV1Api, apps: client.AppsV1Api
) -> None:
    assert {"default", "kube-system"} <= {n.metadata.name for n in core.list_namespace().items}
    with pytest.raises(ApiException) as missing:
        apps.create_namespaced_deployment("team", kit.deployment())
    assert (missing.value.status, json.loads(missing.value.body)["message"]) == (
        404,
        'namespaces "team" not found',
    )
    core.create_namespace({"metadata": {"name": "team"}})
    apps.create_namespaced_deployment("team", kit.deployment())
    fake.run_until(kit.rolled_out(namespace="team"))
    core.delete_namespace("team")
    assert fake.objects("deployments", "team") == fake.objects("pods", "team") == []


# -- the controller --------------------------------------------------------------------------


def test_undo_patch_reuses_the_replicaset_and_numbers_revisions_as_the_controller(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    _create(fake, change_cause="one")
    for n in ("2", "3"):
        apps.patch_namespaced_deployment(
            "web",
            NS,
            {
                "metadata": {"annotations": {kit.CHANGE_CAUSE: n}},
                "spec": {
                    "template": {"spec": {"containers": [{"name": "app", "image": f"app:{n}"}]}}
                },
            },
        )
        fake.run_until(kit.rolled_out())
    assert kit.history(fake) == {1: "one", 2: "2", 3: "3"}
    rev2 = next(rs for rs in kit.replicasets(fake) if kit.revision(rs) == 2)
    # kubectl's undo: the RS template (hash label removed, fully defaulted) + its annotations.
    template = json.loads(json.dumps(rev2["spec"]["template"]))
    del template["metadata"]["labels"]["pod-template-hash"]
    annotations = {kit.CHANGE_CAUSE: "2", kit.REVISION: "3"}
    apps.patch_namespaced_deployment(
        "web",
        NS,
        [
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations},
        ],
    )
    fake.run_until(kit.rolled_out())
    fake.settle()
    assert kit.history(fake) == {1: "one", 3: "3", 4: "2"}
    reused = next(
        rs for rs in kit.replicasets(fake) if rs["metadata"]["uid"] == rev2["metadata"]["uid"]
    )
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "2"
    assert fake.get("deployments", "web")["metadata"]["annotations"][kit.REVISION] == "4"
    assert len(kit.replicasets(fake)) == 3


def test_rolling_update_honours_surge_and_unavailable(
    fake: FakeCluster, apps: client.AppsV1Api
) -> None:
    _create(
        fake,
        replicas=4,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    )
    apps.patch_namespaced_deployment(
        "web",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}},
    )

    def within_bounds(cluster: FakeCluster) -> bool:
        rss = kit.replicasets(cluster)
        assert sum(rs["spec"]["replicas"] for rs in rss) <= 5
        assert sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in rss) >= 4
        return kit.rolled_out()(cluster)

    assert fake.run_until(within_bounds) > 4


def test_recreate_scales_old_down_before_new_up(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    _create(fake, strategy={"type": "Recreate"})
    apps.patch_namespaced_deployment(
        "web",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}},
    )

    def never_both(cluster: FakeCluster) -> bool:
        running = [
            rs for rs in kit.replicasets(cluster) if (rs.get("status") or {}).get("replicas", 0)
        ]
        assert len(running) <= 1
        return kit.rolled_out()(cluster)

    fake.run_until(never_both)
    assert [rs["spec"]["replicas"] for rs in kit.replicasets(fake)] == [0, 3]


def test_progress_deadline_on_the_clock(fake: FakeCluster, apps: client.AppsV1Api) -> None:
    _create(fake, progressDeadlineSeconds=600)
    fake.pod_behaviour("app:bad", "never-ready")
    apps.patch_namespaced_deployment(
        "web",
        NS,
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:bad"}]}}}},
    )
    fake.settle()
    reason = {
        c["type"]: c["reason"] for c in fake.get("deployments", "web")["status"]["conditions"]
    }
    assert reason["Progressing"] == "ReplicaSetUpdated"
    fake.advance(599)
    fake.settle()
    assert {c["type"]: c["reason"] for c in fake.get("deployments", "web")["status"]["conditions"]}[
        "Progressing"
    ] == "ReplicaSetUpdated"
    fake.advance(2)
    fake.step()
    conditions = {c["type"]: c for c in fake.get("deployments", "web")["status"]["conditions"]}
    assert (conditions["Progressing"]["status"], conditions["Progressing"]["reason"]) == (
        "False",
        "ProgressDeadlineExceeded",
    )
    assert conditions["Available"]["status"] == "True"  # the old pods still serve


@pytest.mark.parametrize(
    ("behaviour", "phase", "reason"),
    [
        ("never-ready", "Running", None),
        ("crashloop", "Running", "CrashLoopBackOff"),
        ("image-pull-error", "Pending", "ImagePullBackOff"),
    ],
)
def test_pod_behaviours(
    fake: FakeCluster, core: client.CoreV1Api, behaviour: str, phase: str, reason: str | None
) -> None:
    fake.pod_behaviour("app:*", behaviour)
    fake.create("deployments", kit.deployment(replicas=1))
    fake.step(3)
    fake.advance(35)
    fake.step()
    (pod,) = core.list_namespaced_pod(NS, label_selector="app=web").items
    assert pod.status.phase == phase
    ready = {c.type: c for c in pod.status.conditions}["Ready"]
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "ContainersNotReady",
        "containers with unready status: [app]",
    )
    app, sidecar = pod.status.container_statuses
    assert sidecar.ready and not app.ready
    waiting = app.state.waiting.reason if app.state.waiting else None
    assert waiting == reason
    if behaviour == "crashloop":
        assert app.restart_count == 3 and app.last_state.terminated.reason == "Error"  # 0, 10, 30 s
    assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    available = {c["type"]: c for c in fake.get("deployments", "web")["status"]["conditions"]}[
        "Available"
    ]
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")


def test_image_pull_error_starts_as_err_image_pull(fake: FakeCluster) -> None:
    fake.pod_behaviour("app:*", "image-pull-error")
    fake.create("deployments", kit.deployment(replicas=1))
    fake.step(3)  # RS created, pod created, pod's first kubelet pass
    (pod,) = fake.objects("pods")
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
