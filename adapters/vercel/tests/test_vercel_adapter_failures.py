"""A deployment that fails says which and why, and production stays as it was."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from vercel_kit import Fake, mismatches, site
from vercel_project import TARGET, wave_for
from wave_sdk_vercel.errors import DeploymentFailed, ProjectNotFound, VercelAuthFailed

from wave_sdk import Release
from wave_sdk.digests import UploadFailed
from wave_sdk.testing.served import wait_until


def test_a_build_in_error_fails_naming_the_deployment_the_message_and_the_log(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    files = site(tmp_path / "v1")
    wave.deploy("production", release=Release(id="v1", source=tmp_path / "v1"))
    (tmp_path / "v1" / "index.html").write_text("<h1>v2</h1>\n")
    log = ["Installing", "Running build", "Error: out of memory", "Command exited with 137"]
    fake.fail_builds("Command exited with 137", log)
    with (
        wave.open_target(TARGET, "production") as adapter,
        pytest.raises(DeploymentFailed) as caught,
    ):
        adapter.deploy(Release(id="v2", source=tmp_path / "v1"))
    failed = next(d for d in fake.store.deployments.values() if d.state == "ERROR")
    message = str(caught.value)
    assert message.startswith(f"Vercel deployment {failed.id} failed: Command exited with 137")
    assert "Error: out of memory | Command exited with 137" in message, "the log's last lines"
    assert "\n" not in message
    assert caught.value.deployment_id == failed.id
    assert mismatches(fake, f"http://{fake.project.domain}", files) == []


def test_a_deployment_canceled_while_building_fails_naming_it(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    site(tmp_path / "v1")
    fake.store.build_delay = 30.0

    def cancel() -> None:  # someone cancels it in the dashboard while it builds
        found = wait_until(lambda: list(fake.store.deployments.values()), bool, timeout=20)
        with fake.lock:
            fake.store.cancel(found[0])

    canceller = threading.Thread(target=cancel)
    canceller.start()
    with (
        wave.open_target(TARGET, "production") as adapter,
        pytest.raises(DeploymentFailed, match="was canceled"),
    ):
        adapter.deploy(Release(id="v1", source=tmp_path / "v1"))
    canceller.join(20)
    assert fake.project.production is None


def test_a_refused_upload_fails_at_once_naming_the_file(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave, _ = wave_for(tmp_path / "project", fake, monkeypatch)
    site(tmp_path / "v1")
    fake.inject(status=400, message="File size is not valid", method="POST", path="^/v2/files$")
    with (
        wave.open_target(TARGET, "production") as adapter,
        pytest.raises(UploadFailed, match="File size is not valid"),
    ):
        adapter.deploy(Release(id="v1", source=tmp_path / "v1"))
    assert [r.status for r in fake.requests("POST", "/v2/files") if r.fault] == [400]
    assert fake.store.deployments == {}


def test_a_wrong_token_and_a_wrong_project_say_which_and_what_to_fix(
    fake: Fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site(tmp_path / "v1")
    wave, _ = wave_for(tmp_path / "a", fake, monkeypatch, token="wrong-token")
    with (
        wave.open_target(TARGET, "production") as adapter,
        pytest.raises(VercelAuthFailed) as caught,
    ):
        adapter.deploy(Release(id="v1", source=tmp_path / "v1"))
    assert "wrong-token" not in str(caught.value) + str(caught.value.hint)
    wave, _ = wave_for(tmp_path / "b", fake, monkeypatch, project="no-such-project")
    with (
        wave.open_target(TARGET, "production") as adapter,
        pytest.raises(ProjectNotFound, match="no-such-project"),
    ):
        adapter.status()
