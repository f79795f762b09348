"""What the Vercel tests share besides fixtures.

A module of its own: test modules import from here, never from ``conftest``, a module
name every test directory reuses.
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import httpx
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


def site(root: Path, **extra: bytes) -> dict[str, bytes]:
    """A small static site under ``root`` (plus ``extra`` files); returns path → bytes.

    Nested paths, a space in a name, binary bytes, ``.well-known``, and two paths with the
    same content (Vercel stores content: one upload for both).
    """
    page = b"<!doctype html><h1>wave</h1><script src=/js/app.js></script>\n"
    files = {
        "index.html": page,
        "js/app.js": b"console.log('wave')\n",
        "img/logo.bin": os.urandom(150_000),
        "docs/a b.txt": b"a name with a space\n",
        "copy.html": page,
        ".well-known/security.txt": b"Contact: mailto:security@example.com\n",
        **{name.replace("__", "/"): data for name, data in extra.items()},
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def mismatches(fake: FakeVercel, url: str, files: dict[str, bytes]) -> list[str]:
    """Paths whose bytes over HTTP at ``url`` are not ``files``' (``[]``: byte-identical)."""
    wrong = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for name, data in files.items():
            answer = client.get("/" + urllib.parse.quote(name))
            if answer.status_code != 200 or answer.content != data:
                wrong.append(f"{name}: {answer.status_code}, {len(answer.content)} bytes")
    return wrong
