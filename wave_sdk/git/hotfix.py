"""The runbook's hotfix (Procedure 3): a branch from main, finished in the runbook's order.

The runbook tests the fix, gets the L1 approval, and only then merges into main, pushes,
backports to develop and deletes the branch. :meth:`Hotfixes.hotfix_finish` keeps that
order by making the merge commit *before* anything moves: ``git merge-tree`` and ``git
commit-tree`` write it as an object no branch points to. It is checked out detached for
the checks, and the approval names its full SHA. Only then is main fast-forwarded to it —
still a ``--no-ff`` merge, with main and the hotfix as parents — and pushed.

The merge commit is reproducible, so that running ``finish`` again after ``wave approve``
makes the very commit that was approved: the same parents, tree and message, the user's
identity, and as date the later of its parents' commit dates. When main moved or the
hotfix gained a commit in between, the merge commit differs and needs an approval of its
own: an approval names what ships, nothing else.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from wave_sdk.errors import (
    ApprovalRequired,
    GitError,
    HotfixIncomplete,
    MergeConflict,
    UsageError,
    WaveError,
)
from wave_sdk.git.names import DEFAULT_MESSAGE, check_names, name_problem
from wave_sdk.git.repo import Position, WorkTree, short_ref
from wave_sdk.git.results import HotfixFinished, HotfixStarted

if TYPE_CHECKING:
    from wave_sdk.models import Approval


class Hotfixes(WorkTree):
    """The hotfix procedures of :class:`~wave_sdk.git.procedures.Repository`."""

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
        validate: Callable[[], object],
        approve: Callable[[str], Approval | None],
        main: str = "main",
        develop: str = "develop",
        deploy: Callable[[str], object] | None = None,
        message: str = DEFAULT_MESSAGE,
        push: bool = True,
    ) -> HotfixFinished:
        """Finish ``hotfix/<name>`` in the runbook's order; nothing reaches main before step 3.

        1. The merge of the hotfix into main (as the remote has it) is made as a commit no
           branch points to (see the module's docstring). A conflict raises
           :class:`~wave_sdk.errors.MergeConflict`.
        2. That commit is checked out detached and ``validate()`` runs on it (the CLI: the
           environment's technical checks); a raise or ``False`` is a
           :class:`~wave_sdk.errors.GateError`. Then ``approve(commit)`` (the CLI: the L1
           approval of a production deploy of that full SHA) raises
           :class:`~wave_sdk.errors.ApprovalRequired` with the ``wave approve`` command.
        3. main is fast-forwarded to the merge commit and pushed (with ``push``).
        4. ``deploy(commit)`` runs with main checked out; if it raises,
           :class:`~wave_sdk.errors.HotfixIncomplete` carries the cause's exit code.
        5. The hotfix branch is merged into develop (``--no-ff``) and develop is pushed; a
           conflict leaves develop as it was and raises
           :class:`~wave_sdk.errors.HotfixIncomplete` with the commands to backport by hand.
        6. The hotfix branch is deleted here and on the remote (there only if the remote's
           copy is in main). The user is back on the branch they were on, or on main if
           that was the hotfix branch.

        A failure in steps 1 to 3 leaves main, the remote and the checkout as they were. When
        main already contains the hotfix (a rerun after a failed deploy), steps 1 to 3 are
        skipped: the fix is there and the deploy asks for its own approval.
        """
        branch = self.hotfix_branch(name)
        check_names(main, develop)
        position = self._begin(message)
        ref, tip = self._tip(branch, prefer_remote=False)
        before = self.rev(f"refs/heads/{main}")
        approval: Approval | None = None
        try:
            self._checkout_synced(main)
            base = self.head()
            merged = not self.is_ancestor(tip, base)
            if merged:
                commit = self._merge_commit(base, tip, branch, main, message, name)
                self.git("checkout", "--quiet", "--detach", commit)
                self._validate(
                    validate,
                    subject=f"{main} with {branch} merged ({commit[:12]})",
                    where=f"the checks of {branch} merged into {main} failed",
                    undone=f"nothing was merged into {main} and nothing was pushed",
                    hint=f"fix it on {branch}, then run `wave hotfix finish {name}` again",
                )
                approval = self._approval(approve, commit, branch, main, name)
                self.git("checkout", "--quiet", main, "--")
                self.git("merge", "--quiet", "--ff-only", commit)
                self._emit("ok", "merge", f"{branch} → {main} ({commit[:12]})")
            else:
                commit = base
                self._emit("info", "merge", f"{main} already contains {branch}: not merging again")
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
            checked=merged,
            approved_by=approval.approved_by if approval else None,
            pushed=pushed,
            deployed=False,
        )
        landed = f"{branch} is in {main}" + (f" on {self.remote}" if push else "")
        landed += f" ({commit[:12]})"
        if deploy is not None:
            done = self._deploy(done, deploy, position, landed)
        try:
            done = self._backport(done, ref, message, push=push, landed=landed)
        except HotfixIncomplete:
            self._leave(position)
            raise
        done = self._delete(done, push=push)
        if position[0] == branch:
            self.git("checkout", "--quiet", main, "--")
        else:
            self._leave(position)
        self._emit("ok", "hotfix", f"{branch} finished")
        return done

    def _merge_commit(
        self, base: str, tip: str, branch: str, main: str, text: str, name: str
    ) -> str:
        """The merge of ``tip`` onto ``base`` as ``git merge --no-ff`` makes it, reproducibly."""
        tree, files = self.merge_in_memory(base, tip)
        if tree is None:
            self._emit("fail", "merge", f"{branch}: conflicts in {', '.join(files)}")
            raise MergeConflict(
                f"{branch} does not merge cleanly into {main}: conflicts in {', '.join(files)}; "
                "nothing was merged and nothing was pushed",
                branch=branch,
                files=files,
                hint=f"merge {main} into {branch}, resolve the conflicts there, then run "
                f"`wave hotfix finish {name}` again",
            )
        stamps = self.git("show", "-s", "--format=%ct", base, tip).stdout.split()
        date = f"{max(int(s) for s in stamps)} +0000"
        return self.commit_tree(
            tree,
            [base, tip],
            text.format(branch=branch, target=main),
            env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )

    def _approval(
        self,
        approve: Callable[[str], Approval | None],
        commit: str,
        branch: str,
        main: str,
        name: str,
    ) -> Approval | None:
        self._emit("step", "approve", f"approval of {commit[:12]} ({branch} merged into {main})")
        try:
            return approve(commit)
        except ApprovalRequired as exc:
            refused = ApprovalRequired(
                f"{branch} merged into {main}: {exc.message}; nothing was merged into {main} "
                "and nothing was pushed",
                command=exc.command,
            )
            refused.hint = f"{refused.hint}, then run `wave hotfix finish {name}` again"
            raise refused from exc

    def _deploy(
        self,
        done: HotfixFinished,
        deploy: Callable[[str], object],
        position: Position,
        landed: str,
    ) -> HotfixFinished:
        self._emit("step", "deploy", f"deploying {done.main} at {done.commit[:12]}")
        try:
            deploy(done.commit)
        except Exception as exc:
            self._leave(position)
            cause = exc.message if isinstance(exc, WaveError) else f"{type(exc).__name__}: {exc}"
            then = f"run `wave hotfix finish {done.name}` again: it deploys and backports"
            raise HotfixIncomplete(
                f"{landed}, but the deploy failed: {cause}",
                exit_code=exc.exit_code if isinstance(exc, WaveError) else 1,
                result=done,
                hint=f"{exc.hint}; then {then}"
                if isinstance(exc, WaveError) and exc.hint
                else then,
            ) from exc
        return done.model_copy(update={"deployed": True})

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

    def _delete(self, done: HotfixFinished, *, push: bool) -> HotfixFinished:
        """Delete the hotfix branch here, and on the remote when its copy there is in main.

        The remote's copy is deleted only if it points where it did when it was checked
        (``--force-with-lease``): a commit pushed to it meanwhile is not lost. Failing to
        delete it is a warning: the fix is shipped either way.
        """
        branch, main = done.branch, done.main
        if self.current_branch() == branch:
            self.git("checkout", "--quiet", main, "--")
        local = self.rev(f"refs/heads/{branch}")
        deleted = local is not None and self.is_ancestor(local, f"refs/heads/{main}")
        if deleted:
            self.git("branch", "--quiet", "-D", branch)
        remote = self.rev(f"refs/remotes/{self.remote}/{branch}")
        deleted_remote = False
        if push and remote is not None:
            if not self.is_ancestor(remote, f"refs/heads/{main}"):
                self._emit(
                    "warn",
                    "cleanup",
                    f"{self.remote}/{branch} has commits that are not in {main}: not deleted",
                )
            else:
                proc = self.git(
                    "push",
                    "--quiet",
                    f"--force-with-lease=refs/heads/{branch}:{remote}",
                    self.remote,
                    f":refs/heads/{branch}",
                    check=False,
                )
                deleted_remote = proc.returncode == 0
                if not deleted_remote:
                    self._emit(
                        "warn",
                        "cleanup",
                        f"{self.remote} refused to delete {branch} — delete it by hand: "
                        f"git push {self.remote} --delete {branch}",
                    )
        gone = "deleted here" if deleted else f"kept here (not in {main})"
        there = f", deleted on {self.remote}" if deleted_remote else ""
        self._emit("ok", "cleanup", f"{branch} {gone}{there}")
        return done.model_copy(update={"deleted": deleted, "deleted_remote": deleted_remote})
