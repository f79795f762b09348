"""The runbook's git procedures on a real repository: merge deployment, hotfix, revert.

Each procedure is a method of :class:`Repository`:

* :meth:`Repository.merge` — the standard merge deployment: the configured branches merged
  into the target one by one, in order (backend before frontend), each with ``--no-ff``;
  then validation; then the push. On any failure the repository is put back as it was —
  branches, checkout and work tree — and nothing is pushed.
* :meth:`Repository.hotfix_start` and :meth:`Repository.hotfix_finish` — a branch from the
  up-to-date main; later merged into main, pushed, deployed and backported to develop.
* :meth:`Repository.revert` — rollback of code by a revert commit (``-m 1`` for a merge).

:meth:`Repository.merge_preview` answers Gate 7's "do the branches merge cleanly?" without
touching the work tree.

git runs as a subprocess from argv lists (never through a shell), as ``git -C <root>``, with
no pager, no editor and no terminal prompt, so a procedure never waits for a person. Every
name that reaches git is checked first (:func:`name_problem`) against a stricter rule than
git's own: ``$(id)`` is a valid git branch name, but it ends up in commands people copy from
messages, so wave refuses it.
"""

from __future__ import annotations

import os
import re
import shlex
import string
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

from pydantic import BaseModel, ConfigDict, Field

from wave_sdk import procs, secrets
from wave_sdk.errors import (
    DirtyWorkTree,
    GateError,
    GitError,
    HotfixIncomplete,
    MergeConflict,
    UsageError,
    WaveError,
)
from wave_sdk.reporting import Event, NullReporter, Reporter

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.models import CheckResult
    from wave_sdk.wave import Wave

DEFAULT_MESSAGE = "Merge {branch} into {target}"
"""The merge commit message template; ``[git] message`` replaces it."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_NAME_CHAR = re.compile(r"[A-Za-z0-9._/-]")

# Whatever the user's configuration, git must never stop to ask: no pager, no editor for
# merge or revert messages, no username/password prompt on the terminal.
_QUIET_GIT = {
    "GIT_TERMINAL_PROMPT": "0",
    "GCM_INTERACTIVE": "never",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
}


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a branch or remote name for wave; ``None`` when it can.

    Letters, digits and ``. _ - /`` only, starting with a letter or a digit, and none of
    git's own exclusions (``..``, ``//``, a trailing ``.lock``). The rule is stricter than
    git's so that no name can pass for an option (``-x``) or look like shell syntax in a
    command that a message suggests.
    """
    if not name:
        return "it is empty"
    if not _NAME.fullmatch(name):
        bad = sorted({c for c in name if not _NAME_CHAR.fullmatch(c)})
        if bad:
            return "it contains " + " ".join(repr(c) for c in bad)
        return "it must start with a letter or a digit"
    if ".." in name:
        return "it contains '..'"
    if "//" in name or "/." in name:
        return "it contains '//' or a part starting with '.'"
    if name.endswith(("/", ".", ".lock")):
        return "it ends with '/', '.' or '.lock'"
    if name == "HEAD":
        return "HEAD is not a branch"
    return None


def template_problem(template: str) -> str | None:
    """Why ``template`` is not a usable merge message; ``None`` when it is.

    The only placeholders are ``{branch}`` (the branch merged) and ``{target}`` (the branch
    merged into); anything else would fail only at merge time, so it fails at load time.
    """
    if not template.strip():
        return "the message is empty"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"not a valid template: {exc}"
    unknown = [f for f in fields if f not in ("branch", "target")]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}"
    return None


# -- results ---------------------------------------------------------------------------


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class MergedBranch(_Result):
    """One branch of a merge deployment."""

    branch: str = Field(description="The branch as configured, e.g. feature/backend.")
    ref: str = Field(description="What was merged: the remote's copy when it has one.")
    tip: str = Field(description="The commit merged.")
    commit: str | None = Field(
        description="The merge commit; None when the target already contained the branch."
    )


class MergeResult(_Result):
    """What :meth:`Repository.merge` did."""

    target: str = Field(description="The branch merged into.")
    remote: str = Field(description="The remote pushed to.")
    before: str = Field(description="The target's commit before the first merge.")
    after: str = Field(description="The target's commit after the last merge.")
    merged: list[MergedBranch] = Field(description="Each branch, in the order merged.")
    validated: bool = Field(description="Whether a validation ran (and passed).")
    pushed: bool = Field(description="Whether the target was pushed to the remote.")


