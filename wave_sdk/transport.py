"""How the release layout reaches a machine: run a command, put a tree, read and write a file.

:class:`~wave_sdk.releases.ReleaseLayout` is written once against :class:`Transport`;
the ``local`` target gives it :class:`LocalTransport`, the SSH adapter an SSH transport.
Commands are argv lists, never strings, so a transport that needs a shell (SSH) quotes
every argument itself and no release id or path can be read as shell syntax.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from wave_sdk import procs, secrets
from wave_sdk.errors import AdapterError
from wave_sdk.fileio import atomic_write
from wave_sdk.sources import walk


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Transport(Protocol):
    """The four things the release layout needs from a machine."""

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv``; with ``check``, raise :class:`AdapterError` on a non-zero exit."""
        ...

    def put_tree(self, source: Path, dest: str, *, exclude: Sequence[str] = ()) -> None:
        """Copy the local directory ``source`` to ``dest`` (which must not exist).

        What is copied is what :func:`wave_sdk.sources.walk` returns, checked before
        anything is sent (links kept as links; a link out of the tree, a device, a FIFO or
        a socket refused with :class:`~wave_sdk.errors.UsageError`). Names in ``exclude``
        are skipped at any depth. Raise :class:`AdapterError` if the copy itself fails.
        """
        ...

    def read_text(self, path: str) -> str | None:
        """The file's text, or ``None`` if it does not exist."""
        ...

    def write_text(self, path: str, text: str) -> None:
        """Replace the file atomically."""
        ...


class LocalTransport:
    """The transport of this machine: commands through :mod:`wave_sdk.procs`, plain file calls.

    Args:
        command_timeout: seconds a command may take when the caller gives no ``timeout``.

    """

    def __init__(self, *, command_timeout: float = 900.0) -> None:
        self.command_timeout = command_timeout

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        limit = timeout or self.command_timeout
        try:
            done = procs.run(
                argv,
                timeout=limit,
                cwd=cwd,
                env=None if env is None else {**os.environ, **env},
            )
        except FileNotFoundError as exc:
            raise AdapterError(f"command not found: {argv[0]}", hint=str(exc.strerror)) from None
        except OSError as exc:
            raise AdapterError(f"cannot run {argv[0]}: {exc.strerror}") from None
        if done.timed_out:
            raise AdapterError(f"command timed out after {limit:g}s: {argv[0]}")
        result = CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)
        if check and not result.ok:
            tail = secrets.redact(done.stderr or done.stdout).strip().splitlines()[-5:]
            raise AdapterError(f"{argv[0]} exited with {done.returncode}: {' | '.join(tail)}")
        return result

    def put_tree(self, source: Path, dest: str, *, exclude: Sequence[str] = ()) -> None:
        # dest is <root>/releases/<id>.tmp-…: never copy the layout's root into itself when
        # it lies inside the source (root = "deploy" with source = ".").
        layout_root = Path(dest).resolve().parent.parent
        entries = walk(source, exclude=exclude, skip=(layout_root,))  # refuses before copying
        directories = [(source, dest)]
        try:
            os.mkdir(dest)
            for entry in entries:
                target = os.path.join(dest, entry.path)
                if entry.kind == "dir":
                    os.mkdir(target)
                    directories.append((source / entry.path, target))
                elif entry.kind == "link":
                    os.symlink(entry.target, target)
                else:
                    shutil.copy2(source / entry.path, target, follow_symlinks=False)
            # Modes and times last: a read-only directory would refuse its own contents.
            for origin, copy in reversed(directories):
                shutil.copystat(origin, copy)
        except OSError as exc:
            raise AdapterError(f"cannot copy {source} to {dest}: {exc}") from None

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_text(self, path: str, text: str) -> None:
        atomic_write(Path(path), text)
