"""Pytest fixtures for adapter authors.

Opt in from a ``conftest.py`` with ``pytest_plugins = ["wave_sdk.testing.plugin"]``.
"""

from __future__ import annotations

import pytest

from wave_sdk import secrets
from wave_sdk.testing import free_port as _free_port


@pytest.fixture
def free_port() -> int:
    """A TCP port that is free on 127.0.0.1."""
    return _free_port()


@pytest.fixture(autouse=True)
def _forget_secrets() -> None:
    """Secrets registered by one test's configuration must not mask another's output."""
    secrets.clear()