class HotfixStarted(_Result):
    """What :meth:`Repository.hotfix_start` did."""

    name: str
    branch: str = Field(description="The hotfix branch, hotfix/<name>.")
    main: str = Field(description="The branch it starts from.")
    base: str = Field(description="The commit it starts from: main as the remote has it.")


class HotfixFinished(_Result):
    """What :meth:`Repository.hotfix_finish` did, step by step."""

    name: str
    branch: str
    main: str
    develop: str
    commit: str = Field(description="main after the hotfix merge: what was deployed.")
    merged: bool = Field(description="False when main already contained the hotfix (a rerun).")
    pushed: bool = Field(description="Whether main was pushed.")
    deployed: bool = Field(description="Whether the deploy callable ran and returned.")
    backport: str | None = Field(
        None, description="The merge commit on develop; None when develop had the fix."
    )
    backport_pushed: bool = Field(False, description="Whether develop was pushed.")


class RevertResult(_Result):
    """What :meth:`Repository.revert` did."""

    branch: str = Field(description="The branch the revert commit is on.")
    reverted: str = Field(description="The commit reverted.")
    mainline: int | None = Field(description="1 for a merge commit (-m 1), None otherwise.")
    commit: str = Field(description="The revert commit.")
    pushed: bool


# -- the repository --------------------------------------------------------------------


