"""What the Netlify tests share besides fixtures.

A module of its own: test modules import from here, never from ``conftest``, a module
name every test directory reuses.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from netlify_spec import SpecCheck
from wave_sdk_netlify.fake import FakeNetlify
from wave_sdk_netlify.fake.state import Site

REPO = Path(__file__).resolve().parents[3]
TOKEN = "t"
"""The bearer token the ``fake`` fixture accepts (and the only one)."""


def node_prefix() -> Path:
    """Where scripts/install-test-deps installs netlify-cli and @netlify/open-api."""
    return Path(os.environ.get("WAVE_NETLIFY_PREFIX") or REPO / ".venv" / "node")


class Fake(FakeNetlify):
    """The ``fake`` fixture: a :class:`FakeNetlify` with its site and its spec check."""

    site: Site
    check: SpecCheck


RunNetlify = Callable[..., subprocess.CompletedProcess[str]]
