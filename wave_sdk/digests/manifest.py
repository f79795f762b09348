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

Hashing reads each file in one :func:`hashlib.file_digest` call, with the files split into
batches over a small thread pool: on this kind of machine one task per file is slower than
a plain loop, and batches of 64 over two threads beat coreutils ``sha1sum``
(docs/performance notes; ``bench/`` measures it).
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from wave_sdk.errors import UsageError, clip
from wave_sdk.sources import walk

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
    source: Path
    """The file to read when uploading (a link's target, for a link)."""


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
    chosen: list[tuple[str, Path]] = []
    seen: dict[str, str] = {}
    for entry in walk(directory, exclude=exclude):
        if entry.kind == "dir" or (not include_hidden and _hidden(entry.path, keep_hidden)):
            continue
        name = unicodedata.normalize("NFC", entry.path)
        _check_name(directory, entry.path, forbidden)
        if name in seen:
            raise UsageError(
                f"{directory}: {clip(seen[name])!r} and {clip(entry.path)!r} are the same "
                "name once normalised (Unicode NFC), and a URL can reach only one of them",
                hint="rename one of them",
            )
        seen[name] = entry.path
        source = directory / entry.path
        if entry.kind == "link":
            source = Path(os.path.realpath(source))
            if not source.is_file():
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


def _check_name(directory: Path, path: str, forbidden: str) -> None:
    bad = sorted({c for c in path if c in forbidden or ord(c) < 32 or ord(c) == 127 or c == "\\"})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise UsageError(
            f"{directory}: {clip(path)!r} has {shown} in its name, which a URL path cannot carry",
            hint="rename the file (or leave it out of the output directory)",
        )


def _hash_all(files: list[tuple[str, Path]], algorithm: str, workers: int) -> list[FileEntry]:
    batches = [files[i : i + BATCH] for i in range(0, len(files), BATCH)]
    if workers <= 1 or len(batches) <= 1:
        return [entry for batch in batches for entry in _hash_batch(batch, algorithm)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wave-hash") as pool:
        done = pool.map(_hash_batch, batches, [algorithm] * len(batches))
        return [entry for batch in done for entry in batch]


def _hash_batch(batch: list[tuple[str, Path]], algorithm: str) -> list[FileEntry]:
    found = []
    for name, source in batch:
        try:
            with source.open("rb") as handle:
                digest = hashlib.file_digest(handle, algorithm).hexdigest()
                size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            raise UsageError(
                f"cannot read {source}: {exc.strerror or exc}",
                hint="make it readable, or leave it out of the output directory",
            ) from None
        found.append(FileEntry(name, digest, size, source))
    return found