@final
class Repository:
    """A git work tree and the runbook's procedures on it.

    Args:
        root: any directory inside the work tree (the project root, usually).
        remote: the remote fetched from and pushed to (``[git] remote``).
        reporter: where progress goes (default: nowhere).
        timeout: seconds any one git command may take (a fetch or push over a network).

    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        remote: str = "origin",
        reporter: Reporter | None = None,
        timeout: float = 300.0,
    ) -> None:
        _check_names(remote, what="remote")
        self.root = Path(root)
        self.remote = remote
        self.reporter: Reporter = reporter or NullReporter()
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: WaveConfig, *, reporter: Reporter | None = None) -> Repository:
        """The repository of a project: its root and ``[git] remote``."""
        return cls(config.root, remote=config.git.remote, reporter=reporter)

    # -- plumbing ----------------------------------------------------------------------

    def git(self, *args: str, check: bool = True) -> procs.Result:
        """Run ``git -C root *args``; with ``check``, a non-zero exit is a :class:`GitError`."""
        argv = ["git", "--no-pager", "-C", str(self.root), *args]
        try:
            proc = procs.run(argv, timeout=self.timeout, env={**os.environ, **_QUIET_GIT})
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)", hint="install git") from None
        if proc.timed_out:
            raise GitError(
                f"`{_show(args)}` did not finish within {self.timeout:g}s",
                hint="check that the remote is reachable, then run again",
            )
        if check and proc.returncode != 0:
            raise GitError(f"`{_show(args)}` failed: {_said(proc)}")
        return proc

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

    def changed_files(self) -> list[str]:
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
            raise GitError(f"`git merge-base` failed: {_said(proc)}")
        return proc.returncode == 0

    # -- steps every procedure shares --------------------------------------------------

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
        files = self.changed_files()
        if files:
            shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if files[10:] else "")
            raise DirtyWorkTree(
                f"uncommitted changes in {shown}",
                files=files,
                hint="commit or stash them (git stash), then run again",
            )

    def _position(self) -> tuple[str | None, str]:
        return self.current_branch(), self.head()

    def _return_to(self, position: tuple[str | None, str]) -> None:
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
                f"cannot fetch {self.remote}: {_said(proc)}",
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
        position: tuple[str | None, str],
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
                f"merging {branch} into {target} failed: {_said(proc)}; the repository is as "
                "it was and nothing was pushed"
            )
        after = self.head()
        if after == before:
            self._emit("info", "merge", f"{branch}: already in {target}")
            return None
        self._emit("ok", "merge", f"{branch} → {target} ({after[:12]})")
        return after

    def _push(self, branch: str) -> None:
        self._emit("step", "push", f"pushing {branch} to {self.remote}")
        refspec = f"refs/heads/{branch}:refs/heads/{branch}"
        proc = self.git("push", "--quiet", self.remote, refspec, check=False)
        if proc.returncode != 0:
            raise GitError(
                f"{self.remote} refused the push of {branch}: {_said(proc)}; nothing was pushed",
                hint=f"if {branch} moved on {self.remote} meanwhile, run again to merge onto it",
            )
        # git moved the remote-tracking branch itself, so later steps see the pushed state.

    # -- procedures --------------------------------------------------------------------

    def merge(
        self,
        *,
        target: str = "main",
        branches: Sequence[str],
        message: str = DEFAULT_MESSAGE,
        push: bool = True,
        validate: Callable[[], object] | None = None,
    ) -> MergeResult:
        """The standard merge deployment.

        Refuses to start with uncommitted changes to tracked files. Fetches, checks out
        ``target`` (brought up to date with the remote), merges each of ``branches`` in the
        order given with ``--no-ff`` and ``message`` (``{branch}``/``{target}`` replaced),
        preferring the remote's copy of each branch. Then ``validate()`` runs on the merged
        work tree: it fails by raising or by returning ``False``. Then ``target`` is pushed
        (with ``push``).

        On a conflict, a failed validation or a refused push, every merge of this run is
        undone, ``target`` is back where it was, the branch the user was on is checked out
        again, and the error says why (:class:`~wave_sdk.errors.MergeConflict` names every
        conflicting file; a failed validation is a :class:`~wave_sdk.errors.GateError`).
        Nothing is pushed unless every merge and the validation succeeded. On success the
        work tree is left on ``target``, the commit a deploy would take next.
        """
        branches = list(branches)
        _check_names(target, *branches)
        if not branches:
            raise UsageError(
                "no branches to merge",
                hint="name them with --branch, or list them in [git] merge_order",
            )
        if target in branches:
            raise UsageError(f"cannot merge {target} into itself", hint="leave it out of the list")
        if len(set(branches)) != len(branches):
            raise UsageError("a branch is named twice", hint="name each branch once")
        problem = template_problem(message)
        if problem:
            raise UsageError(f"merge message {message!r}: {problem}", hint="use {branch}, {target}")
        self._require_clean()
        position = self._position()
        self._fetch()
        tips = {branch: self._tip(branch) for branch in branches}
        self._emit("step", "merge", f"merging {', '.join(branches)} into {target}, in this order")
        before = self.rev(f"refs/heads/{target}")
        try:
            self._checkout_synced(target)
            start = self.head()
            merged = []
            for branch in branches:
                ref, tip = tips[branch]
                commit = self._merge_one(
                    ref,
                    branch,
                    target,
                    message,
                    hint=f"merge {target} into {branch}, resolve the conflicts there and push "
                    f"{branch}, then run the merge again",
                )
                merged.append(MergedBranch(branch=branch, ref=_short(ref), tip=tip, commit=commit))
            if validate is not None:
                self._validate(validate, target, branches)
            after = self.head()
            pushed = False
            if push and after != self.rev(f"refs/remotes/{self.remote}/{target}"):
                self._push(target)
                pushed = True
        except BaseException as exc:
            self._restore(target, before, position, exc)
            raise
        self._emit(
            "ok",
            "merge",
            f"{target} is at {after[:12]}"
            + (f", pushed to {self.remote}" if pushed else ", not pushed"),
        )
        return MergeResult(
            target=target,
            remote=self.remote,
            before=start,
            after=after,
            merged=merged,
            validated=validate is not None,
            pushed=pushed,
        )

    def _validate(self, validate: Callable[[], object], target: str, branches: list[str]) -> None:
        self._emit("step", "validate", f"validating {target} with {', '.join(branches)} merged")
        undone = "nothing was pushed and the merges were undone"
        where = f"validation failed after merging {', '.join(branches)} into {target}"
        try:
            outcome = validate()
        except WaveError as exc:
            raise GateError(
                f"{where}: {exc.message}; {undone}",
                results=getattr(exc, "results", None),
                hint=exc.hint or "fix the branches, then run the merge again",
            ) from exc
        except Exception as exc:
            raise GateError(
                f"{where}: {type(exc).__name__}: {exc}; {undone}",
                hint="fix the branches, then run the merge again",
            ) from exc
        if outcome is False:
            raise GateError(f"{where}; {undone}", hint="fix the branches, then run the merge again")
        self._emit("ok", "validate", "validation passed")

    def merge_preview(
        self, *, target: str = "main", branches: Sequence[str], fetch: bool = True
    ) -> dict[str, list[str]]:
        """Which of ``branches`` would conflict, merged in order into ``target``.

        Returns branch → conflicting files, for the branches that conflict (empty: all
        merge cleanly). Nothing in the work tree, the index or any branch changes: ``git
        merge-tree`` merges in memory, and each clean result becomes an unreferenced commit
        that the next branch is merged onto, so the answer matches :meth:`merge`'s order.
        """
        branches = list(branches)
        _check_names(target, *branches)
        if fetch:
            self._fetch()
        _, base = self._tip(target)
        conflicts: dict[str, list[str]] = {}
        for branch in branches:
            _, tip = self._tip(branch)
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
                conflicts[branch] = fields[1:]
                continue
            if proc.returncode != 0 or not fields:
                raise GitError(f"`git merge-tree` failed: {_said(proc)}")
            # An identity of its own: commit-tree needs one, and the user may have none set.
            base = self.git(
                "-c",
                "user.name=wave",
                "-c",
                "user.email=wave@localhost",
                "commit-tree",
                fields[0],
                "-p",
                base,
                "-p",
                tip,
                "-m",
                "wave merge preview",
            ).stdout.strip()
        return conflicts

    def hotfix_branch(self, name: str) -> str:
        """``hotfix/<name>``, after checking the name (wave's rule, then git's)."""
        problem = name_problem(name)
        if problem:
            raise UsageError(
                f"hotfix name {name!r} is not usable: {problem}",
                hint="use letters, digits and . _ - (e.g. login-timeout)",
            )
        branch = f"hotfix/{name}"
        if self.git("check-ref-format", "--branch", branch, check=False).returncode != 0:
            raise UsageError(f"git refuses {branch!r} as a branch name", hint="choose another name")
        return branch

    def hotfix_start(self, name: str, *, main: str = "main") -> HotfixStarted:
        """Create and check out ``hotfix/<name>`` from main as the remote has it.

        The hotfix must start from what production runs, not from a local main that may be
        behind or carry unpushed work. Refuses an existing branch of that name.
        """
        branch = self.hotfix_branch(name)
        _check_names(main)
        self._require_clean()
        self._fetch()
        if self.rev(f"refs/heads/{branch}") or self.rev(f"refs/remotes/{self.remote}/{branch}"):
            raise GitError(
                f"{branch} already exists",
                hint=f"finish it (wave hotfix finish {name}) or choose another name",
            )
        _, base = self._tip(main)
        self.git("checkout", "--quiet", "--no-track", "-b", branch, base)
        self._emit("ok", "hotfix", f"{branch} created from {main} at {base[:12]}")
        return HotfixStarted(name=name, branch=branch, main=main, base=base)

    def hotfix_finish(
        self,
        name: str,
        *,
        main: str = "main",
        develop: str = "develop",
        deploy: Callable[[str], object] | None = None,
        message: str = DEFAULT_MESSAGE,
        push: bool = True,
    ) -> HotfixFinished:
        """Merge ``hotfix/<name>`` into main, push, deploy, and backport it to develop.

        1. The hotfix is merged into main (brought up to date first) with ``--no-ff``; a
           conflict restores everything and raises :class:`~wave_sdk.errors.MergeConflict`.
           When main already contains the hotfix (a rerun after a failed deploy) the merge
           is skipped.
        2. main is pushed (with ``push``). From here on the fix is in production's branch
           and stays there.
        3. ``deploy(commit)`` runs with main checked out (the CLI passes a production
           :meth:`Wave.deploy <wave_sdk.wave.Wave.deploy>`, which needs its L1
           approval). If it raises, :class:`~wave_sdk.errors.HotfixIncomplete` carries the
           cause's exit code and says to run the procedure again once that is fixed.
        4. The hotfix branch is merged into develop (``--no-ff``) and develop is pushed. A
           conflict aborts that merge, leaves develop as it was and raises
           :class:`~wave_sdk.errors.HotfixIncomplete` with the commands to backport by hand.

        Afterwards the branch the user was on is checked out again.
        """
        branch = self.hotfix_branch(name)
        _check_names(main, develop)
        self._require_clean()
        position = self._position()
        self._fetch()
        ref, tip = self._tip(branch, prefer_remote=False)
        self._emit("step", "hotfix", f"finishing {branch}: merge into {main}")
        before = self.rev(f"refs/heads/{main}")
        merged = pushed = False
        try:
            self._checkout_synced(main)
            if self.is_ancestor(tip, "HEAD"):
                self._emit("info", "merge", f"{main} already contains {branch}: not merging again")
            else:
                merged = (
                    self._merge_one(
                        ref,
                        branch,
                        main,
                        message,
                        hint=f"merge {main} into {branch}, resolve the conflicts there, then "
                        f"run `wave hotfix finish {name}` again",
                    )
                    is not None
                )
            commit = self.head()
            if push and commit != self.rev(f"refs/remotes/{self.remote}/{main}"):
                self._push(main)
                pushed = True
        except BaseException as exc:
            self._restore(main, before, position, exc)
            raise
        done = HotfixFinished(
            name=name,
            branch=branch,
            main=main,
            develop=develop,
            commit=commit,
            merged=merged,
            pushed=pushed,
            deployed=False,
        )
        landed = f"{branch} is in {main}" + (f" on {self.remote}" if push else "")
        landed += f" ({commit[:12]})"
        if deploy is not None:
            self._emit("step", "deploy", f"deploying {main} at {commit[:12]}")
            try:
                deploy(commit)
            except Exception as exc:
                self._leave(position)
                cause = (
                    exc.message if isinstance(exc, WaveError) else f"{type(exc).__name__}: {exc}"
                )
                then = f"run `wave hotfix finish {name}` again: it deploys and backports"
                raise HotfixIncomplete(
                    f"{landed}, but the deploy failed: {cause}",
                    exit_code=exc.exit_code if isinstance(exc, WaveError) else 1,
                    result=done,
                    hint=f"{exc.hint}; then {then}"
                    if isinstance(exc, WaveError) and exc.hint
                    else then,
                ) from exc
            done = done.model_copy(update={"deployed": True})
        try:
            done = self._backport(done, ref, message, push=push, landed=landed)
        except HotfixIncomplete:
            self._leave(position)
            raise
        self._leave(position)
        self._emit("ok", "hotfix", f"{branch} finished")
        return done

    def _leave(self, position: tuple[str | None, str]) -> None:
        """Return to where the user was, if that still exists (a detached commit always does)."""
        branch, _ = position
        if branch is None or self.rev(f"refs/heads/{branch}") is not None:
            self._return_to(position)

    def _backport(
        self, done: HotfixFinished, ref: str, message: str, *, push: bool, landed: str
    ) -> HotfixFinished:
        develop, branch = done.develop, done.branch
        self._emit("step", "backport", f"merging {branch} into {develop}")
        manual = (
            f"backport by hand: git checkout {develop} && git pull --ff-only {self.remote} "
            f"{develop} && git merge --no-ff {shlex.quote(_short(ref))}, resolve and commit, "
            f"then git push {self.remote} {develop}"
        )
        position = self._position()
        before = self.rev(f"refs/heads/{develop}")
        try:
            self._checkout_synced(develop)
            commit = self._merge_one(ref, branch, develop, message, hint=manual)
            if push and commit is not None:
                self._push(develop)
        except BaseException as exc:
            self._restore(develop, before, position, exc)
            if not isinstance(exc, Exception):
                raise
            why = (
                f"does not merge cleanly into {develop}: conflicts in {', '.join(exc.files)}"
                if isinstance(exc, MergeConflict)
                else f"was not backported to {develop}: "
                + (exc.message if isinstance(exc, WaveError) else repr(exc))
            )
            raise HotfixIncomplete(
                f"{landed} and stays there, but it {why}; {develop} is unchanged",
                result=done,
                hint=manual,
            ) from exc
        return done.model_copy(
            update={"backport": commit, "backport_pushed": push and bool(commit)}
        )

    def revert(self, commit: str, *, branch: str = "main", push: bool = True) -> RevertResult:
        """Roll code back by a revert commit of ``commit`` on ``branch``, then push.

        A merge commit is reverted against its first parent (``-m 1``): the branch as it
        was before the merge. ``commit`` must be on ``branch``. A conflict or a refused push
        restores the branch and the checkout, and nothing is pushed. On success the work
        tree is left on ``branch``, ready to redeploy.
        """
        _check_names(branch)
        self._require_clean()
        position = self._position()
        self._fetch()
        sha = self.rev(commit)
        if sha is None:
            raise UsageError(f"{commit!r} names no commit here", hint="give a hash from git log")
        before = self.rev(f"refs/heads/{branch}")
        try:
            self._checkout_synced(branch)
            if not self.is_ancestor(sha, "HEAD"):
                raise UsageError(
                    f"{sha[:12]} is not on {branch}", hint=f"name a commit of {branch} (git log)"
                )
            parents = self.git("rev-list", "--parents", "-n", "1", sha).stdout.split()[1:]
            if not parents:
                raise UsageError(f"{sha[:12]} is the first commit: there is nothing to revert to")
            mainline = 1 if len(parents) > 1 else None
            self._emit("step", "revert", f"reverting {sha[:12]} on {branch}")
            proc = self.git(
                "revert", "--no-edit", *(["-m", "1"] if mainline else []), sha, check=False
            )
            if proc.returncode != 0:
                files = self.conflicted_files()
                if files:
                    raise MergeConflict(
                        f"reverting {sha[:12]} conflicts with later changes in "
                        f"{', '.join(files)}; the revert was aborted, the repository is as it "
                        "was and nothing was pushed",
                        branch=sha,
                        files=files,
                        hint="revert by hand (git revert, resolve, commit) or revert the later "
                        "commits first",
                    )
                raise GitError(f"reverting {sha[:12]} failed: {_said(proc)}")
            new = self.head()
            pushed = False
            if push:
                self._push(branch)
                pushed = True
        except BaseException as exc:
            self._restore(branch, before, position, exc)
            raise
        self._emit("ok", "revert", f"{new[:12]} reverts {sha[:12]} on {branch}")
        return RevertResult(
            branch=branch, reverted=sha, mainline=mainline, commit=new, pushed=pushed
        )


# -- glue for the CLI and the pipeline -------------------------------------------------


def merge_target(config: WaveConfig, environment: str) -> str:
    """The branch ``wave merge --env E`` merges into: the environment's, else ``[git] main``."""
    branch = config.environment(environment).branch or config.git.main
    if any(c in branch for c in "*?["):
        raise UsageError(
            f"environment {environment} follows the branch pattern {branch!r}; a merge needs "
            "one branch",
            hint="merge for an environment with one branch, e.g. production (main)",
        )
    return branch


