"""What a release is: the commit of a clean checkout, or the digest of the files deployed.

Approvals bind to code, history records it, signals announce it — so a release must say
truthfully which code it carries. :func:`identify` looks at the directory being deployed
(``--source``, else the project) and answers with exactly one of:

* **a commit**, when that directory is a clean checkout of the project repository's
  ``HEAD``: it holds tracked files and ``git status`` finds nothing changed or untracked
  under it. Ignored files (dependencies, build output, ``.env``) do not count, by git's own
  rule; neither do the files wave itself writes into a project (``.wave/``, the signals
  directory, the validation report, backups), or a deploy would dirty the next one.
* **a digest** (``sha256:…`` over every file's path and bytes, wave's own files left out),
  with the reason there is no commit: uncommitted changes, a directory outside the
  repository, no repository at all.

A commit is never claimed for code that is not in it; a digest approval
(``wave approve --digest``) covers exactly the bytes it was computed over.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

from wave_sdk.errors import GitError, UsageError
from wave_sdk.releases import EXCLUDE
from wave_sdk.sources import Entry, walk

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig

DIGEST_PREFIX = "sha256:"


@dataclass(frozen=True)
class Content:
    """A source's identity: ``commit`` or ``digest``, and why there is no commit."""

    commit: str | None
    digest: str | None
    why_not_commit: str | None = None


def identify(config: WaveConfig, source: Path | None) -> Content:
    """The commit ``source`` (default: the project) is a clean checkout of, or its digest.

    The digest of an explicit ``source`` covers exactly what ships from it (and refuses
    what may not ship). Without one, the project stands for the targets' sources: its
    digest covers, in a repository, the files git sees (tracked, and untracked but not
    ignored — not a virtual environment or ``node_modules``), else every file.
    """
    from wave_sdk.git import head_commit

    root = config.root.resolve()
    directory = (source or root).resolve()
    own = wave_paths(config, directory)
    head = head_commit(root)

    def of(why: str, *, seen_by_git: bool = False) -> Content:
        if source is None and seen_by_git:
            return Content(None, _hash(root, _entries_git_sees(root, own)), why)
        return Content(None, digest(directory, own, strict=source is not None), why)

    if head is None:
        return of("the project is not a git repository, or has no commit yet")
    top = _toplevel(root)
    if top is None or not directory.is_relative_to(top):
        return of(f"the source {directory} is outside the repository {top or root}")
    changed = _changed(root, directory, config)
    if changed is None:
        return of(f"the source {directory} holds no file of commit {head[:12]}")
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        shown = ", ".join(changed[:3]) + more
        why = f"the source has changes not committed in {head[:12]} ({shown})"
        return of(why, seen_by_git=True)
    return Content(head, None)


def resolve_commit(config: WaveConfig, commit: str) -> str:
    """The full SHA of ``commit`` (a short SHA, a branch, a tag) in the project repository.

    Raises:
        UsageError: the repository does not know it — an approval for a commit that does
            not exist would never match anything, silently.

    """
    from wave_sdk import git

    try:
        done = git.run(
            config.root,
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{commit}^{{commit}}",
            check=False,
        )
        known = done.returncode == 0 and done.stdout.strip()
    except GitError:
        known = ""
    if known:
        return known
    full = len(commit) in (40, 64) and all(c in "0123456789abcdef" for c in commit)
    if full and git.head_commit(config.root) is None:
        return commit  # no repository to ask: a full SHA is taken as written
    raise UsageError(
        f"commit {commit[:40]!r} is not in the repository at {config.root}",
        hint="name a commit that exists (a full or short SHA, a branch or a tag); "
        "fetch it first if it is on the remote only",
    )


