"""A 10,000-file site: the redeploy with one changed file uploads exactly that file."""

from __future__ import annotations

from pathlib import Path

import pytest
from netlify_kit import Fake
from netlify_project import ENVIRONMENT, TARGET, wave_for
from netlify_sites import fetch

from wave_sdk import Release


def test_a_one_file_change_in_10000_files_uploads_one_file(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    for n in range(10_000):
        page = site / f"p{n // 100:03d}" / f"{n:05d}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<p>page {n}</p>\n")
    (site / "index.html").write_text("<h1>v1</h1>\n")
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch, concurrency=16)
    with wave.open_target(TARGET, ENVIRONMENT) as adapter:
        adapter.deploy(Release(id="v1", source=site))
        assert len(fake.uploads()) == 10_001
        (site / "p042" / "04242.html").write_text("<p>changed</p>\n")
        adapter.deploy(Release(id="v2", source=site))
    assert fake.uploads()[10_001:] == ["p042/04242.html"]
    assert fetch(fake.site.url, "p042/04242.html").text == "<p>changed</p>\n"
    assert fetch(fake.site.url, "p099/09999.html").text == "<p>page 9999</p>\n"
