"""The Vercel adapter through ``Wave`` against the fake: judged by what is served.

Every answer of the fake is checked against Vercel's published spec by the ``fake``
fixture; the assertions here are on what the fake serves, stores and logged.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from vercel_kit import Fake, mismatches, site
from vercel_project import TARGET, wave_for

from wave_sdk import Release, Wave
from wave_sdk.errors import ReleaseNotFound, WaveError

pytest_plugins = ["wave_sdk.testing.plugin"]


def _deploy(wave: Wave, environment: str, release: str, source: Path) -> str:
    report = wave.deploy(environment, release=Release(id=release, source=source))
    assert report.outcome == "succeeded"
    [result] = report.deployed
    assert result.url is not None
    return result.url


def test_production_deploys_upload_only_what_changed_and_serve_it(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    files = site(tmp_path / "site")
    domain = f"http://{fake.project.domain}"

    assert _deploy(wave, "production", "r1", tmp_path / "site") == domain
    assert mismatches(fake, domain, files) == []
    assert len(fake.uploads()) == len(set(files.values())), "one upload per distinct content"
    creates = fake.requests("POST", "/v13/deployments")
    assert [r.status for r in creates] == [400, 200], "missing_files, then created"
    assert all(r.headers.get("x-vercel-digest") for r in fake.requests("POST", "/v2/files"))

    (tmp_path / "site" / "js" / "app.js").write_bytes(b"console.log('v2')\n")
    before = len(fake.uploads())
    _deploy(wave, "production", "r2", tmp_path / "site")
    [changed] = fake.uploads()[before:]
    assert fake.store.blobs[changed] == b"console.log('v2')\n"
    assert mismatches(fake, domain, {**files, "js/app.js": b"console.log('v2')\n"}) == []

    [status] = wave.status("production")
    assert (status.current, status.state, status.url) == ("r2", "running", domain)
    assert status.releases[:2] == ("r2", "r1")
    rows = status.details["deployments"]
    assert [(r["release"], r["state"], r["target"]) for r in rows[:2]] == [
        ("r2", "READY", "production"),
        ("r1", "READY", "production"),
    ]
    assert rows[0]["creator"] == "wave-test" and rows[0]["url"]


def test_staging_preview_promoted_to_production_ships_the_same_bytes_and_uploads_nothing(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(
        tmp_path / "project", fake, monkeypatch, environments=("staging", "production")
    )
    files = site(tmp_path / "site")
    domain = f"http://{fake.project.domain}"

    preview = _deploy(wave, "staging", "r1", tmp_path / "site")
    assert preview != domain
    assert mismatches(fake, preview, files) == []
    assert fake.served(domain, "index.html") is None, "a preview is not production"
    [deployment] = fake.store.deployments.values()
    assert deployment.target is None
    [staging] = wave.status("staging")
    assert (staging.current, staging.url) == ("r1", preview)

    uploads, creates = len(fake.uploads()), len(fake.requests("POST", "/v13/deployments"))
    report = wave.deploy("production", release=Release(id="r1", source=tmp_path / "site"))
    [result] = report.deployed
    assert result.url == domain
    assert result.details["promoted"] is True
    assert len(fake.uploads()) == uploads, "nothing uploaded again"
    # A preview cannot be promoted directly: a production deployment of its files, as
    # `vercel promote` creates one; its create finds every file there (no missing_files).
    [copy_create] = fake.requests("POST", "/v13/deployments")[creates:]
    assert copy_create.status == 200
    copy = fake.store.deployments[fake.project.production or ""]
    assert copy.target == "production" and copy.id != deployment.id
    assert copy.files == deployment.files
    assert copy.meta["wavePromotedFrom"] == deployment.id
    assert mismatches(fake, domain, files) == []
    [production] = wave.status("production")
    assert (production.current, production.url) == ("r1", domain)


def test_rollback_to_the_previous_then_to_a_named_release_and_deploy_after(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    domain = f"http://{fake.project.domain}"
    sites = {}
    for release in ("r1", "r2", "r3"):
        sites[release] = site(tmp_path / release, **{"version.txt": release.encode()})
        _deploy(wave, "production", release, tmp_path / release)
    uploads = len(fake.uploads())

    [back] = wave.rollback("production")
    assert (back.from_release, back.to_release) == ("r3", "r2")
    assert mismatches(fake, domain, sites["r2"]) == []
    [request] = fake.requests("POST", "/rollback/")
    assert request.path.startswith("/v1/projects/") and request.status == 201

    [named] = wave.rollback("production", to="r1")
    assert (named.from_release, named.to_release) == ("r2", "r1")
    assert mismatches(fake, domain, sites["r1"]) == []
    assert len(fake.uploads()) == uploads, "a rollback uploads nothing"
    [status] = wave.status("production")
    assert status.current == "r1"

    # After a rollback Vercel leaves new production deployments STAGED: the adapter promotes.
    sites["r4"] = site(tmp_path / "r4", **{"version.txt": b"r4"})
    _deploy(wave, "production", "r4", tmp_path / "r4")
    assert mismatches(fake, domain, sites["r4"]) == []
    assert [r.status for r in fake.requests("POST", "/promote/")] == [201]


def test_429_with_retry_after_three_times_then_503_twice_still_deploys(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, reporter = wave_for(tmp_path / "project", fake, monkeypatch)
    files = site(tmp_path / "site")
    fake.inject(status=429, retry_after=1, times=3, method="POST", path="^/v13/deployments$")
    fake.inject(status=503, times=2, method="POST", path="^/v2/files$")
    started = time.monotonic()
    url = _deploy(wave, "production", "r1", tmp_path / "site")
    assert time.monotonic() - started >= 3.0, "waited what the API asked (1 s, three times)"
    assert mismatches(fake, url, files) == []
    faulted = [(r.path, r.status) for r in fake.requests() if r.fault]
    assert faulted == [("/v13/deployments", 429)] * 3 + [("/v2/files", 503)] * 2
    asked = [e.message for e in reporter.events if "as the server asked" in e.message]
    assert len(asked) == 3, "each 429 retry is reported"


def test_a_link_out_of_the_site_is_refused_before_any_request(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    site(tmp_path / "site")
    (tmp_path / "secret.txt").write_text("not for the web\n")
    os.symlink(tmp_path / "secret.txt", tmp_path / "site" / "leak.txt")
    with wave.open_target(TARGET, "production") as adapter, pytest.raises(WaveError) as caught:
        adapter.deploy(Release(id="r1", source=tmp_path / "site"))
    assert "leak.txt" in str(caught.value)
    assert fake.requests() == []


def test_promote_by_release_and_aliases_follow_production_in_the_team_scope(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(
        tmp_path / "project",
        fake,
        monkeypatch,
        environments=("staging", "production"),
        team="team_wavetest",
        aliases=["shop.example.com"],
    )
    shop = fake.alias_url("shop.example.com")
    sites = {r: site(tmp_path / r, **{"version.txt": r.encode()}) for r in ("r1", "r2")}
    with wave.open_target(TARGET, "production") as production:
        first = production.deploy(Release(id="r1", source=tmp_path / "r1"))
        assert first.url == "http://shop.example.com", "production's URL is the first alias"
        assert mismatches(fake, shop, sites["r1"]) == []
    with wave.open_target(TARGET, "staging") as staging:
        staging.deploy(Release(id="r2", source=tmp_path / "r2"))
        assert mismatches(fake, shop, sites["r1"]) == [], "a preview moves no alias"
    uploads = len(fake.uploads())
    with wave.open_target(TARGET, "production") as production:
        promoted = production.promote("r2")
        assert (promoted.release, promoted.previous) == ("r2", "r1")
        assert mismatches(fake, shop, sites["r2"]) == []
        assert mismatches(fake, f"http://{fake.project.domain}", sites["r2"]) == []
        production.rollback()
        assert mismatches(fake, shop, sites["r1"]) == [], "rollback moves the alias back"
        with pytest.raises(ReleaseNotFound, match="r9"):
            production.promote("r9")
    assert len(fake.uploads()) == uploads
    assert all("teamId=team_wavetest" in r.query for r in fake.requests()), "every request"
