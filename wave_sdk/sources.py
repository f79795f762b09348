"""What a release is made of: the entries of a source directory, walked once and checked.

Every way a local directory leaves this machine goes through :func:`walk` — the ``local``
target's copy and the SSH adapter's archive (both through ``Transport.put_tree``) — and so
does the digest a release without a commit is approved by (:func:`wave_sdk.content.digest`):
they agree on what a release contains and refuse the same things, before the first byte is
copied or uploaded (for a deploy, when the release is identified):

* a symbolic link is kept as a link, and only when it stays inside the tree: relative, and
  resolving inside the source directory both as written and on disk. A link out of the
  tree would ship a file its author never meant to (a ``secret.txt`` one directory up) or
  read forever (``/dev/zero``); an absolute link into the tree would point the release
  back at the source directory.
* device files, FIFOs and sockets are refused: reading one blocks or never ends, and none
  belongs in an application's release.

A Docker build context, or any future way of shipping a directory, should walk it here too.
Written by hand because neither :func:`shutil.copytree` nor :mod:`tarfile` can refuse a
tree before starting: they follow every link or keep every link, and read what they find.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wave_sdk.errors import UsageError, clip


@dataclass(frozen=True)
class Entry:
    """One entry of a source tree, as a release will hold it."""

    path: str
    """Relative to the source directory, with ``/`` separators (``static/app.js``)."""
    kind: Literal["dir", "file", "link"]
    target: str = ""
    """A link's target, exactly as written (always relative and inside the tree)."""


def walk(
    root: Path,
    *,
    exclude: Sequence[str] = (),
    skip: Collection[Path] = (),
    strict: bool = True,
) -> list[Entry]:
    """The entries of ``root``, parents before children, sorted by name within a directory.

    Args:
        root: the source directory (it may itself be reached through a link).
        exclude: name patterns (:mod:`fnmatch`) left out at any depth, with all they hold.
        skip: entries, as resolved absolute paths, left out wherever they appear (the
            release layout's own root when it lies inside the source; the files wave
            writes into a project, for its digest).
        strict: refuse what may not ship (the default). Without it, for a digest of a
            directory that is not shipped as it is (the project, standing for the
            targets' sources), every link is kept as written and special files are left
            out.

    Raises:
        UsageError: naming the first entry that leaves the tree or is not a file, a
            directory or a link (and how many more there are), with the fix; nothing has
            been read from any file then.

    """
    real_root = os.path.realpath(root)
    if not os.path.isdir(real_root):
        raise UsageError(f"source {root} is not a directory", hint="pass a directory as source")
    skipped = {str(p) for p in skip}
    # One expression for all the patterns: a site has thousands of names to test.
    excluded = re.compile("|".join(fnmatch.translate(p) for p in exclude)) if exclude else None
    entries: list[Entry] = []
    problems: list[tuple[str, str, str]] = []
    pending = [""]  # relative directories still to read: a stack, so depth costs no recursion
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(os.path.join(real_root, directory)) as found:
                children = sorted(found, key=lambda e: e.name)
        except OSError as exc:
            raise UsageError(
                f"source {root}: cannot read {directory or '.'}: {exc.strerror}",
                hint="make it readable, or deploy another directory",
            ) from None
        subdirectories = []
        for child in children:
            if excluded is not None and excluded.match(child.name):
                continue
            relative = posixpath.join(directory, child.name) if directory else child.name
            if skipped and os.path.join(real_root, relative) in skipped:  # no link on the way
                continue
            # The kind the directory listing gives (no system call), else the entry's lstat.
            if child.is_symlink():
                mode = stat.S_IFLNK
            elif child.is_dir(follow_symlinks=False):
                mode = stat.S_IFDIR
            elif child.is_file(follow_symlinks=False):
                mode = stat.S_IFREG
            else:
                mode = child.stat(follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                target = os.readlink(child.path)
                reason = _link_problem(real_root, relative, target) if strict else ""
                if reason:
                    problems.append((relative, reason, _LINK_FIX))
                else:
                    entries.append(Entry(relative, "link", target))
            elif stat.S_ISDIR(mode):
                entries.append(Entry(relative, "dir"))
                subdirectories.append(relative)
            elif stat.S_ISREG(mode):
                entries.append(Entry(relative, "file"))
            elif strict:
                problems.append((relative, f"is {_special(mode)}", _SPECIAL_FIX))
        pending.extend(reversed(subdirectories))
    if problems:
        relative, reason, fix = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"source {root}: {clip(relative)!r} {reason}{more}", hint=fix)
    return sorted(entries, key=lambda e: e.path.split("/"))


_LINK_FIX = "replace the link with a copy of what it points to, or remove it from the source"
_SPECIAL_FIX = "remove it from the source directory: a release holds files, directories and links"


def _link_problem(real_root: str, relative: str, target: str) -> str:
    """Why the link at ``relative`` may not ship, or ``""`` when it stays inside the tree."""
    shown = clip(target)
    if posixpath.isabs(target):
        return f"is a link to the absolute path {shown!r} (a release may hold relative links only)"
    # As written: what the link means once copied into the release directory …
    lexical = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
    # … and on disk: through other links, ``..`` after a link may still climb out.
    resolved = os.path.realpath(os.path.join(real_root, relative))
    if lexical == ".." or lexical.startswith("../") or not _inside(resolved, real_root):
        return f"is a link to {shown!r}, outside the source directory"
    return ""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _special(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
