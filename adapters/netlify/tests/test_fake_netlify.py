"""The fake Netlify by itself: the flow an adapter will drive, through wave_sdk.digests.

Every answer is checked against the published spec by the ``fake`` fixture; what is
asserted here is what the fake does (what it serves, stores and logs), not what it says.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from netlify_kit import TOKEN, Fake
from netlify_sites import fetch, served_differently, write_site
from netlify_spec import SpecCheck
from wave_sdk_netlify.fake import Exchange

from wave_sdk.digests import RetryPolicy, Upload, build_manifest, upload
from wave_sdk.testing.served import wait_until


@pytest.fixture
def api(fake: Fake) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=fake.api_url, headers=headers, timeout=10) as client:
        yield client


def deploy_dir(
    fake: Fake, api: httpx.Client, root: Path, **body: Any
) -> tuple[dict[str, Any], list[str]]:
    """What the adapter will do: manifest, create with it, upload ``required``, wait ready."""
    manifest = build_manifest(root)
    created = api.post(
        f"/sites/{fake.site.id}/deploys", json={"files": manifest.digests(), **body}
    ).json()
    if created["state"] == "preparing":
        created = wait_until(
            lambda: api.get(f"/sites/{fake.site.id}/deploys/{created['id']}").json(),
            lambda d: d["state"] != "preparing",
            timeout=10,
        )
    todo = manifest.needing(created["required"])
    base = f"{fake.api_url}/deploys/{created['id']}/files"
    upload(api, [Upload(f, f"{base}/{f.path}") for f in todo], policy=RetryPolicy(deadline_s=30))
    ready = wait_until(
        lambda: api.get(f"/deploys/{created['id']}").json(),
        lambda d: d["state"] in ("ready", "error"),
        timeout=10,
    )
    return ready, [f.path for f in todo]


def test_wave_sdk_digests_deploy_through_the_fake(
    fake: Fake, api: httpx.Client, tmp_path: Path
) -> None:
    files = write_site(tmp_path / "v1")
    first, sent = deploy_dir(fake, api, tmp_path / "v1")
    assert first["state"] == "ready"
    assert sorted(sent) == sorted(files), "every path of each required digest, duplicates too"
    assert served_differently(first["deploy_url"], files) == []
    assert served_differently(fake.site.url, files) == []
    assert api.get(f"/sites/{fake.site.id}").json()["published_deploy"]["id"] == first["id"]

    # One file changed: only its digest is required, only it is uploaded.
    (tmp_path / "v1" / "css" / "app.css").write_bytes(b"body { color: #456 }\n")
    second, sent = deploy_dir(fake, api, tmp_path / "v1")
    assert sent == ["css/app.css"]
    assert fetch(fake.site.url, "css/app.css").content == b"body { color: #456 }\n"
    # Each deploy keeps its own URL: the first still serves what it was.
    assert fetch(first["deploy_url"], "css/app.css").content == files["css/app.css"]
    assert second["deploy_url"] != first["deploy_url"]


def test_upload_must_match_the_manifest(fake: Fake, api: httpx.Client) -> None:
    good = b"hello\n"
    sha = hashlib.sha1(good).hexdigest()
    deploy = api.post(f"/sites/{fake.site.id}/deploys", json={"files": {"/a.txt": sha}}).json()
    assert deploy["state"] == "prepared" and deploy["required"] == [sha]
    wrong = api.put(f"/deploys/{deploy['id']}/files/a.txt", content=b"other\n")
    assert wrong.status_code == 422 and "was different" in wrong.json()["message"]
    stray = api.put(f"/deploys/{deploy['id']}/files/b.txt", content=good)
    assert stray.status_code == 404
    assert api.get(f"/deploys/{deploy['id']}").json()["state"] == "prepared"
    ok = api.put(f"/deploys/{deploy['id']}/files/a.txt", content=good)
    assert ok.status_code == 200 and ok.json()["sha"] == sha
    assert fake.store.blobs[sha] == good


def test_files_and_functions_prepared_uploading_uploaded_ready(
    fake: Fake, api: httpx.Client
) -> None:
    a, b, fn = b"a\n", b"b\n", b"PK\x03\x04 a function zip"
    body = {
        "files": {"a.txt": hashlib.sha1(a).hexdigest(), "b.txt": hashlib.sha1(b).hexdigest()},
        "functions": {"hello": hashlib.sha256(fn).hexdigest()},
    }
    deploy = api.post(f"/sites/{fake.site.id}/deploys", json=body).json()
    assert deploy["required_functions"] == [hashlib.sha256(fn).hexdigest()]
    states = [deploy["state"]]
    for path, data in (("files/a.txt", a), ("files/b.txt", b), ("functions/hello", fn)):
        assert api.put(f"/deploys/{deploy['id']}/{path}", content=data).status_code == 200
        states.append(api.get(f"/deploys/{deploy['id']}").json()["state"])
    assert states == ["prepared", "uploading", "uploading", "uploaded"]
    ready = wait_until(
        lambda: api.get(f"/deploys/{deploy['id']}").json()["state"],
        lambda s: s == "ready",
        timeout=5,
    )
    assert ready == "ready"
    assert fetch(fake.site.url, "b.txt").content == b


def test_states_async_draft_publish_restore_lock(
    fake: Fake, api: httpx.Client, tmp_path: Path
) -> None:
    site = fake.site.id
    v1 = write_site(tmp_path / "v1")
    first, _ = deploy_dir(fake, api, tmp_path / "v1")

    # Async (as netlify-cli asks over 100 files): preparing, then prepared with required.
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "index.html").write_bytes(b"<h1>v2</h1>\n")
    manifest = build_manifest(tmp_path / "v2")
    body = {"files": manifest.digests(leading_slash=True), "async": True}
    created = api.post(f"/sites/{site}/deploys", json=body).json()
    seen = [created["state"]]
    url = f"/sites/{site}/deploys/{created['id']}"
    diffed = wait_until(lambda: api.get(url).json(), lambda d: d["state"] != "preparing", timeout=5)
    seen.append(diffed["state"])
    assert seen == ["preparing", "prepared"]
    assert diffed["required"] == [manifest.files[0].digest]
    api.put(f"/deploys/{created['id']}/files/index.html", content=b"<h1>v2</h1>\n")
    seen += [api.get(url).json()["state"]]
    seen += [wait_until(lambda: api.get(url).json()["state"], lambda s: s == "ready", timeout=5)]
    assert seen == ["preparing", "prepared", "uploaded", "ready"]
    assert fetch(fake.site.url, "").content == b"<h1>v2</h1>\n"

    # A draft is ready at its own URL and not published.
    (tmp_path / "v1" / "index.html").write_bytes(b"<h1>draft</h1>\n")
    draft, _ = deploy_dir(fake, api, tmp_path / "v1", draft=True)
    assert draft["draft"] is True and "published_at" not in draft
    assert fetch(draft["deploy_url"], "").content == b"<h1>draft</h1>\n"
    assert fetch(fake.site.url, "").content == b"<h1>v2</h1>\n"

    # Restore the first deploy: 201, and the site serves it again.
    restored = api.post(f"/sites/{site}/deploys/{first['id']}/restore")
    assert restored.status_code == 201
    assert served_differently(fake.site.url, v1) == []

    # Locked: a new production deploy is ready but not published; restore is refused.
    assert api.post(f"/deploys/{first['id']}/lock").json()["locked"] is True
    (tmp_path / "v1" / "index.html").write_bytes(b"<h1>v3</h1>\n")
    third, _ = deploy_dir(fake, api, tmp_path / "v1")
    assert third["state"] == "ready" and "published_at" not in third
    assert fetch(fake.site.url, "").content == v1["index.html"]
    refused = api.post(f"/sites/{site}/deploys/{third['id']}/restore")
    assert refused.status_code == 422 and "locked" in refused.json()["message"]
    api.post(f"/deploys/{first['id']}/unlock")
    assert api.post(f"/sites/{site}/deploys/{third['id']}/restore").status_code == 201
    assert fetch(fake.site.url, "").content == b"<h1>v3</h1>\n"

    # Rollback: the deploy published before this one.
    assert api.put(f"/sites/{site}/rollback").status_code == 204
    assert served_differently(fake.site.url, v1) == []

    # List: newest first, filters, pages.
    listed = api.get(f"/sites/{site}/deploys").json()
    assert [d["id"] for d in listed][::-1] == sorted(
        (d["id"] for d in listed), key=lambda i: fake.store.deploys[i].created
    )
    assert len(listed) == 4
    assert all(not d["draft"] for d in api.get(f"/sites/{site}/deploys?production=true").json())
    assert len(api.get(f"/sites/{site}/deploys?per_page=3&page=2").json()) == 1

    # Cancel: an unfinished deploy ends in error; a ready one cannot be cancelled.
    pending = api.post(f"/sites/{site}/deploys", json={"files": {"x.html": "0" * 40}}).json()
    cancelled = api.post(f"/deploys/{pending['id']}/cancel")
    assert cancelled.status_code == 201 and cancelled.json()["state"] == "error"
    assert api.post(f"/deploys/{first['id']}/cancel").status_code == 422


def test_rate_limit_headers_auth_and_faults(fake: Fake, api: httpx.Client) -> None:
    for response in (
        api.get(f"/sites/{fake.site.id}"),
        api.get("/sites/nope"),
        httpx.get(f"{fake.api_url}/sites/{fake.site.id}"),  # no token
    ):
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
            response.headers
        )
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
    assert httpx.get(f"{fake.api_url}/sites/{fake.site.id}").status_code == 401

    fake.inject(status=429, retry_after=2, reset_in=3, times=1, path="/sites/")
    fake.inject(status=503, times=1)
    fake.inject(delay=0.5, times=1)
    limited = api.get(f"/sites/{fake.site.id}")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert int(limited.headers["x-ratelimit-reset"]) >= time.time() + 2
    assert api.get(f"/sites/{fake.site.id}").status_code == 503
    started = time.monotonic()
    assert api.get(f"/sites/{fake.site.id}").status_code == 200
    assert time.monotonic() - started >= 0.5
    fake.inject(drop=True)
    with pytest.raises(httpx.TransportError):
        api.get(f"/sites/{fake.site.id}")

    fake.inject(status=429, retry_after=5, retry_after_date=True)
    dated = api.get(f"/sites/{fake.site.id}").headers["retry-after"]
    assert 3 <= email.utils.parsedate_to_datetime(dated).timestamp() - time.time() <= 6
    log = fake.requests("GET", f"/sites/{fake.site.id}")
    assert [r.status for r in log][-6:] == [401, 429, 503, 200, 0, 429]
    put = api.put(f"/sites/{fake.site.id}/deploys/none", content=b"{}")
    assert put.status_code == 404
    assert fake.requests("PUT")[-1].bytes_in == 2


def test_the_spec_check_catches_an_answer_off_the_spec(spec_path: Path) -> None:
    check = SpecCheck(spec_path)
    template = "/sites/{site_id}/deploys/{deploy_id}"
    check(Exchange("GET", template, 200, None, {"id": 1, "stat": "ready"}))
    check(Exchange("POST", "/deploys/{deploy_id}/cancel", 200, None, {}))
    assert len(check.violations) == 3, check.violations


def test_the_program_prints_ready_and_ends_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wave_sdk_netlify.fake", "--site", "s1", "--token", "k"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "ready" and line[1].endswith("/api/v1")
        site = httpx.get(f"{line[1]}/sites/s1", headers={"Authorization": "Bearer k"}).json()
        assert site["id"] == "s1" and site["url"].startswith("http://127.0.0.1:")
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
