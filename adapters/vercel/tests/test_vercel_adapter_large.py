"""A 10,000-file site: the redeploy with one changed file uploads exactly that file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from vercel_kit import Fake
from vercel_project import TARGET, wave_for

from wave_sdk import Release


def test_a_one_file_change_in_10000_files_uploads_one_file(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    for n in range(10_000):
        page = site / f"p{n // 100:03d}" / f"{n:05d}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<p>page {n}</p>\n")
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch, concurrency=16)
    with wave.open_target(TARGET, "production") as adapter:
        adapter.deploy(Release(id="v1", source=site))
        assert len(fake.uploads()) == 10_000
        (site / "p042" / "04242.html").write_text("<p>changed</p>\n")
        adapter.deploy(Release(id="v2", source=site))
    [changed] = fake.uploads()[10_000:]
    assert fake.store.blobs[changed] == b"<p>changed</p>\n"
    domain = f"http://{fake.project.domain}"
    assert httpx.get(f"{domain}/p042/04242.html").text == "<p>changed</p>\n"
    assert httpx.get(f"{domain}/p099/09999.html").text == "<p>page 9999</p>\n"
