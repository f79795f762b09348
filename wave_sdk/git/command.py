"""The one way wave runs git: one timeout, one environment, and the questions asked of it.

git runs through :mod:`wave_sdk.procs` (its own process group, ended when the command is
done) from argv lists, never through a shell, as ``git -C <root>``, with no pager, no
editor, no terminal prompt and standard input closed, so nothing waits for a person; in
the C locale, so what git says is the same words wherever wave runs. Every git command
of wave — the procedures, Gate 7's merge preview, the changelog check, what a release
changes, whether it carries migrations, the commit a release is built from — comes
through :func:`run`.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from collections.abc import Mapping, Sequence

from wave_sdk import procs, secrets
from wave_sdk.errors import GitError

TIMEOUT_S = 300.0
"""Seconds any one git command may take: room for a fetch or a push over a slow network.
Local commands take milliseconds; the bound is there so that none can hang a run."""

ENVIRONMENT = {
    # Whatever the user's configuration, git must never stop to ask: no pager, no editor
    # for merge or revert messages, no username/password prompt on the terminal.
    "GIT_TERMINAL_PROMPT": "0",
    "GCM_INTERACTIVE": "never",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
    # Messages wave quotes and matches, in the same words everywhere.
    "LC_ALL": "C",
    # Queries (status, diff) do not take the index lock: a check never makes the user's own
    # git command fail with "index.lock exists".
    "GIT_OPTIONAL_LOCKS": "0",
}
"""What wave adds to the environment of every git command."""


def run(
    root: str | os.PathLike[str],
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> procs.Result:
    """Run ``git -C root *args`` within :data:`TIMEOUT_S`.

    ``env`` adds variables for this command only (a commit's dates, say); it cannot undo
    :data:`ENVIRONMENT`.

    Raises:
        GitError: git is not installed, did not finish in time, or (with ``check``)
            exited non-zero; the message says what git said, on one line.

    """
    argv = ["git", "--no-pager", "-C", str(root), *args]
    try:
        done = procs.run(argv, timeout=TIMEOUT_S, env={**os.environ, **(env or {}), **ENVIRONMENT})
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)", hint="install git") from None
    if done.timed_out:
        raise GitError(
            f"`{show(args)}` did not finish within {TIMEOUT_S:g}s",
            hint="check that the remote is reachable, then run again",
        )
    if check and done.returncode != 0:
        raise GitError(f"`{show(args)}` failed: {said(done)}")
    return done


def show(args: Sequence[str]) -> str:
    """A git command as a person would type it."""
    return shlex.join(["git", *args])


def said(done: procs.Result) -> str:
    """What git said, on one line: its non-empty lines joined, at most 400 characters."""
    text = secrets.redact(done.stderr or done.stdout)  # a remote URL may carry a token
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = "; ".join(lines) or f"exit status {done.returncode}"
    return joined if len(joined) <= 400 else joined[:397] + "..."


def head_commit(root: str | os.PathLike[str]) -> str | None:
    """The commit checked out in the work tree holding ``root``; ``None`` when there is none.

    None without git, outside a work tree, and in a repository with no commit yet: the
    caller then names a release another way (a hash of the files, say).
    """
    try:
        done = run(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    except GitError:
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None


def changed_files(
    root: str | os.PathLike[str],
    since: str,
    until: str,
    *,
    paths: Sequence[str] = (),
    deleted: bool = True,
) -> list[str]:
    """Files that differ between commit ``since`` and commit ``until``: what a release changes.

    Paths are relative to ``root`` (the project, which may be a directory inside the
    repository), ``../``-prefixed for files outside it — the way the configuration names
    them (``[decisions] config_paths``, ``[gate] changelog``, ``[migrations] detect``).
    ``paths`` limits the answer to those git pathspecs (relative to ``root`` too).
    Renames count as a deletion and an addition, so a file moved into a configuration
    directory is not mistaken for a configuration-only change; without ``deleted``, files
    deleted by ``until`` are left out (redeploying an older release deletes files, it
    does not add any).

    Raises:
        GitError: git cannot tell (not a repository, a commit it does not know, …).

    """
    args = ["diff", "--name-only", "-z", "--no-renames"]
    if not deleted:
        args.append("--diff-filter=ACMT")
    args += ["--end-of-options", since, until, "--", *paths]
    names = [name for name in run(root, *args).stdout.split("\0") if name]
    prefix = run(root, "rev-parse", "--show-prefix").stdout.strip()
    if not prefix:
        return names
    return [_relative(name, prefix) for name in names]


def _relative(name: str, prefix: str) -> str:
    if name.startswith(prefix):
        return name[len(prefix) :]
    return posixpath.relpath(name, prefix.rstrip("/"))
