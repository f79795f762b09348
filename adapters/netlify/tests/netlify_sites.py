"""Sites to deploy, and what a visitor gets from one: the bytes served at each path."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import httpx


def write_site(root: Path, *, pages: int = 0) -> dict[str, bytes]:
    """A small static site plus ``pages`` generated pages; returns path → bytes.

    Nested paths, a space in a name, binary bytes, ``.well-known`` and two paths with the
    same content (each must be uploaded, notes §5.5).
    """
    index = b"<!doctype html><h1>wave</h1><link rel=stylesheet href=/css/app.css>\n"
    files: dict[str, bytes] = {
        "index.html": index,
        "css/app.css": b"body { color: #123 }\n",
        "img/logo.bin": os.urandom(200_000),
        "docs/with space.txt": b"a name with a space\n",
        "docs/index.html": b"<h1>docs</h1>\n",
        "copy-of-index.html": index,
        ".well-known/security.txt": b"Contact: mailto:security@example.com\n",
    }
    for n in range(pages):
        files[f"pages/{n:04d}.html"] = f"<p>page {n}</p>\n".encode()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def fetch(origin: str, path: str) -> httpx.Response:
    """``GET origin/path`` as a browser asks for it (the path percent-encoded)."""
    return httpx.get(f"{origin}/{urllib.parse.quote(path)}", timeout=10)


def served_differently(origin: str, files: dict[str, bytes]) -> list[str]:
    """The paths whose bytes at ``origin`` are not ``files``' (empty: all identical)."""
    wrong = []
    for path, data in files.items():
        response = fetch(origin, path)
        if response.status_code != 200 or response.content != data:
            wrong.append(f"{path}: {response.status_code}, {len(response.content)} bytes")
    return wrong
