"""The release layout shared by the ``local`` target and the SSH adapter.

::

    <root>/
      releases/<release-id>/    one directory per release, with a REVISION file
      shared/                   files kept across releases, symlinked into each release
      current -> releases/<id>  switched atomically (ln -sfn to a temporary name, mv -T)
      revisions.log             one line per switch: time, release, what happened

Written once over :class:`~wave_sdk.transport.Transport`, so every operation is a command
or a file call that works the same on this machine and over SSH. Release ids are validated
by :func:`~wave_sdk.models.check_release_id` before they touch a path.
"""

from __future__ import annotations

import contextlib
import posixpath
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from wave_sdk.config.models import check_inside
from wave_sdk.errors import AdapterError, ReleaseNotFound, RollbackUnavailable
from wave_sdk.models import TEMPORARY, check_release_id
from wave_sdk.transport import Transport

EXCLUDE = (".git", ".wave", "__pycache__")
"""Names never copied into a release."""


class ReleaseLayout:
    """Releases, ``shared/`` and the ``current`` symlink under ``root`` on one machine."""

    def __init__(self, transport: Transport, root: str) -> None:
        if not posixpath.isabs(root):
            raise AdapterError(f"release root must be an absolute path, got {root!r}")
        self.transport = transport
        self.root = posixpath.normpath(root)
        self.releases_dir = posixpath.join(self.root, "releases")
        self.shared_dir = posixpath.join(self.root, "shared")
        self.current_link = posixpath.join(self.root, "current")
        self.log = posixpath.join(self.root, "revisions.log")

    def path(self, release_id: str) -> str:
        return posixpath.join(self.releases_dir, check_release_id(release_id))

    def ensure(self) -> None:
        self.transport.run(["mkdir", "-p", "--", self.releases_dir, self.shared_dir])

    def has(self, release_id: str) -> bool:
        revision = posixpath.join(self.path(release_id), "REVISION")
        return self.transport.read_text(revision) is not None

    def stage(
        self,
        release_id: str,
        source: Path | Callable[[str], None],
        *,
        linked: Iterable[str] = (),
        exclude: Iterable[str] = EXCLUDE,
        build: Callable[[str], None] | None = None,
    ) -> str:
        """Copy ``source`` into ``releases/<id>`` and link ``shared/`` files into it.

        The copy goes to a temporary name first and is renamed into place only when
        complete, so an interrupted upload never leaves a half release under a real id.
        Names in ``exclude`` (at any depth) are not copied: by default version control and
        wave's own state, which is what keeps ``source = "."`` from copying releases into
        releases.

        ``source`` is a local directory, copied by the transport's ``put_tree``, or a
        callable that fills the temporary directory it is given on the machine itself (the
        SSH adapter's ``git archive`` on the host). ``build``, when given, is called with
        the release's final path once the release is there (``npm ci``, a framework build:
        tools that may record absolute paths), and ``REVISION`` is written only after it
        returns; a failed build removes the release. ``has()`` is therefore true only for
        a complete release either way.
        """
        final = self.path(release_id)
        staging = f"{final}{TEMPORARY}{secrets.token_hex(4)}"
        moved = False
        try:
            if callable(source):
                source(staging)
            else:
                self.transport.put_tree(source, staging, exclude=tuple(exclude))
            for name in linked:
                relative = _safe_relative(name)
                self.transport.run(
                    [
                        "mkdir",
                        "-p",
                        "--",
                        posixpath.dirname(posixpath.join(self.shared_dir, relative)),
                    ]
                )
                self.transport.run(
                    [
                        "ln",
                        "-sfn",
                        "--",
                        posixpath.join(self.shared_dir, relative),
                        posixpath.join(staging, relative),
                    ]
                )
            if build is None:
                self.transport.write_text(posixpath.join(staging, "REVISION"), release_id + "\n")
            self.transport.run(["rm", "-rf", "--", final])
            self.transport.run(["mv", "-T", "--", staging, final])
            moved = True
            if build is not None:
                build(final)
                self.transport.write_text(posixpath.join(final, "REVISION"), release_id + "\n")
            # The copy keeps the source's mtime; the layout orders releases by staging time.
            self.transport.run(["touch", "--", final])
        except BaseException:
            # Best effort: over a connection that just dropped, the clean-up fails too, and
            # the error worth reporting is the first one. A leftover temporary directory is
            # never listed as a release.
            with contextlib.suppress(AdapterError):
                self.transport.run(["rm", "-rf", "--", staging], check=False)
                if moved and build is not None:
                    self.transport.run(["rm", "-rf", "--", final], check=False)
            raise
        return final

    def current(self) -> str | None:
        result = self.transport.run(["readlink", "--", self.current_link], check=False)
        if not result.ok or not result.stdout.strip():
            return None
        return posixpath.basename(result.stdout.strip().rstrip("/"))

    def switch(self, release_id: str, *, action: str = "deploy") -> None:
        """Point ``current`` at the release in one atomic rename."""
        target = self.path(release_id)
        if not self.has(release_id):
            raise ReleaseNotFound(
                f"release {release_id} is not on the target ({self.releases_dir})"
            )
        temporary = f"{self.current_link}{TEMPORARY}{secrets.token_hex(4)}"
        self.transport.run(["ln", "-sfn", "--", target, temporary])
        self.transport.run(["mv", "-T", "--", temporary, self.current_link])
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        previous = self.transport.read_text(self.log) or ""
        self.transport.write_text(self.log, f"{previous}{stamp} {release_id} {action}\n")

    def releases(self) -> list[str]:
        """Complete release ids (those with their ``REVISION``), newest staged first.

        A directory without ``REVISION`` is a stage that never finished (a build whose
        connection dropped): it is not a release, and nothing may roll back to it.
        """
        result = self.transport.run(
            [
                "find",
                self.releases_dir,
                "-mindepth",
                "2",
                "-maxdepth",
                "2",
                "-name",
                "REVISION",
                "-type",
                "f",
                "-printf",
                "%T@ %h\n",
            ],
            check=False,
        )
        found = []
        for line in result.stdout.splitlines() if result.ok else []:
            stamp, _, directory = line.partition(" ")
            name = posixpath.basename(directory)
            if _valid(name):  # a staging copy (<id>.tmp-…) is never a valid id
                found.append((-float(stamp), name))
        return [name for _, name in sorted(found)]

    def previous(self) -> str:
        """The release that was live before the current one and is still present."""
        current = self.current()
        present = set(self.releases())
        for line in reversed((self.transport.read_text(self.log) or "").splitlines()):
            parts = line.split()
            if len(parts) >= 2 and parts[1] != current and parts[1] in present:
                return parts[1]
        raise RollbackUnavailable(
            f"no release before {current or 'the current one'} is kept on the target"
        )

    def prune(self, keep: int, *, protect: Iterable[str | None] = ()) -> list[str]:
        """Delete the oldest releases beyond ``keep``, never one in ``protect`` or current."""
        protected = {p for p in (*protect, self.current()) if p}
        removed = []
        for name in self.releases()[keep:]:
            if name not in protected:
                self.transport.run(["rm", "-rf", "--", self.path(name)])
                removed.append(name)
        return removed


def _valid(name: str) -> bool:
    try:
        check_release_id(name)
    except ValueError:
        return False
    return True


def _safe_relative(name: str) -> str:
    """A ``shared/`` entry, normalised, once it is known to stay inside the release.

    The configuration already refuses one that leaves it (:func:`check_inside`); this
    holds for a caller that builds the list itself.
    """
    try:
        check_inside(name)
    except ValueError as exc:
        raise AdapterError(f"shared path: {exc}") from None
    return posixpath.normpath(name)
