"""The vercel CLI is the oracle: it completes against the fake, and serves what wave serves.

``vercel deploy --prebuilt --prod --api <fake>`` (60.1.3, pinned by install-test-deps)
uploads with ``x-now-digest``, reads ``missing_files``, polls until READY with
``aliasAssigned``: if the fake did any of it otherwise, the CLI would fail or hang here.
Both tools deploy the same Build Output directory; the bytes each deployment serves over
HTTP must be the same, and the same as the files on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vercel_kit import Fake, RunVercel, mismatches, site
from vercel_project import TARGET, wave_for

from wave_sdk import Release

pytestmark = pytest.mark.real("vercel")


def _build_output(work: Path) -> dict[str, bytes]:
    """``work/.vercel/output`` as ``vercel build`` leaves it for a static site."""
    output = work / ".vercel" / "output"
    files = site(output / "static")
    (output / "config.json").write_text(json.dumps({"version": 3}))
    return files


def test_the_cli_deploys_against_the_fake_and_serves_the_bytes_wave_serves(
    fake: Fake, vercel: RunVercel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    files = _build_output(work)
    done = vercel("deploy", "--prebuilt", "--prod", cwd=work)
    assert done.returncode == 0, done.stdout
    [by_cli] = fake.store.deployments.values()
    assert by_cli.state == "READY" and by_cli.target == "production"
    assert f"Production      https://{by_cli.url}" in done.stdout
    cli_uploads = fake.requests("POST", "/v2/files")
    assert cli_uploads and all(r.headers.get("x-now-digest") for r in cli_uploads)
    assert len(fake.uploads()) == len(set(files.values())) + 1, "the site and config.json"
    assert mismatches(fake, f"http://{by_cli.url}", files) == []

    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    with wave.open_target(TARGET, "production") as adapter:
        result = adapter.deploy(Release(id="r1", source=work / ".vercel" / "output"))
    assert result.details["uploaded"] == 0, "the CLI stored every file already"
    by_wave = fake.store.deployments[result.details["deployment_id"]]
    assert by_wave.files == by_cli.files, "the same paths with the same digests"
    assert mismatches(fake, f"http://{by_wave.url}", files) == []
    assert mismatches(fake, f"http://{fake.project.domain}", files) == []


def test_after_wave_deploys_the_cli_finds_nothing_missing_and_takes_production(
    fake: Fake, vercel: RunVercel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    files = _build_output(work)
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    url = wave.deploy("production", release=Release(id="r1", source=work / ".vercel" / "output"))
    assert url.outcome == "succeeded"
    uploads = len(fake.uploads())

    done = vercel("deploy", "--prebuilt", "--prod", cwd=work)
    assert done.returncode == 0, done.stdout
    assert len(fake.uploads()) == uploads, "the CLI uploaded nothing: wave's digests match"
    creates = [r.status for r in fake.requests("POST", "/v13/deployments")]
    assert creates[-1] == 200 and creates.count(400) == 1, "only wave's first create missed"
    by_cli = max(fake.store.deployments.values(), key=lambda d: d.created)
    assert fake.project.production == by_cli.id
    assert mismatches(fake, f"http://{fake.project.domain}", files) == []
    [status] = wave.status("production")
    assert status.current is None, "a deployment by the CLI is not taken for a wave release"
    assert status.state == "running"


def test_the_cli_lists_rolls_back_and_promotes_what_wave_deployed_and_wave_sees_it(
    fake: Fake, vercel: RunVercel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    ids = {}
    for release in ("r1", "r2"):
        site(tmp_path / release, **{"version.txt": release.encode()})
        report = wave.deploy("production", release=Release(id=release, source=tmp_path / release))
        [result] = report.deployed
        ids[release] = result.details["deployment_id"]
    work = tmp_path / "work"
    work.mkdir()

    listed = vercel("ls", cwd=work)
    assert listed.returncode == 0, listed.stdout
    for deployment_id in ids.values():
        assert f"https://{fake.store.deployments[deployment_id].url}" in listed.stdout

    back = vercel("rollback", ids["r1"], cwd=work)
    assert back.returncode == 0 and "rolled back" in back.stdout, back.stdout
    [status] = wave.status("production")
    assert status.current == "r1"
    assert fake.served(f"http://{fake.project.domain}", "version.txt") == b"r1"

    promoted = vercel("promote", ids["r2"], cwd=work)
    assert promoted.returncode == 0 and "promoted" in promoted.stdout, promoted.stdout
    [status] = wave.status("production")
    assert status.current == "r2"
    assert fake.served(f"http://{fake.project.domain}", "version.txt") == b"r2"
