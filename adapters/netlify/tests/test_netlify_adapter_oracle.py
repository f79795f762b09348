"""The adapter and netlify-cli leave the same site: the oracle agrees, file by file.

The adapter deploys a directory through ``Wave.deploy``; then the real ``netlify deploy
--prod`` deploys the same directory to the same fake. Both deploys hold the same paths with
the same SHA-1s (netlify-cli adds only its resolved ``netlify.toml``), so the CLI finds
every file already there; and both deploys serve byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from netlify_kit import Fake, RunNetlify
from netlify_project import ENVIRONMENT, wave_for
from netlify_sites import served_differently, write_site

from wave_sdk import Release


def test_the_adapter_and_netlify_cli_leave_the_same_site(
    fake: Fake, netlify: RunNetlify, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    files = write_site(site, pages=120)
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    report = wave.deploy(ENVIRONMENT, release=Release(id="r1", source=site))
    assert report.outcome == "succeeded"
    [ours] = fake.store.deploys.values()
    uploaded = len(fake.uploads())

    out = netlify("deploy", "--prod", "--no-build", "--dir", str(site))
    assert out.returncode == 0, out.stdout
    [cli] = [d for d in fake.store.deploys.values() if d.id != ours.id]
    assert cli.state == "ready"
    assert fake.uploads()[uploaded:] == ["netlify.toml"], "the CLI found every file there"
    assert {p: s for p, s in cli.files.items() if p != "netlify.toml"} == ours.files
    assert served_differently(ours.url, files) == []
    assert served_differently(cli.url, files) == []
