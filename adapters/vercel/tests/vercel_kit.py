"""What the Vercel tests share besides fixtures.

A module of its own: test modules import from here, never from ``conftest``, a module
name every test directory reuses.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from vercel_spec import SpecCheck
from wave_sdk_vercel.fake import FakeVercel
from wave_sdk_vercel.fake.state import Project

REPO = Path(__file__).resolve().parents[3]
TOKEN = "t"
"""The bearer token the ``fake`` fixture accepts (and the only one)."""


def node_prefix() -> Path:
    """Where scripts/install-test-deps installs the vercel CLI and @vercel/sdk's spec."""
    return Path(os.environ.get("WAVE_VERCEL_PREFIX") or REPO / ".venv" / "vercel")


class Fake(FakeVercel):
    """The ``fake`` fixture: a :class:`FakeVercel` with its project and its spec check."""

    project: Project
    check: SpecCheck


RunVercel = Callable[..., subprocess.CompletedProcess[str]]


def write_site(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` (relative path → content) under ``root``; return ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root
