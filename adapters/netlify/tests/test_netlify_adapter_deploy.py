"""The Netlify adapter through ``Wave.deploy`` against the fake: judged by what is served.

Every answer of the fake is checked against Netlify's published spec by the ``fake``
fixture; the assertions here are on what the fake serves, stores and logged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netlify_kit import TOKEN, Fake
from netlify_project import ENVIRONMENT, TARGET, wave_for
from netlify_sites import fetch, served_differently, write_site

from wave_sdk import Release, Wave
from wave_sdk.errors import WaveError

pytest_plugins = ["wave_sdk.testing.plugin"]


def _deploy(wave: Wave, release: str, source: Path) -> str:
    report = wave.deploy(ENVIRONMENT, release=Release(id=release, source=source))
    assert report.outcome == "succeeded"
    [result] = report.deployed
    assert result.url is not None
    return result.url


def test_deploy_serves_the_site_and_a_redeploy_uploads_only_the_changed_file(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    site = tmp_path / "site"
    files = write_site(site, pages=150)  # over 100 files: an async diff

    url = _deploy(wave, "r1", site)
    assert url == fake.site.url
    assert served_differently(url, files) == []
    assert sorted(fake.uploads()) == sorted(files), "every path of each required digest"
    [created] = fake.requests("POST", "/deploys")
    assert created.query == "title=wave+r1"

    (site / "css" / "app.css").write_bytes(b"body { color: #456 }\n")
    before = len(fake.uploads())
    _deploy(wave, "r2", site)
    assert fake.uploads()[before:] == ["css/app.css"]
    assert fetch(fake.site.url, "css/app.css").content == b"body { color: #456 }\n"
    assert fetch(fake.site.url, "index.html").content == files["index.html"]

    [status] = wave.status(ENVIRONMENT)
    assert (status.current, status.state, status.url) == ("r2", "running", fake.site.url)
    assert status.releases[:2] == ("r2", "r1")


def test_a_link_out_of_the_site_is_refused_before_any_request(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    site = tmp_path / "site"
    write_site(site)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web\n")
    os.symlink(secret, site / "leak.txt")
    with wave.open_target(TARGET, ENVIRONMENT) as adapter, pytest.raises(WaveError) as caught:
        adapter.deploy(Release(id="r1", source=site))
    assert "leak.txt" in str(caught.value)
    assert fake.requests() == []


def test_429_with_retry_after_then_503_still_deploys(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, reporter = wave_for(tmp_path / "project", fake, monkeypatch)
    site = tmp_path / "site"
    files = write_site(site)
    fake.inject(status=429, retry_after=1, times=1, method="POST", path=r"/deploys$")
    fake.inject(status=429, retry_after=2, times=3, method="PUT", path="/files/")
    fake.inject(status=503, times=2, method="PUT", path="/files/")
    started = time.monotonic()
    url = _deploy(wave, "r1", site)
    assert time.monotonic() - started >= 3.0, "waited what the API asked (1 s, then 2 s)"
    assert served_differently(url, files) == []
    faulted = [r.status for r in fake.requests() if r.fault]
    assert faulted == [429, 429, 429, 429, 503, 503]
    retries = [e.message for e in reporter.events if "as the server asked" in e.message]
    assert len(retries) == 4, "each 429 retry is reported"


def test_a_draft_target_leaves_the_site_unpublished(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch, production=False)
    site = tmp_path / "site"
    files = write_site(site)
    url = _deploy(wave, "preview-1", site)
    assert url != fake.site.url
    assert served_differently(url, files) == []
    assert fake.served(fake.site.url, "index.html") is None
    [status] = wave.status(ENVIRONMENT)
    assert (status.current, status.url) == ("preview-1", url)


@pytest.mark.parametrize("verbose", [True, False], ids=["-v", "quiet"])
def test_the_cli_shows_each_retry_with_v_only(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verbose: bool
) -> None:
    """``wave -v deploy`` through 429 (Retry-After: 2) three times, then 503 twice."""
    project = tmp_path / "project"
    files = write_site(project / "dist")
    (project / "wave.toml").write_text(
        f"""
[environments.live]
target = "site"
allow_lower_approvals = true

[targets.site]
adapter = "netlify"
token = "${{NETLIFY_AUTH_TOKEN}}"
site = "{fake.site.id}"
api_url = "{fake.api_url}"

[health]
endpoints = []
consecutive = 1

[approvals.deploy]
live = "L5"
"""
    )
    fake.inject(status=429, retry_after=2, times=3, method="PUT", path="/files/")
    fake.inject(status=503, times=2, method="PUT", path="/files/")
    env = {**os.environ, "NETLIFY_AUTH_TOKEN": TOKEN, "CI": "1"}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "wave"),
            *(["-v"] if verbose else []),
            *("deploy", "--env", ENVIRONMENT, "--release", "r1"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    log = fake.requests("PUT", "/files/")
    assert [r.status for r in log if r.fault] == [429, 429, 429, 503, 503]
    for refused in (r for r in log if r.status == 429):
        again = next(r for r in log if r.path == refused.path and r.started > refused.started)
        # Both times are taken as the answer leaves, so the retry's is at least the wait
        # after the refusal's (it was sent after the client had the refusal).
        assert again.started - refused.started >= 2.0, "waited as asked"
    [deploy] = fake.store.deploys.values()
    assert served_differently(deploy.url, files) == []
    retries = [line for line in done.stderr.splitlines() if "; attempt " in line]
    if verbose:
        assert sum("429" in line and "as the server asked" in line for line in retries) == 3
        assert sum("503" in line for line in retries) == 2
    else:
        assert retries == []
