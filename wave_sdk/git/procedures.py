"""The runbook's git procedures on a real repository: merge deployment, hotfix, revert.

Each procedure is a method of :class:`Repository`:

* :meth:`Repository.merge` — the standard merge deployment: the configured branches merged
  into the target one by one, in order (backend before frontend), each with ``--no-ff``;
  then validation; then the push. On any failure the repository is put back as it was —
  branches, checkout and work tree — and nothing is pushed.
* :meth:`Repository.hotfix_start` and :meth:`Repository.hotfix_finish` — a branch from the
  up-to-date main; later checked, approved, merged into main, pushed, deployed, backported
  to develop and deleted (:mod:`wave_sdk.git.hotfix`).
* :meth:`Repository.revert` — rollback of code by revert commits (``-m 1`` for a merge), of
  one commit or of a range ``A..B`` newest first.

:meth:`Repository.merge_preview` answers Gate 7's "do the branches merge cleanly?" without
touching the work tree. The steps they share are :class:`~wave_sdk.git.repo.WorkTree`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, final

from wave_sdk.errors import GitError, MergeConflict, UsageError
from wave_sdk.git.command import said
from wave_sdk.git.hotfix import Hotfixes
from wave_sdk.git.names import DEFAULT_MESSAGE, check_names
from wave_sdk.git.repo import short_ref
from wave_sdk.git.results import MergedBranch, MergeResult, RevertedCommit, RevertResult

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.reporting import Reporter

PREVIEW_IDENTITY = {
    "GIT_AUTHOR_NAME": "wave",
    "GIT_AUTHOR_EMAIL": "wave@localhost",
    "GIT_COMMITTER_NAME": "wave",
    "GIT_COMMITTER_EMAIL": "wave@localhost",
}
"""Who makes the merge preview's throwaway commits: commit-tree needs an identity, and
the user may have none set."""


@final
class Repository(Hotfixes):
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
        position = self._begin(message)
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
                self._validate(
                    validate,
                    subject=f"{target} with {', '.join(branches)} merged",
                    where=f"validation failed after merging {', '.join(branches)} into {target}",
                    undone="nothing was pushed and the merges were undone",
                    hint="fix the branches, then run the merge again",
                )
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
            tree, files = self.merge_in_memory(base, tip)
            if tree is None:
                conflicts[branch] = files
                continue
            base = self.commit_tree(
                tree,
                [base, tip],
                "wave merge preview",
                env=PREVIEW_IDENTITY,
            )
        return conflicts

    def revert(self, commits: str, *, branch: str = "main", push: bool = True) -> RevertResult:
        """Roll code back by revert commits on ``branch``, then push.

        ``commits`` is one commit, or a range ``A..B`` as the runbook writes it (``git
        revert HEAD~3..HEAD``): the commits after ``A`` up to ``B`` along first parents,
        reverted newest first, one revert commit each. Revisions are read on ``branch``
        brought up to date with the remote, so ``HEAD`` is its tip, not a stale checkout.
        A merge commit is reverted against its first parent (``-m 1``): the branch as it
        was before the merge. Every commit must be on ``branch``. A conflict or a refused
        push restores the branch and the checkout — no revert of the range is left — and
        nothing is pushed. On success the work tree is left on ``branch``, ready to
        redeploy.
        """
        check_names(branch)
        position = self._begin()
        before = self.rev(f"refs/heads/{branch}")
        try:
            self._checkout_synced(branch)
            start = self.head()
            wanted = self._to_revert(commits, branch)
            reverts = [self._revert_one(sha, branch) for sha in wanted]
            pushed = False
            if push:
                self._push(branch)
                pushed = True
        except BaseException as exc:
            self._restore(branch, before, position, exc)
            raise
        new = self.head()
        self._emit("ok", "revert", f"{branch} is at {new[:12]}: {len(reverts)} revert commit(s)")
        return RevertResult(branch=branch, before=start, commit=new, reverts=reverts, pushed=pushed)

    def _to_revert(self, commits: str, branch: str) -> list[str]:
        """The commits ``commits`` names on the checked-out ``branch``, newest first."""
        if "..." in commits:
            raise UsageError(
                f"{commits!r} is a symmetric range", hint="name a range as A..B, e.g. HEAD~3..HEAD"
            )
        if ".." not in commits:
            return [self._on_branch(commits, branch)]
        low, _, high = commits.partition("..")
        if not low or not high:
            raise UsageError(
                f"{commits!r} leaves out an end of the range",
                hint="name both ends, e.g. HEAD~3..HEAD",
            )
        start, end = self._on_branch(low, branch), self._on_branch(high, branch)
        listed = self.git("rev-list", "--first-parent", end, f"^{start}").stdout.split()
        if not listed:
            raise UsageError(
                f"{commits!r} names no commits", hint="the older commit goes first: OLD..NEW"
            )
        return listed

    def _on_branch(self, revision: str, branch: str) -> str:
        sha = self.rev(revision)
        if sha is None:
            raise UsageError(f"{revision!r} names no commit here", hint="give a hash from git log")
        if not self.is_ancestor(sha, "HEAD"):
            raise UsageError(
                f"{sha[:12]} is not on {branch}", hint=f"name a commit of {branch} (git log)"
            )
        return sha

    def _revert_one(self, sha: str, branch: str) -> RevertedCommit:
        parents = self.git("rev-list", "--parents", "-n", "1", sha).stdout.split()[1:]
        if not parents:
            raise UsageError(f"{sha[:12]} is the first commit: there is nothing to revert to")
        mainline = 1 if len(parents) > 1 else None
        self._emit("step", "revert", f"reverting {sha[:12]} on {branch}")
        proc = self.git("revert", "--no-edit", *(["-m", "1"] if mainline else []), sha, check=False)
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
        return RevertedCommit(reverted=sha, mainline=mainline, commit=self.head())
