"""The adapter and netlify-cli leave the same site: the oracle agrees, file by file.

The adapter deploys a directory through ``Wave.deploy``; then the real ``netlify deploy
--prod`` deploys the same directory to the same fake. Both deploys hold the same paths with
the same SHA-1s (netlify-cli adds only its resolved ``netlify.toml``), so the CLI finds
every file already there; and both deploys serve byte-identical files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from netlify_kit import Fake, RunNetlify
from netlify_project import ENVIRONMENT, wave_for
from netlify_sites import served_differently, write_site

from wave_sdk import Release
from wave_sdk.errors import WaveError


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


def test_functions_built_by_netlify_cli_go_up_as_netlify_cli_sends_them(
    fake: Fake, netlify: RunNetlify, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``functions_dir`` holds what ``netlify functions:build`` writes; both send it alike.

    The oracle: after the adapter's deploy, ``netlify deploy --functions`` of the same
    directory names the same functions with the same SHA-256 and finds nothing to upload.
    """
    site = tmp_path / "site"
    files = write_site(site)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hello.mjs").write_text(
        'export default async () => new Response("hello from wave")\n'
    )
    built = netlify("functions:build", "--src", "src", "--functions", "built")
    assert built.returncode == 0, built.stdout
    zips = {p.stem: p.read_bytes() for p in (tmp_path / "built").glob("*.zip")}
    assert list(zips) == ["hello"]

    wave, _ = wave_for(
        tmp_path / "project", fake, monkeypatch, functions_dir=str(tmp_path / "built")
    )
    assert wave.deploy(ENVIRONMENT, release=Release(id="r1", source=site)).outcome == "succeeded"
    [ours] = fake.store.deploys.values()
    assert ours.functions == {"hello": hashlib.sha256(zips["hello"]).hexdigest()}
    sent = fake.requests("PUT", "/functions/")
    assert [(r.path.rsplit("/", 1)[1], r.query, r.bytes_in) for r in sent] == [
        ("hello", "runtime=js", len(zips["hello"]))
    ]
    assert fake.store.blobs[ours.functions["hello"]] == zips["hello"]
    assert served_differently(ours.url, files) == []

    out = netlify("deploy", "--prod", "--no-build", "--dir", str(site), "--functions", "built")
    assert out.returncode == 0, out.stdout
    [cli] = [d for d in fake.store.deploys.values() if d.id != ours.id]
    assert cli.functions == ours.functions
    assert len(fake.requests("PUT", "/functions/")) == 1, "the CLI found the function there"

    # An unchanged function is not sent again; a source file is refused before any request.
    assert wave.deploy(ENVIRONMENT, release=Release(id="r2", source=site)).outcome == "succeeded"
    assert len(fake.requests("PUT", "/functions/")) == 1
    (tmp_path / "built" / "other.mjs").write_text("export default () => 1\n")
    before = len(fake.store.deploys), len(fake.requests("PUT"))
    with pytest.raises(WaveError, match=r"other\.mjs is not a built function"):
        wave.deploy(ENVIRONMENT, release=Release(id="r3", source=site))
    assert (len(fake.store.deploys), len(fake.requests("PUT"))) == before