def check_digest(value: str) -> str:
    """``value`` if it is a digest this module makes (``sha256:`` and 64 hex digits)."""
    hexpart = value.removeprefix(DIGEST_PREFIX)
    if (
        not value.startswith(DIGEST_PREFIX)
        or len(hexpart) != 64
        or not all(c in "0123456789abcdef" for c in hexpart)
    ):
        raise UsageError(
            f"digest {value[:80]!r} is not sha256:<64 hex digits>",
            hint="copy it from `wave plan` or from the refusal that asked for it",
        )
    return value


def digest(directory: Path, left_out: frozenset[Path] = frozenset(), *, strict: bool = True) -> str:
    """``sha256:`` over what a release of ``directory`` holds: each entry's path, kind, bytes.

    The entries are those :func:`wave_sdk.sources.walk` gives a release's copy, so the
    digest covers what ships, and a source it refuses (a link out of the tree, a device)
    has no digest either — unless not ``strict`` (see ``walk``). Symbolic links count by
    their target's text, not followed; an executable file differs from the same bytes
    without the bit; ``left_out`` (absolute paths) and the names in
    :data:`wave_sdk.releases.EXCLUDE` (never copied into a release) are skipped.
    """
    return _hash(directory, walk(directory, exclude=EXCLUDE, skip=left_out, strict=strict))


def _hash(directory: Path, entries: Iterable[Entry]) -> str:
    ordered = [e for e in sorted(entries, key=lambda e: e.path.split("/")) if e.kind != "dir"]
    hashed = iter(
        _hash_files([os.path.join(directory, e.path) for e in ordered if e.kind == "file"])
    )
    total = hashlib.sha256()
    for entry in ordered:
        total.update(entry.path.encode(errors="surrogateescape") + b"\0")
        if entry.kind == "link":
            total.update(b"l" + entry.target.encode(errors="surrogateescape") + b"\0")
            continue
        executable, file_digest = next(hashed)
        total.update(b"x" if executable else b"f")
        total.update(file_digest)
    return DIGEST_PREFIX + total.hexdigest()


WORKERS = 2
"""Threads hashing files: hashlib lets go of the GIL, and a 300 MB site is a second of
SHA-256 on one core of this kind of machine (bench/static_deploy.py)."""
BATCH = 64
"""Files per task: a site is mostly small files, and one task per file costs more than
hashing it."""


def _hash_files(paths: list[str]) -> list[tuple[bool, bytes]]:
    """Each file's executable bit and SHA-256, in the order given."""
    batches = [paths[i : i + BATCH] for i in range(0, len(paths), BATCH)]
    if len(batches) <= 1:
        return [found for batch in batches for found in _hash_batch(batch)]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="wave-digest") as pool:
        return [found for batch in pool.map(_hash_batch, batches) for found in batch]


def _hash_batch(paths: list[str]) -> list[tuple[bool, bytes]]:
    return [_file_sha256(path) for path in paths]


