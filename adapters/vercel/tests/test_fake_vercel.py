"""The fake Vercel itself: the rules of the real API that the adapter and the CLI rely on.

Every answer here is also checked against the published spec by the ``fake`` fixture.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from vercel_kit import TOKEN, Fake

from wave_sdk.testing.served import wait_until


def _api(fake: Fake) -> httpx.Client:
    return httpx.Client(base_url=fake.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def _create(
    api: httpx.Client, fake: Fake, files: dict[str, bytes], **body: object
) -> httpx.Response:
    entries = [
        {"file": name, "sha": hashlib.sha1(data).hexdigest(), "size": len(data)}
        for name, data in files.items()
    ]
    return api.post("/v13/deployments", json={"name": fake.project.name, "files": entries, **body})


def _upload(api: httpx.Client, data: bytes, digest: str | None = None) -> httpx.Response:
    digest = digest or hashlib.sha1(data).hexdigest()
    return api.post("/v2/files", content=data, headers={"x-vercel-digest": digest})


def test_a_create_naming_unknown_digests_is_400_missing_files_until_they_are_uploaded(
    fake: Fake,
) -> None:
    files = {"index.html": b"<h1>a</h1>", "copy.html": b"<h1>a</h1>", "b.css": b"b{}"}
    with _api(fake) as api:
        refused = _create(api, fake, files)
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["code"] == "missing_files"
        assert sorted(error["missing"]) == sorted(
            {hashlib.sha1(d).hexdigest() for d in files.values()}
        )
        assert _upload(api, b"b{}", digest="0" * 40).status_code == 400, "digest checked"
        for data in {*files.values()}:
            assert _upload(api, data).status_code == 200
        created = _create(api, fake, files, target="production")
        assert created.status_code == 200
        deployment = created.json()
        assert deployment["readyState"] in ("QUEUED", "BUILDING")
        ready = wait_until(
            lambda: api.get(f"/v13/deployments/{deployment['id']}").json(),
            lambda d: d["readyState"] == "READY",
            timeout=10,
        )
    assert ready["aliasAssigned"] is True
    assert ready["alias"] == [fake.project.domain]
    assert fake.served(f"http://{deployment['url']}", "copy.html") == b"<h1>a</h1>"
    assert fake.served(f"http://{fake.project.domain}", "b.css") == b"b{}"


def test_429_carries_vercels_body_retry_after_and_rate_limit_headers(fake: Fake) -> None:
    fake.inject(status=429, retry_after=7, method="GET", path="^/v2/user$")
    with _api(fake) as api:
        limited = api.get("/v2/user")
        again = api.get("/v2/user")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert int(limited.headers["X-RateLimit-Reset"]) >= time.time() + 6
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert again.status_code == 200 and "X-RateLimit-Limit" in again.headers


def test_a_bad_token_is_refused(fake: Fake) -> None:
    answer = httpx.get(f"{fake.url}/v2/user", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 403
    assert answer.json()["error"]["invalidToken"] is True


def test_a_preview_is_neither_promoted_nor_rolled_back_to_but_redeployed_to_production(
    fake: Fake,
) -> None:
    with _api(fake) as api:
        assert _upload(api, b"x").status_code == 200
        preview = _create(api, fake, {"index.html": b"x"}).json()
        ready = wait_until(
            lambda: api.get(f"/v13/deployments/{preview['id']}").json(),
            lambda d: d["readyState"] == "READY",
            timeout=10,
        )
        project = fake.project.id
        refused_promote = api.post(f"/v10/projects/{project}/promote/{preview['id']}", json={})
        refused_rollback = api.post(f"/v1/projects/{project}/rollback/{preview['id']}")
        copy = api.post(
            "/v13/deployments",
            json={"name": fake.project.name, "deploymentId": preview["id"], "target": "production"},
        ).json()
        wait_until(
            lambda: api.get(f"/v13/deployments/{copy['id']}").json()["readyState"],
            lambda state: state == "READY",
            timeout=10,
        )
        second = _create(api, fake, {"index.html": b"x"}, target="production").json()
        wait_until(
            lambda: api.get(f"/v9/projects/{project}").json()["targets"]["production"]["id"],
            lambda live: live == second["id"],
            timeout=10,
        )
        back = api.post(f"/v1/projects/{project}/rollback/{copy['id']}")
        listed = api.get("/v6/deployments", params={"projectId": project}).json()
    assert ready["target"] is None
    assert refused_promote.status_code == 400 and refused_rollback.status_code == 422
    assert back.status_code == 201 and fake.project.production == copy["id"]
    assert fake.project.rolled_back is True
    candidates = {d["uid"]: d["isRollbackCandidate"] for d in listed["deployments"]}
    assert candidates == {preview["id"]: False, copy["id"]: True, second["id"]: True}
    assert len(fake.uploads()) == 1, "the copy names the preview's files: nothing to upload"


def test_the_program_prints_ready_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wave_sdk_vercel.fake", "--project", "shop"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        project = proc.stdout.readline().split()
        assert project[:2] == ["project", "shop"] and ready[0] == "ready"
        answer = httpx.get(f"{ready[1]}/v9/projects/shop", headers={"Authorization": "Bearer t"})
        assert answer.json()["id"] == project[2]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_nothing_is_served_before_a_deployment_and_a_dropped_answer_is_logged(
    fake: Fake,
) -> None:
    assert httpx.get(f"http://{fake.project.domain}/index.html").status_code == 404
    fake.inject(drop=True, path="^/v2/user$")
    with pytest.raises(httpx.TransportError), _api(fake) as api:
        api.get("/v2/user")
    assert [(r.path, r.status, r.fault) for r in fake.requests()] == [("/v2/user", 0, True)]
