"""A git work tree and the steps every procedure shares.

:class:`WorkTree` holds what :class:`~wave_sdk.git.procedures.Repository`'s procedures are
made of: reading refs, refusing a dirty tree, fetching, checking out a branch brought up
to date with the remote, merging one branch, pushing, and putting everything back as it
was when a procedure fails. Each git command goes through :func:`~wave_sdk.git.command.run`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wave_sdk import procs
from wave_sdk.errors import (
    DirtyWorkTree,
    GateError,
    GitError,
    MergeConflict,
    UsageError,
    WaveError,
)
from wave_sdk.git.command import run, said
from wave_sdk.git.names import check_names, template_problem
from wave_sdk.reporting import Event, NullReporter, Reporter

Position = tuple[str | None, str]
"""Where the user was: the checked-out branch (None when detached) and the commit."""


class WorkTree:
    """A git work tree, the remote it syncs with, and where progress goes.

    Args:
        root: any directory inside the work tree (the project root, usually).
        remote: the remote fetched from and pushed to (``[git] remote``).
        reporter: where progress goes (default: nowhere).

    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        remote: str = "origin",
        reporter: Reporter | None = None,
    ) -> None:
        check_names(remote, what="remote")
        self.root = Path(root)
        self.remote = remote
        self.reporter: Reporter = reporter or NullReporter()

    # -- plumbing ----------------------------------------------------------------------

    def git(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> procs.Result:
        """Run ``git -C root *args`` (see :func:`~wave_sdk.git.command.run`)."""
        return run(self.root, *args, check=check, env=env)

    def _emit(self, kind: str, step: str, message: str, **data: Any) -> None:
        self.reporter.emit(Event(kind, step, message, data))

    def rev(self, ref: str) -> str | None:
        """The commit ``ref`` names, or ``None``; ``ref`` can never be taken for an option."""
        proc = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        sha = proc.stdout.strip()
        return sha if proc.returncode == 0 and sha else None

    def head(self) -> str:
        sha = self.rev("HEAD")
        if sha is None:
            raise GitError(f"{self.root}: the repository has no commits yet", hint="commit first")
        return sha

    def current_branch(self) -> str | None:
        """The checked-out branch; ``None`` on a detached HEAD."""
        proc = self.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def uncommitted_files(self) -> list[str]:
        """Tracked files with changes, staged or not.

        Untracked files do not count: wave's own ``.wave/`` and ``.claude/`` live in the
        project, and git refuses by itself a checkout or merge that would overwrite one.
        """
        out = self.git("status", "--porcelain=v1", "-z", "--untracked-files=no").stdout
        files: list[str] = []
        items = iter(out.split("\0"))
        for entry in items:
            if not entry:
                continue
            files.append(entry[3:])
            if entry[0] in "RC" or entry[1] in "RC":
                next(items, None)  # a rename's second field: the old path
        return files

    def conflicted_files(self) -> list[str]:
        out = self.git("diff", "--name-only", "--diff-filter=U", "-z").stdout
        return [f for f in out.split("\0") if f]

    def in_progress(self) -> str | None:
        """The operation git is in the middle of (merge, rebase, cherry-pick, revert), if any."""
        git_dir = Path(self.git("rev-parse", "--absolute-git-dir").stdout.strip())
        for marker, operation in (
            ("MERGE_HEAD", "merge"),
            ("rebase-merge", "rebase"),
            ("rebase-apply", "rebase"),
            ("CHERRY_PICK_HEAD", "cherry-pick"),
            ("REVERT_HEAD", "revert"),
        ):
            if (git_dir / marker).exists():
                return operation
        return None

    def is_ancestor(self, commit: str, of: str) -> bool:
        proc = self.git("merge-base", "--is-ancestor", commit, of, check=False)
        if proc.returncode > 1:
            raise GitError(f"`git merge-base` failed: {said(proc)}")
        return proc.returncode == 0

    def merge_in_memory(self, base: str, tip: str) -> tuple[str | None, list[str]]:
        """Merge commit ``tip`` onto commit ``base`` without touching anything: (tree, conflicts).

        ``git merge-tree`` merges as ``git merge`` would (the same strategy) and writes only
        objects: the tree of the result, or ``None`` and the conflicting files.
        """
        proc = self.git(
            "merge-tree",
            "--write-tree",
            "--name-only",
            "--no-messages",
            "-z",
            base,
            tip,
            check=False,
        )
        fields = [f for f in proc.stdout.split("\0") if f]
        if proc.returncode == 1:
            return None, fields[1:]
        if proc.returncode != 0 or not fields:
            raise GitError(f"`git merge-tree` failed: {said(proc)}")
        return fields[0], []

    def commit_tree(
        self, tree: str, parents: list[str], message: str, *, env: Mapping[str, str] | None = None
    ) -> str:
        """A commit of ``tree`` on ``parents``, referenced by no branch; its SHA.

        ``env`` may set the identity and dates (``GIT_COMMITTER_DATE`` …); otherwise the
        user's and now, as any commit.
        """
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git(*args, "-m", message, env=env).stdout.strip()

    # -- steps every procedure shares --------------------------------------------------

    def _validate(
        self,
        validate: Callable[[], object],
        *,
        subject: str,
        where: str,
        undone: str,
        hint: str,
    ) -> None:
        """Run ``validate()`` on the checked-out tree; a raise or ``False`` is a GateError.

        The error reads "``where``: why; ``undone``" and keeps the checks' results and
        their hint when they raised one with a hint, else ``hint``.
        """
        self._emit("step", "validate", f"validating {subject}")
        try:
            outcome = validate()
        except WaveError as exc:
            raise GateError(
                f"{where}: {exc.message}; {undone}",
                results=getattr(exc, "results", None),
                hint=exc.hint or hint,
            ) from exc
        except Exception as exc:
            raise GateError(f"{where}: {type(exc).__name__}: {exc}; {undone}", hint=hint) from exc
        if outcome is False:
            raise GateError(f"{where}; {undone}", hint=hint)
        self._emit("ok", "validate", "validation passed")

    def _require_clean(self) -> None:
        proc = self.git("rev-parse", "--show-toplevel", check=False)
        if proc.returncode != 0:
            raise GitError(
                f"{self.root} is not inside a git work tree",
                hint="run wave in a clone of the project, or point --config at one",
            )
        self.head()
        operation = self.in_progress()
        if operation:
            raise DirtyWorkTree(
                f"a {operation} is in progress in {self.root}",
                hint=f"finish it, or abort it (git {operation} --abort), then run again",
            )
        files = self.uncommitted_files()
        if files:
            shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if files[10:] else "")
            raise DirtyWorkTree(
                f"uncommitted changes in {shown}",
                files=files,
                hint="commit or stash them (git stash), then run again",
            )

    def _position(self) -> Position:
        return self.current_branch(), self.head()

    def _begin(self, message: str | None = None) -> Position:
        """Start a procedure: refuse a bad merge ``message`` or a dirty tree, fetch.

        Returns where the user was, to go back to at the end.
        """
        problem = template_problem(message) if message is not None else None
        if problem:
            raise UsageError(f"merge message {message!r}: {problem}", hint="use {branch}, {target}")
        self._require_clean()
        position = self._position()
        self._fetch()
        return position

    def _return_to(self, position: Position) -> None:
        branch, sha = position
        if branch is not None:
            self.git("checkout", "--quiet", branch, "--")
        else:
            self.git("checkout", "--quiet", "--detach", sha, "--")

    def _fetch(self) -> None:
        remotes = self.git("remote").stdout.split()
        if self.remote not in remotes:
            raise GitError(
                f"the repository has no remote named {self.remote!r}"
                + (f" (it has: {', '.join(remotes)})" if remotes else ""),
                hint="add it (git remote add NAME URL) or set [git] remote",
            )
        self._emit("info", "fetch", f"fetching {self.remote}")
        proc = self.git("fetch", "--quiet", self.remote, check=False)
        if proc.returncode != 0:
            raise GitError(
                f"cannot fetch {self.remote}: {said(proc)}",
                hint=f"check that {self.remote} is reachable, then run again",
            )

    def _tip(self, branch: str, *, prefer_remote: bool = True) -> tuple[str, str]:
        """(full ref name, commit) of ``branch``: the remote's copy first, unless told not to.

        A deployment merges what was pushed and reviewed, not a stale local copy; a hotfix is
        finished from the local branch it was made on.
        """
        refs = [f"refs/remotes/{self.remote}/{branch}", f"refs/heads/{branch}"]
        for ref in refs if prefer_remote else reversed(refs):
            sha = self.rev(ref)
            if sha is not None:
                return ref, sha
        raise GitError(
            f"there is no branch {branch!r}, neither here nor on {self.remote}",
            hint=f"check the name, or push it first (git push {self.remote} {branch})",
        )

    def _checkout_synced(self, branch: str) -> None:
        """Check out ``branch``, brought up to date with the remote (created from it if need be).

        A local branch behind the remote is fast-forwarded. One with commits the remote lacks
        is refused before anything changes: pushing them as part of a deployment would ship
        work nobody asked to ship.
        """
        local = self.rev(f"refs/heads/{branch}")
        remote = self.rev(f"refs/remotes/{self.remote}/{branch}")
        if local is None and remote is None:
            self._tip(branch)  # raises the "no such branch" error
        if local and remote and local != remote and not self.is_ancestor(local, remote):
            ahead = self.git("rev-list", "--count", f"{remote}..{local}").stdout.strip()
            raise GitError(
                f"local {branch} has {ahead} commit(s) that are not on {self.remote}/{branch}",
                hint=f"push them (git push {self.remote} {branch}) or move them to another "
                "branch, then run again",
            )
        if local is None:
            self.git(
                "checkout",
                "--quiet",
                "-b",
                branch,
                "--track",
                f"refs/remotes/{self.remote}/{branch}",
            )
        else:
            self.git("checkout", "--quiet", branch, "--")
            if remote and remote != local:
                self.git("merge", "--quiet", "--ff-only", remote)

    def _abort(self) -> None:
        operation = self.in_progress()
        if operation in ("merge", "revert", "cherry-pick"):
            self.git(operation, "--abort")

    def _restore(
        self,
        branch: str,
        before: str | None,
        position: Position,
        cause: BaseException,
    ) -> None:
        """Put ``branch`` back at ``before`` (deleted if this run created it); return the user.

        The work tree was clean when the procedure started, so a hard reset of the branch
        loses nothing.
        """
        try:
            self._abort()
            if before is not None:
                if self.current_branch() == branch:
                    self.git("reset", "--quiet", "--hard", before)
                elif self.rev(f"refs/heads/{branch}") != before:
                    self.git("update-ref", f"refs/heads/{branch}", before)
            self._return_to(position)
            if before is None and self.rev(f"refs/heads/{branch}") is not None:
                self.git("branch", "-D", branch)
        except GitError as exc:
            what = cause.message if isinstance(cause, WaveError) else repr(cause)
            raise GitError(
                f"{what}; then restoring the repository failed: {exc.message}",
                hint=f"the repository needs a human: see `git status`; {branch} was at {before}",
            ) from cause
        self._emit("info", "restore", f"{branch} is back at {(before or 'nothing')[:12]}")

    def _merge_one(
        self, ref: str, branch: str, target: str, message: str, *, hint: str
    ) -> str | None:
        """Merge ``ref`` into the checked-out ``target`` with --no-ff; the new commit or None.

        On a conflict the merge is left for the caller's restore to abort; the error names
        every conflicting file.
        """
        before = self.head()
        proc = self.git(
            "merge",
            "--no-ff",
            "--no-edit",
            "-m",
            message.format(branch=branch, target=target),
            ref,
            check=False,
        )
        if proc.returncode != 0:
            files = self.conflicted_files()
            if files:
                self._emit("fail", "merge", f"{branch}: conflicts in {', '.join(files)}")
                raise MergeConflict(
                    f"{branch} does not merge cleanly into {target}: conflicts in "
                    f"{', '.join(files)}; the merge was aborted, the repository is as it was "
                    "and nothing was pushed",
                    branch=branch,
                    files=files,
                    hint=hint,
                )
            raise GitError(
                f"merging {branch} into {target} failed: {said(proc)}; the repository is as "
                "it was and nothing was pushed"
            )
        after = self.head()
        if after == before:
            self._emit("info", "merge", f"{branch}: already in {target}")
            return None
        self._emit("ok", "merge", f"{branch} → {target} ({after[:12]})")
        return after

    def _push_if_new(self, branch: str) -> bool:
        """Push the checked-out ``branch`` unless the remote has its commit; whether it did."""
        if self.head() == self.rev(f"refs/remotes/{self.remote}/{branch}"):
            return False
        self._push(branch)
        return True

    def _push(self, branch: str) -> None:
        self._emit("step", "push", f"pushing {branch} to {self.remote}")
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        proc = self.git("push", "--quiet", self.remote, refspec, check=False)
        if proc.returncode != 0:
            raise GitError(
                f"{self.remote} refused the push of {branch}: {said(proc)}; nothing was pushed",
                hint=f"if {branch} moved on {self.remote} meanwhile, run again to merge onto it",
            )
        # git moved the remote-tracking branch itself, so later steps see the pushed state.

    def _leave(self, position: Position) -> None:
        """Return to where the user was, if that still exists (a detached commit always does)."""
        branch, _ = position
        if branch is None or self.rev(f"refs/heads/{branch}") is not None:
            self._return_to(position)


def short_ref(ref: str) -> str:
    """A branch's ref as people write it: ``origin/x`` for a remote's, ``x`` for a local one."""
    return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")