def _file_sha256(path: str) -> tuple[bool, bytes]:
    """The file's executable bit and SHA-256 (its SHA-1, from the same read, is remembered).

    See :func:`recall`. Opened without following a link and without blocking, and checked
    to be a regular file from the open descriptor: the walk saw a file, and one swapped
    since for a link out of the tree or a FIFO is refused rather than read.
    """
    one, platform = hashlib.sha256(), hashlib.sha1()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            stat = os.fstat(fd)
            if not S_ISREG(stat.st_mode):
                raise OSError(errno.EINVAL, "no longer a regular file")
            while chunk := os.read(fd, 1 << 20):
                one.update(chunk)
                platform.update(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        unreadable = exc.errno in (errno.EACCES, errno.EPERM)
        raise UsageError(
            f"cannot read {path}: {exc.strerror or exc}",
            hint="make it readable to the user wave runs as, or keep it out of the source"
            if unreadable
            else "the source changed while it was read: deploy again once it is settled",
        ) from None
    _remember(stat, {"sha256": one.hexdigest(), "sha1": platform.hexdigest()})
    return bool(stat.st_mode & 0o111), one.digest()


# -- file digests already computed ------------------------------------------------------
#
# A release from a directory is identified by its content (SHA-256 of every file), and a
# digest-deploy adapter then hashes the same files for its platform
# (:func:`wave_sdk.digests.build_manifest`: SHA-1 for Netlify and Vercel) — on a 300 MB
# site, a second read and hash of about a second. So the digest above computes SHA-1
# alongside in the same pass and remembers both, under the file's identity *and* state
# (device, inode, size, modification and change times in nanoseconds: a file written
# since is read again). Bounded, and only for the life of the process: one command.

REMEMBERED = 500_000
"""Files remembered at most; past it, nothing more is (hashing still works)."""

_known: dict[tuple[int, int, int, int, int], dict[str, str]] = {}
_known_lock = threading.Lock()


def _state(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


SETTLED_NS = 1_000_000_000
"""A file changed this recently is not remembered. File times tick coarsely (a few ms on
Linux): a file written again within the tick it was hashed in would keep its state, and
its old digest would be recalled. One changed a second before it was hashed cannot."""


def _remember(stat: os.stat_result, digests: dict[str, str]) -> None:
    if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) < SETTLED_NS:
        return
    with _known_lock:
        if len(_known) < REMEMBERED:
            _known.setdefault(_state(stat), {}).update(digests)


def recall(stat: os.stat_result, algorithm: str) -> str | None:
    """A digest this process computed of the file in the state ``stat`` (its ``fstat``).

    ``algorithm`` is ``sha1`` or ``sha256``; ``None`` when the file was not hashed, or
    has changed since.
    """
    with _known_lock:
        return _known.get(_state(stat), {}).get(algorithm)


def _entries_git_sees(root: Path, own: frozenset[Path]) -> list[Entry]:
    """The project's files as git sees them now: tracked and untracked-not-ignored ones."""
    from wave_sdk import git

    listed = git.run(
        root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."
    ).stdout
    entries = []
    for name in dict.fromkeys(n for n in listed.split("\0") if n):
        path = root / name
        if any(path == p or path.is_relative_to(p) for p in own) or not os.path.lexists(path):
            continue  # wave's own files; a tracked file deleted in the work tree
        if path.is_symlink():
            entries.append(Entry(name, "link", os.readlink(path)))
        elif path.is_file():
            entries.append(Entry(name, "file"))
    return entries


def wave_paths(config: WaveConfig, directory: Path) -> frozenset[Path]:
    """The files and directories wave writes into a project, as absolute paths."""
    root = config.root.resolve()
    named = [config.state.path, config.signals.dir, ".wave"]
    if config.gate.report:
        named.append(config.gate.report)
    if config.gate.dir:
        named.append(config.gate.dir)
    if config.migrations is not None:
        named.append(config.migrations.backup_dir)
    for target in config.targets.values():  # a `local` release layout kept in the project
        layout = (target.model_extra or {}).get("root")
        if target.adapter == "local" and isinstance(layout, str):
            named.append(layout)
    return frozenset((root / name).resolve() for name in named)


def _toplevel(root: Path) -> Path | None:
    from wave_sdk import git

    try:
        done = git.run(root, "rev-parse", "--show-toplevel", check=False)
    except GitError:
        return None
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 else None


def _changed(root: Path, directory: Path, config: WaveConfig) -> list[str] | None:
    """Paths under ``directory`` that differ from ``HEAD``; ``None`` when none is tracked."""
    from wave_sdk import git

    where = os.path.relpath(directory, root)
    tracked = git.run(root, "ls-files", "-z", "--", where).stdout
    if not tracked.strip("\0"):
        return None
    excluded = [
        f":(exclude){os.path.relpath(path, root)}"
        for path in wave_paths(config, directory)
        if path.is_relative_to(directory)
    ]
    status = git.run(
        root,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--ignore-submodules=none",
        "--",
        where,
        *excluded,
        ":(exclude,glob)**/__pycache__/**",
    ).stdout
    return [entry[3:] for entry in status.split("\0") if len(entry) > 3 and entry[2] == " "]