def production_environment(config: WaveConfig) -> str:
    """The environment that deploys ``[git] main``: where a finished hotfix goes."""
    found = [name for name, env in config.environments.items() if env.branch == config.git.main]
    if len(found) != 1:
        which = f"several ({', '.join(found)})" if found else "none"
        raise UsageError(
            f"cannot tell which environment deploys {config.git.main}: {which} has "
            f'branch = "{config.git.main}"',
            hint="name it with --env, or pass --no-deploy",
        )
    return found[0]


def environment_checks(wave: Wave, environment: str) -> Callable[[], list[CheckResult]]:
    """A validation for :meth:`Repository.merge`: the environment's technical checklist.

    The checks run in the merged work tree; any failure raises a
    :class:`~wave_sdk.errors.GateError` carrying every result, so the merge is undone.
    """

    def validate() -> list[CheckResult]:
        # The technical checklist only: Gate 7's approval and the validation report are
        # about a release of the merged commit, which does not exist until this succeeds.
        results = wave.check(environment, groups={"technical"})
        failed = [r for r in results if not r.ok]
        if failed:
            tail = failed[0].output_tail.strip().splitlines()[-1:]
            raise GateError(
                f"checks of {environment} failed: {', '.join(r.name for r in failed)}"
                + (f" ({failed[0].name}: {tail[0]})" if tail else ""),
                results=results,
                hint="fix the branches, then run the merge again",
            )
        return results

    return validate


def _check_names(*names: str, what: str = "branch") -> None:
    for name in names:
        problem = name_problem(name)
        if problem:
            raise UsageError(
                f"{what} name {name!r} is not usable: {problem}",
                hint="use letters, digits and . _ - / (e.g. feature/backend)",
            )


def _short(ref: str) -> str:
    return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")


def _show(args: Sequence[str]) -> str:
    return shlex.join(["git", *args])


def _said(proc: procs.Result) -> str:
    """What git said, on one line: its non-empty lines joined, at most 400 characters."""
    said = secrets.redact(proc.stderr or proc.stdout)  # a remote URL may carry a token
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    text = "; ".join(lines) or f"exit status {proc.returncode}"
    return text if len(text) <= 400 else text[:397] + "..."
