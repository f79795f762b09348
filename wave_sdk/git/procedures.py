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
touching the work tree. The steps they share are :class:`~wave_sdk.git.repo.WorkTree`'s.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, final

from wave_sdk.errors import (
    GateError,
    GitError,
    HotfixIncomplete,
    MergeConflict,
    UsageError,
    WaveError,
)
from wave_sdk.git.command import said
from wave_sdk.git.names import DEFAULT_MESSAGE, check_names, name_problem, template_problem
from wave_sdk.git.repo import WorkTree, short_ref
from wave_sdk.git.results import (
    HotfixFinished,
    HotfixStarted,
    MergedBranch,
    MergeResult,
    RevertResult,
)

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.reporting import Reporter


@final
class Repository(WorkTree):
    """A git work tree and the runbook's procedures on it.

    Args:
        root: any directory inside the work tree (the project root, usually).
        remote: the remote fetched from and pushed to (``[git] remote``).
        reporter: where progress goes (default: nowhere).

    """

    @classmethod
    def from_config(cls, config: WaveConfig, *, reporter: Reporter | None = None) -> Repository:
        """The repository of a project: its root and ``[git] remote``."""
        return cls(config.root, remote=config.git.remote, reporter=reporter)

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
        check_names(target, *branches)
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
                merged.append(
                    MergedBranch(branch=branch, ref=short_ref(ref), tip=tip, commit=commit)
                )
            if validate is not None:
                self._validate(validate, target, branches)
            after = self.head()
            pushed = push and self._push_if_new(target)
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
        check_names(target, *branches)
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
                raise GitError(f"`git merge-tree` failed: {said(proc)}")
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
        check_names(main)
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
        check_names(main, develop)
        self._require_clean()
        position = self._position()
        self._fetch()
        ref, tip = self._tip(branch, prefer_remote=False)
        self._emit("step", "hotfix", f"finishing {branch}: merge into {main}")
        before = self.rev(f"refs/heads/{main}")
        merged = False
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
            pushed = push and self._push_if_new(main)
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

    def _backport(
        self, done: HotfixFinished, ref: str, message: str, *, push: bool, landed: str
    ) -> HotfixFinished:
        develop, branch = done.develop, done.branch
        self._emit("step", "backport", f"merging {branch} into {develop}")
        manual = (
            f"backport by hand: git checkout {develop} && git pull --ff-only {self.remote} "
            f"{develop} && git merge --no-ff {shlex.quote(short_ref(ref))}, resolve and commit, "
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
        check_names(branch)
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
                raise GitError(f"reverting {sha[:12]} failed: {said(proc)}")
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
