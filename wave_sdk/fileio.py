"""Crash-safe file writes, shared by the state store and the signal writer."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old file or the new, never half.

    Temporary file in the same directory, fsync, rename over the target, fsync the
    directory: a SIGKILL or power loss at any point leaves no torn file behind (at worst a
    stray ``.tmp`` that no reader looks at).

    The file is mode 0600 (``mkstemp`` creates it so, and the rename keeps it), whatever
    the old file's mode: what wave writes may hold a command's or an app's output.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
