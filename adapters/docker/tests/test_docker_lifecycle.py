"""What the adapter keeps, reuses, pulls and prunes, and what it never imports too early."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest
from docker import APIClient
from docker.errors import ImageNotFound as SdkImageNotFound

from wave_sdk import Release
from wave_sdk.config import parse_config
from wave_sdk.errors import ConfigError


def _live(api: APIClient, name: str) -> dict[str, Any]:
    info: dict[str, Any] = api.inspect_container(name)
    return info


def _names(api: APIClient, label: str) -> list[str]:
    rows = api.containers(all=True, filters={"label": label})
    return sorted(row["Names"][0].lstrip("/") for row in rows)


def test_retention_keeps_live_and_previous_and_untags_the_rest(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
) -> None:
    wave = kit.wave_for(tmp_path, {**target, "keep": 2})
    for rid in ("r1", "r2", "r3", "r4"):
        wave.deploy(kit.ENVIRONMENT, release=Release(id=rid, source=context(rid)))
    name, image = target["name"], target["image"]
    assert _names(docker_api, cleanup) == [name, f"{name}--r3"]
    with wave.open_target(kit.TARGET, kit.ENVIRONMENT) as adapter:
        assert adapter.releases() == ["r4", "r3"]
    for gone in ("r1", "r2"):
        with pytest.raises(SdkImageNotFound):
            docker_api.inspect_image(f"{image}:{gone}")
    docker_api.inspect_image(f"{image}:r3")  # still there: the rollback target's image
    [result] = wave.rollback(kit.ENVIRONMENT)
    assert (result.from_release, result.to_release) == ("r4", "r3")
    # A rollback removes the container it left; the image stays for a redeploy by id.
    assert _names(docker_api, cleanup) == [name]
    docker_api.inspect_image(f"{image}:r4")


def test_same_release_with_new_settings_gets_a_new_container(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
) -> None:
    source = context("r1")
    first = kit.wave_for(tmp_path, {**target, "env": {"GREETING": "hello"}})
    first.deploy(kit.ENVIRONMENT, release=Release(id="r1", source=source))
    before = _live(docker_api, target["name"])
    assert "GREETING=hello" in before["Config"]["Env"]
    assert f"PORT={target['port']}" in before["Config"]["Env"]

    again = kit.wave_for(tmp_path, {**target, "env": {"GREETING": "hi"}})
    again.deploy(kit.ENVIRONMENT, release=Release(id="r1", source=source))
    after = _live(docker_api, target["name"])
    assert after["Id"] != before["Id"]
    assert "GREETING=hi" in after["Config"]["Env"]
    assert _names(docker_api, cleanup) == [target["name"]]  # the old one is removed
    with again.open_target(kit.TARGET, kit.ENVIRONMENT) as adapter:
        assert adapter.releases() == ["r1"]


def test_a_stopped_live_container_is_started_again_by_a_redeploy(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
) -> None:
    wave = kit.wave_for(tmp_path, target)
    release = Release(id="r1", source=context("r1"))
    wave.deploy(kit.ENVIRONMENT, release=release)
    docker_api.stop(target["name"], timeout=5)
    [report] = wave.status(kit.ENVIRONMENT)
    assert (report.state, report.current) == ("stopped", "r1")
    assert not all(r.ok for r in wave.health(kit.ENVIRONMENT)[kit.TARGET])
    wave.deploy(kit.ENVIRONMENT, release=release)
    assert _live(docker_api, target["name"])["State"]["Running"]
    [report] = wave.status(kit.ENVIRONMENT)
    assert report.state == "running"


def test_an_image_only_in_the_registry_is_pulled(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
) -> None:
    image = target["image"]
    label = dict([cleanup.split("=")])
    for _ in docker_api.build(path=str(context("p1")), tag=f"{image}:p1", labels=label, rm=True):
        pass
    for _ in docker_api.push(image, tag="p1", stream=True):
        pass
    docker_api.remove_image(f"{image}:p1")

    wave = kit.wave_for(tmp_path, target)  # no `build`, no --source: pull it
    wave.deploy(kit.ENVIRONMENT, release="p1")
    assert any("pulling" in e.message for e in wave.reporter.events)  # type: ignore[attr-defined]
    [report] = wave.status(kit.ENVIRONMENT)
    assert report.details["digest"].startswith(f"{image}@sha256:")
    assert report.details["health"] == "healthy"


def test_secret_reaches_the_container_and_no_output(
    tmp_path: Path,
    target: dict[str, Any],
    context: Callable[..., Path],
    docker_api: APIClient,
    cleanup: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAVE_TEST_API_TOKEN", "tok-5ecret-value")
    wave = kit.wave_for(tmp_path, {**target, "env": {"API_TOKEN": "${WAVE_TEST_API_TOKEN}"}})
    wave.deploy(kit.ENVIRONMENT, release=Release(id="r1", source=context("r1")))
    assert "API_TOKEN=tok-5ecret-value" in _live(docker_api, target["name"])["Config"]["Env"]
    seen = [e.message for e in wave.reporter.events]  # type: ignore[attr-defined]
    seen += [p.read_text() for p in tmp_path.rglob("*.json*") if p.is_file()]
    seen.append(str(wave.status(kit.ENVIRONMENT)))
    assert not any("tok-5ecret-value" in text for text in seen)


def test_configuration_errors_name_the_key_and_the_fix() -> None:
    def validate(**keys: Any) -> str:
        with pytest.raises(ConfigError) as info:
            parse_config(
                {
                    "environments": {"staging": {"target": "web"}},
                    "targets": {"web": {"adapter": "docker", **keys}},
                },
                file=Path("/nowhere/wave.toml"),
            ).target_settings("web", _plugins())
        return str(info.value)

    message = validate(image="127.0.0.1:5000/app:latest")
    assert "targets.web.image" in message and "write the repository only" in message
    message = validate(image="app", network="host", ports={"80": 8080})
    assert 'ports are not published with network = "host"' in message
    message = validate(image="app", labels={"wave.release": "x"})
    assert "targets.web.labels" in message and "wave's own" in message
    message = validate(image="app", memory="lots")
    assert "targets.web.memory" in message and "512m" in message


def _plugins() -> Any:
    from wave_sdk.plugins import get_plugin_manager

    return get_plugin_manager()


def test_listing_and_validating_never_import_the_docker_sdk(tmp_path: Path) -> None:
    (tmp_path / "wave.toml").write_text(
        '[environments.staging]\ntarget = "web"\n\n'
        '[targets.web]\nadapter = "docker"\nimage = "127.0.0.1:5000/app"\nport = 8080\n'
    )
    code = (
        "import sys\n"
        "from wave_sdk.cli import main\n"
        "assert main(['adapters']) == 0\n"
        "assert main(['config', 'validate']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m == 'docker' or m.startswith(('docker.', "
        "'requests', 'wave_sdk_docker.adapter')))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "1"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "docker" in result.stdout


def test_the_sdk_is_imported_without_paramiko_unless_an_ssh_engine_needs_it() -> None:
    # paramiko comes with docker[ssh], a dependency of the adapter: never a reason to skip.
    code = (
        "import sys\n"
        "from wave_sdk_docker import engine\n"
        "engine.import_sdk(ssh=False)\n"
        "assert 'docker' in sys.modules and 'paramiko' not in sys.modules\n"
        "import paramiko\n"  # hidden only while docker-py was imported
        "engine.import_sdk(ssh=True)\n"
        "from docker import APIClient\n"
        "try:\n"
        "    APIClient(base_url='ssh://nobody@127.0.0.1:1', version='1.41', timeout=2)\n"
        "except Exception as exc:\n"
        "    assert not isinstance(exc, NameError), exc\n"
        "    assert 'Install paramiko' not in str(exc), exc\n"
        "print('ssh transport ready')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ssh transport ready" in result.stdout
