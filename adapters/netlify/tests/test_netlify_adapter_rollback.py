"""Rollback on Netlify is publishing an earlier deploy again: the site serves it again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from netlify_kit import TOKEN, Fake
from netlify_project import ENVIRONMENT, TARGET, wave_for
from netlify_sites import fetch

from wave_sdk import Release
from wave_sdk.errors import ReleaseNotFound, WaveError

pytest_plugins = ["wave_sdk.testing.plugin"]


def _write(root: Path, version: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(f"<h1>{version}</h1>\n")
    (root / "version.json").write_text(f'{{"version": "{version}"}}')
    return root


def test_rollback_restores_the_previous_deploy_and_a_named_one(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    for version in ("r1", "r2"):
        report = wave.deploy(
            ENVIRONMENT, release=Release(id=version, source=_write(tmp_path / version, version))
        )
        assert report.outcome == "succeeded"
    assert fetch(fake.site.url, "index.html").text == "<h1>r2</h1>\n"
    uploads = len(fake.uploads())

    [result] = wave.rollback(ENVIRONMENT)
    assert (result.from_release, result.to_release) == ("r2", "r1")
    assert fetch(fake.site.url, "index.html").text == "<h1>r1</h1>\n"
    assert len(fake.uploads()) == uploads, "a restore uploads nothing"
    assert [r.status for r in fake.requests("POST", "/restore")] == [201]

    [result] = wave.rollback(ENVIRONMENT, to="r2")
    assert result.to_release == "r2"
    assert fetch(fake.site.url, "index.html").text == "<h1>r2</h1>\n"
    [status] = wave.status(ENVIRONMENT)
    assert status.current == "r2"

    with wave.open_target(TARGET, ENVIRONMENT) as adapter, pytest.raises(ReleaseNotFound):
        adapter.rollback("r9")


def test_a_locked_site_fails_clearly_and_publishes_nothing(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    for version in ("r1", "r2"):
        wave.deploy(
            ENVIRONMENT, release=Release(id=version, source=_write(tmp_path / version, version))
        )
    live = fake.site.published_deploy
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(f"{fake.api_url}/deploys/{live}/lock", headers=headers).status_code == 200

    with wave.open_target(TARGET, ENVIRONMENT) as adapter:
        with pytest.raises(WaveError, match="auto publishing is locked to deploy"):
            adapter.rollback()
        with pytest.raises(WaveError, match="auto publishing is locked to deploy"):
            adapter.deploy(Release(id="r3", source=_write(tmp_path / "r3", "r3")))
    assert fake.site.published_deploy == live
    assert fetch(fake.site.url, "index.html").text == "<h1>r2</h1>\n"
    assert fake.requests("POST", "/restore") == []
