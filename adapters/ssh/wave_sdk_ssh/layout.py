"""The release layout over SSH in few round trips: one remote script per step.

:class:`~wave_sdk.releases.ReleaseLayout` is written once over the transport, one call per
operation, which is free on this machine (the ``local`` target) but costs a round trip per
call over SSH: a deploy took ~20 commands per host, where the latency of a real remote host
(tens of milliseconds) multiplies each one. Here the same steps, with the same guarantees
(the release staged under a temporary name and renamed into place complete, ``REVISION``
written last, ``current`` switched by one rename, every value a positional parameter of a
constant script), go in one script per step:

* :meth:`SSHLayout.inspect` — what is live and whether the release is already there: 1;
* :meth:`SSHLayout.stage` — directories, upload, shared links, ``REVISION``, rename: 1
  (the upload's own channel), when there is no build step (a build runs its commands
  between the rename and ``REVISION``, as the core layout does);
* :meth:`SSHLayout.switch` — check, link, rename, ``revisions.log`` line: 1;
* :meth:`SSHLayout.survey` — live release, releases (and disk space, for status): 1;
* :meth:`SSHLayout.prune` — the survey, and one ``rm`` only when something goes.
"""

from __future__ import annotations

import posixpath
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from wave_sdk.errors import AdapterError, ReleaseNotFound
from wave_sdk.models import TEMPORARY
from wave_sdk.releases import EXCLUDE, ReleaseLayout, _safe_relative, _valid
from wave_sdk.transport import CommandResult
from wave_sdk_ssh.transport import SSHTransport

MISSING = 44

_INSPECT = """
readlink -- "$1" || echo
test -f "$2/REVISION" && echo yes || echo no
"""

_STAGE = """
set -e
root=$1 final=$2 staging=$3 id=$4
shift 4
trap 'rm -rf -- "$staging"' EXIT
mkdir -p -- "$root/releases" "$root/shared"
mkdir -- "$staging"
tar -x -f - --no-same-owner -C "$staging"
for name; do
  mkdir -p -- "$(dirname -- "$root/shared/$name")"
  ln -sfn -- "$root/shared/$name" "$staging/$name"
done
printf '%s\\n' "$id" > "$staging/REVISION"
rm -rf -- "$final"
mv -T -- "$staging" "$final"
trap - EXIT
touch -- "$final"
"""

_SWITCH = """
set -e
test -f "$1/REVISION" || exit 44
ln -sfn -- "$1" "$2"
mv -T -- "$2" "$3"
printf '%s\\n' "$5" >> "$4"
"""

_SURVEY = """
readlink -- "$2" || echo
find "$1" -mindepth 2 -maxdepth 2 -name REVISION -type f -printf '%T@ %h\\n' 2>/dev/null
if [ -n "$3" ]; then echo "--df--"; df -Pk -- "$3"; fi
"""


class SSHLayout(ReleaseLayout):
    """:class:`~wave_sdk.releases.ReleaseLayout` with each step one remote script."""

    transport: SSHTransport

    def __init__(self, transport: SSHTransport, root: str) -> None:
        super().__init__(transport, root)

    def inspect(self, release_id: str) -> tuple[str | None, bool]:
        """The live release (``None`` if none) and whether ``release_id`` is staged."""
        result = self.transport.run(
            ["sh", "-c", _INSPECT, "sh", self.current_link, self.path(release_id)]
        )
        lines = [*result.stdout.splitlines(), "", ""]
        live = lines[0].strip().rstrip("/")
        return (posixpath.basename(live) or None), lines[1].strip() == "yes"

    def stage(
        self,
        release_id: str,
        source: Path | Callable[[str], None],
        *,
        linked: Iterable[str] = (),
        exclude: Iterable[str] = EXCLUDE,
        build: Callable[[str], None] | None = None,
    ) -> str:
        if callable(source) or build is not None:
            self.ensure()
            return super().stage(release_id, source, linked=linked, exclude=exclude, build=build)
        final = self.path(release_id)
        staging = f"{final}{TEMPORARY}{secrets.token_hex(4)}"
        names = [_safe_relative(name) for name in linked]
        self.transport.upload(
            source,
            ["sh", "-c", _STAGE, "sh", self.root, final, staging, release_id, *names],
            exclude=tuple(exclude),
            what=f"cannot stage the release in {final}",
        )
        return final

    def switch(self, release_id: str, *, action: str = "deploy") -> None:
        target = self.path(release_id)
        temporary = f"{self.current_link}{TEMPORARY}{secrets.token_hex(4)}"
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = self.transport.run(
            [
                "sh",
                "-c",
                _SWITCH,
                "sh",
                target,
                temporary,
                self.current_link,
                self.log,
                f"{stamp} {release_id} {action}",
            ],
            check=False,
        )
        if result.returncode == MISSING:
            raise ReleaseNotFound(
                f"release {release_id} is not on the target ({self.releases_dir})"
            )
        if not result.ok:
            raise AdapterError(
                f"{self.transport.host.name}: cannot switch to {release_id}: "
                + " | ".join(result.stderr.strip().splitlines()[-3:])
            )

    def survey(self, disk: str = "") -> tuple[str | None, list[str], str]:
        """Live release, complete releases newest first, ``df -Pk`` of ``disk``: one command."""
        return self.survey_from(self.transport.run(self.survey_command(disk), check=False))

    def survey_command(self, disk: str = "") -> list[str]:
        """The command :meth:`survey` runs, to run with others in one session."""
        return ["sh", "-c", _SURVEY, "sh", self.releases_dir, self.current_link, disk]

    def survey_from(self, result: CommandResult) -> tuple[str | None, list[str], str]:
        """:meth:`survey`'s answer from its command's result."""
        listing, _, df = result.stdout.partition("--df--\n")
        lines = listing.splitlines()
        live = posixpath.basename(lines[0].strip().rstrip("/")) if lines else ""
        found = []
        for line in lines[1:]:
            stamp, _, directory = line.partition(" ")
            name = posixpath.basename(directory)
            if _valid(name):  # a staging copy (<id>.tmp-…) is never a valid id
                found.append((-float(stamp), name))
        return live or None, [name for _, name in sorted(found)], df

    def prune(self, keep: int, *, protect: Iterable[str | None] = ()) -> list[str]:
        live, releases, _ = self.survey()
        protected = {p for p in (*protect, live) if p}
        removed = [name for name in releases[keep:] if name not in protected]
        if removed:
            self.transport.run(["rm", "-rf", "--", *(self.path(name) for name in removed)])
        return removed
