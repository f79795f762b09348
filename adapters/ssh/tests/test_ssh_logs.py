"""The bake window reads the app's pm2 log files over SSH, on a real sshd host with pm2.

A release whose app logs errors while every health endpoint answers well is rolled back
once the lines cross the error threshold; one whose lines match no pattern is kept. What
answers on the host's app port afterwards says which; lines of the release before never
count (the log files are pm2's, shared by every release of the app).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import sshd_farm as kit

from wave_sdk.errors import VerificationFailed
from wave_sdk.models import Release

BAKE = {
    "duration": 0.6,
    "interval": 0.1,
    "max_error_rate": 0.05,
    "log_patterns": ["Traceback", "ERROR .*refused"],
}


def served(host: kit.SSHHost) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{host.app_port}/", timeout=5) as response:
        return str(json.load(response)["version"])


def release(tmp_path: Path, version: str, line: str) -> Release:
    """The test app printing ``line`` at every request."""
    source = kit.write_app(tmp_path / "src" / version, version, log=[line])
    return Release(id=version, source=source)


def baking_host(farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project) -> kit.SSHHost:
    """One host, and the project's environment `fleet` deploying to it with BAKE."""
    [host] = start_hosts(1)
    url = f"http://127.0.0.1:{host.app_port}"
    project.write(farm.target([host], url=url), endpoints=["/api/health"], bake=BAKE)
    return host


def test_error_lines_in_the_pm2_log_roll_the_release_back(
    tmp_path: Path, farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project
) -> None:
    host = baking_host(farm, start_hosts, project)
    wave = project.wave()
    # v1 logs errors of its own kind before v2 comes: they are not v2's.
    v1 = release(tmp_path, "v1", "ERROR job refused (v1, before the deploy)")
    with pytest.raises(VerificationFailed):
        wave.deploy("fleet", release=v1)  # the first release has nothing to go back to
    v2 = release(tmp_path, "v2", "INFO payment accepted")
    assert wave.deploy("fleet", release=v2).outcome == "succeeded", "v1's lines did not count"
    v3 = release(tmp_path, "v3", "ERROR payment refused by the gateway")
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("fleet", release=v3)
    said = str(info.value)
    assert "'ERROR .*refused' on web: ERROR payment refused by the gateway" in said, said
    assert served(host) == "v2", "rolled back: v2 answers again"
    bake = wave.history("fleet")[-1].verification["bake"]
    assert bake["log_lines_matched"] > 0 and not bake["logs_unread"]


def test_lines_that_match_no_pattern_keep_the_release(
    tmp_path: Path, farm: kit.Farm, start_hosts: kit.StartHosts, project: kit.Project
) -> None:
    host = baking_host(farm, start_hosts, project)
    report = project.wave().deploy(
        "fleet", release=release(tmp_path, "v1", "WARN slow, not refused")
    )
    assert report.outcome == "succeeded" and report.bake is not None
    assert report.bake["log_lines_matched"] == 0 and not report.bake["logs_unread"]
    assert served(host) == "v1"
