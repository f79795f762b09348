"""A directory as a digest manifest: relative path → digest and size, hashed in parallel.

The walk is :func:`wave_sdk.sources.walk`, the one every release goes through, so an output
directory holding a link out of it, an absolute link or a device is refused — naming the
file — before the first request. On top of it, the rules static hosts share:

* paths are relative, ``/``-separated, Unicode NFC (what a browser requests), never with a
  leading slash (:meth:`Manifest.digests` adds one for platforms that want it); two files
  whose names differ only in normalisation are refused, as is a name with a character the
  platform cannot carry in a URL path (``#`` and ``?`` by default, and control characters);
* hidden files (a segment starting with ``.``) are left out unless ``include_hidden``,
  except those under ``keep_hidden`` (``.well-known``, which sites must serve);
* a link inside the directory is uploaded as the file it points to (the platforms store
  files, not links); a link to a directory is refused.

Hashing reads each small file in one ``os.read`` (larger ones in 1 MiB chunks), with the
files split into batches of 64 over two threads: one task per file is slower than a plain
loop on this kind of machine, and ``hashlib.file_digest``'s buffered loop costs a third
more than one read. ``bench/static_hash.py`` measures it against coreutils ``sha1sum``.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wave_sdk.content import recall
from wave_sdk.errors import AdapterError, UsageError, clip
from wave_sdk.sources import walk

if TYPE_CHECKING:
    from wave_sdk.models import Release

ALGORITHMS = ("sha1", "sha256")
BATCH = 64
"""Files per hashing task: large enough that the pool's bookkeeping does not dominate."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a manifest."""

    path: str
    """Relative, ``/``-separated, NFC, no leading slash: ``css/app.css``."""
    digest: str
    """Hex digest of the bytes, with the manifest's algorithm."""
    size: int
    source: str
    """The file to read when uploading, absolute (a link's target, for a link)."""


@dataclass(frozen=True)
class Manifest:
    """Every file of an output directory with its digest, sorted by path."""

    root: Path
    algorithm: str
    files: tuple[FileEntry, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def digests(self, *, leading_slash: bool = False) -> dict[str, str]:
        """``{path: digest}``, the map a deploy is created with."""
        prefix = "/" if leading_slash else ""
        return {prefix + f.path: f.digest for f in self.files}

    def needing(self, digests: Iterable[str]) -> list[FileEntry]:
        """Every file whose content has one of ``digests`` (a platform's "required" list).

        Every path, not one per digest: the platform stores content per path, and two paths
        with the same bytes are two uploads (what netlify-cli does too).
        """
        wanted = set(digests)
        return [f for f in self.files if f.digest in wanted]


def output_directory(release: Release, output_dir: str, root: Path) -> Path:
    """The directory a static host's release ships: ``--source``, else ``output_dir``.

    Relative paths are the project's (``root``).

    Raises:
        AdapterError: it is not a directory (a site not built yet), saying how to fix it.

    """
    source = release.source or Path(output_dir)
    if not source.is_absolute():
        source = root / source
    if not source.is_dir():
        raise AdapterError(
            f"no site to deploy for release {release.id}: {source} is not a directory",
            hint="build the site first, set `output_dir` in the target or pass --source DIR",
        )
    return source


def build_manifest(
    root: str | os.PathLike[str],
    *,
    algorithm: str = "sha1",
    include_hidden: bool = False,
    keep_hidden: Collection[str] = (".well-known",),
    exclude: Sequence[str] = (),
    forbidden: str = "#?",
    workers: int = 2,
) -> Manifest:
    """The manifest of the output directory ``root``.

    Raises:
        UsageError: ``root`` is not a directory, or holds an entry no release may ship
            or a name the platform cannot serve — naming it, before anything is read.

    """
    if algorithm not in ALGORITHMS:
        raise UsageError(f"digest algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    directory = Path(root).resolve()
    base = str(directory)
    unsafe = re.compile("[" + re.escape(forbidden + "\\") + "\x00-\x1f\x7f]")
    chosen: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for entry in walk(directory, exclude=exclude):
        if entry.kind == "dir" or (not include_hidden and _hidden(entry.path, keep_hidden)):
            continue
        name = unicodedata.normalize("NFC", entry.path)
        if unsafe.search(entry.path):
            _refuse_name(directory, entry.path, unsafe)
        if name in seen:
            raise UsageError(
                f"{directory}: {clip(seen[name])!r} and {clip(entry.path)!r} are the same "
                "name once normalised (Unicode NFC), and a URL can reach only one of them",
                hint="rename one of them",
            )
        seen[name] = entry.path
        source = os.path.join(base, entry.path)
        if entry.kind == "link":
            source = os.path.realpath(source)
            if not os.path.isfile(source):
                raise UsageError(
                    f"{directory}: {clip(entry.path)!r} is a link to a directory; a static "
                    "host stores files, not links",
                    hint="replace the link with the directory's files, or remove it",
                )
        chosen.append((name, source))
    return Manifest(directory, algorithm, tuple(_hash_all(chosen, algorithm, workers)))


def _hidden(path: str, keep: Collection[str]) -> bool:
    for segment in path.split("/"):
        if segment.startswith("."):
            return segment not in keep
    return False


def _refuse_name(directory: Path, path: str, unsafe: re.Pattern[str]) -> None:
    shown = ", ".join(repr(c) for c in sorted(set(unsafe.findall(path))))
    raise UsageError(
        f"{directory}: {clip(path)!r} has {shown} in its name, which a URL path cannot carry",
        hint="rename the file (or leave it out of the output directory)",
    )


def _hash_all(files: list[tuple[str, str]], algorithm: str, workers: int) -> list[FileEntry]:
    batches = [files[i : i + BATCH] for i in range(0, len(files), BATCH)]
    if workers <= 1 or len(batches) <= 1:
        return [entry for batch in batches for entry in _hash_batch(batch, algorithm)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wave-hash") as pool:
        done = pool.map(_hash_batch, batches, [algorithm] * len(batches))
        return [entry for batch in done for entry in batch]


def _hash_batch(batch: list[tuple[str, str]], algorithm: str) -> list[FileEntry]:
    found = []
    for name, source in batch:
        try:
            digest, size = _hash_file(source, algorithm)
        except OSError as exc:
            raise UsageError(
                f"cannot read {source}: {exc.strerror or exc}",
                hint="make it readable, or leave it out of the output directory",
            ) from None
        found.append(FileEntry(name, digest, size, source))
    return found


WHOLE = 4 << 20
"""Files up to this size are read in one call: a site is mostly small files, and one
``os.read`` per file is what makes hashing faster than ``sha1sum`` (bench/static_hash.py);
larger ones stream in 1 MiB chunks, so memory stays bounded."""


def _hash_file(source: str, algorithm: str) -> tuple[str, int]:
    new = hashlib.sha1 if algorithm == "sha1" else hashlib.sha256
    fd = os.open(source, os.O_RDONLY)
    try:
        stat = os.fstat(fd)
        size = stat.st_size
        known = recall(stat, algorithm)  # hashed already, for the release's digest
        if known is not None:
            return known, size
        if size <= WHOLE:
            data = os.read(fd, size + 1)
            return new(data).hexdigest(), len(data)
        total, hasher = 0, new()
        while chunk := os.read(fd, 1 << 20):
            hasher.update(chunk)
            total += len(chunk)
        return hasher.hexdigest(), total
    finally:
        os.close(fd)
