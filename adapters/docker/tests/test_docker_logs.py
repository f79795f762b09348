"""The bake window reads the live container's log (``docker logs --since``), on a real engine.

A release whose container logs errors while every health endpoint answers well is rolled
back when the lines cross the error threshold; one whose lines match no pattern is kept.
What answers on the target's port afterwards says which.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker_testkit as kit
import pytest

from wave_sdk.errors import VerificationFailed
from wave_sdk.models import Release

BAKE = {
    "duration": 0.6,
    "interval": 0.1,
    "max_error_rate": 0.05,
    "log_patterns": ["Traceback", "ERROR .*refused"],
}


def served(target: dict[str, Any]) -> str:
    """The release answering on the target's port now."""
    url = f"http://127.0.0.1:{target['port']}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(json.load(response)["version"])


def test_error_lines_in_the_container_log_roll_the_release_back(
    tmp_path: Path, target: dict[str, Any], context: Callable[..., Path]
) -> None:
    wave = kit.wave_for(tmp_path / "project", target, bake=BAKE)
    calm = context("v1", log=("INFO payment accepted",))
    assert wave.deploy(kit.ENVIRONMENT, release=Release(id="v1", source=calm)).outcome == (
        "succeeded"
    )
    # Printed once, at start: five failures among some twenty-five probes — over the
    # threshold, and too many for "working for most users" (95%), so rolled back.
    noisy = context("v2", log=("ERROR payment refused by the gateway",) * 5)
    with pytest.raises(VerificationFailed) as info:
        wave.deploy(kit.ENVIRONMENT, release=Release(id="v2", source=noisy))
    said = str(info.value)
    assert "'ERROR .*refused' on web: ERROR payment refused by the gateway" in said, said
    assert served(target) == "v1", "rolled back: v1's container answers again"
    bake = wave.history(kit.ENVIRONMENT)[-1].verification["bake"]
    assert bake["log_lines_matched"] == 5 and bake["log_matches"][0]["pattern"] == (
        "ERROR .*refused"
    )


def test_lines_that_match_no_pattern_keep_the_release(
    tmp_path: Path, target: dict[str, Any], context: Callable[..., Path]
) -> None:
    wave = kit.wave_for(tmp_path / "project", target, bake=BAKE)
    release = Release(id="v1", source=context("v1", log=("WARN payment slow, not refused",)))
    report = wave.deploy(kit.ENVIRONMENT, release=release)
    assert report.outcome == "succeeded" and report.bake is not None
    assert report.bake["log_lines_matched"] == 0 and not report.bake["logs_unread"]
    assert served(target) == "v1"
