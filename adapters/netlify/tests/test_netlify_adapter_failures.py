"""A deploy that fails leaves the published site as it was, and its deploy cancelled."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from netlify_kit import Fake
from netlify_project import ENVIRONMENT, TARGET, wave_for
from netlify_sites import fetch, write_site
from wave_sdk_netlify.errors import DeployFailed

from wave_sdk import Release
from wave_sdk.digests import UploadFailed
from wave_sdk.testing.served import wait_until


def test_a_refused_upload_fails_at_once_and_cancels_the_deploy(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    files = write_site(tmp_path / "v1")
    wave.deploy(ENVIRONMENT, release=Release(id="v1", source=tmp_path / "v1"))
    (tmp_path / "v1" / "index.html").write_text("<h1>v2</h1>\n")
    before = len(fake.requests())
    fake.inject(status=422, message="File too big", method="PUT", path="/files/index.html")
    with wave.open_target(TARGET, ENVIRONMENT) as adapter, pytest.raises(UploadFailed) as caught:
        adapter.deploy(Release(id="v2", source=tmp_path / "v1"))
    assert "File too big" in str(caught.value) and "index.html" in str(caught.value)
    sent = [r for r in fake.requests()[before:] if r.path.endswith("/files/index.html")]
    assert [r.status for r in sent] == [422], "no retry"
    [cancel] = fake.requests("POST", "/cancel")
    assert cancel.status == 201
    assert fetch(fake.site.url, "index.html").content == files["index.html"]


def test_a_deploy_in_error_fails_naming_it_and_netlifys_message(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    write_site(tmp_path / "v1")
    fake.store.process_delay = 30.0  # uploaded, then processing: time to break it

    def break_it() -> None:  # Netlify failing the deploy while it processes
        uploaded = wait_until(
            lambda: [d for d in fake.store.deploys.values() if d.state == "uploaded"],
            bool,
            timeout=20,
        )
        with fake.lock:
            uploaded[0].state, uploaded[0].error_message = "error", "Build script returned 2"

    breaker = threading.Thread(target=break_it)
    breaker.start()
    with wave.open_target(TARGET, ENVIRONMENT) as adapter, pytest.raises(DeployFailed) as caught:
        adapter.deploy(Release(id="v1", source=tmp_path / "v1"))
    breaker.join(20)
    [deploy] = fake.store.deploys.values()
    assert str(caught.value).startswith(f"Netlify deploy {deploy.id} failed: Build script")
    assert fake.site.published_deploy is None
    assert fake.served(fake.site.url, "index.html") is None
