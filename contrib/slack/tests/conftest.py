"""Fixtures of the Slack plugin's tests: a project (tests/projects.py) and a webhook."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The core's test helpers (tests/projects.py, tests/run_kit.py), shared rather than copied.
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from projects import Project, temporary_project
from slack_server import RecordingWebhook


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with temporary_project(tmp_path) as proj:
        yield proj


@pytest.fixture
def webhook() -> Iterator[RecordingWebhook]:
    server = RecordingWebhook()
    yield server
    server.stop()
