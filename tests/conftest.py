"""Shared fixtures: a throw-away project (tests/projects.py), PostgreSQL (tests/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from projects import Project, temporary_project

pytest_plugins = ["wave_sdk.testing.plugin"]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with temporary_project(tmp_path) as proj:
        yield proj


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL server for the session (see tests/postgres.py); skips without one."""
    from postgres import running_cluster

    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def dbs(postgres: Any) -> Any:
    """Two fresh databases, staging and production, holding schema v1 (tests/postgres.py)."""
    from postgres import fresh_databases

    return fresh_databases(postgres)
