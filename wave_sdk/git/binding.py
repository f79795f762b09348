"""Environments bound to branches: the runbook's Production ← ``main``, Staging ← ``develop``.

An environment's ``branch`` (a name, or a pattern such as ``feature/*``) is a rule, not a
label: the commit deployed there must be on a branch it names, and — where
``require_pushed`` is on, by default wherever a deploy needs L1 — on the remote's copy of
it, so that production only ever runs code others can see and review. It is checked as
the ``branch`` check of the gate, so ``wave check`` shows it and a refusal exits 3.

A release that is not a commit (a dirty tree, a directory outside the repository) is not
on any branch; the rule then cannot apply, and what stands in for it is the approval of
its digest that L1 and L2 steps require (:mod:`wave_sdk.approvals`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wave_sdk.errors import GitError
from wave_sdk.models import CheckResult

if TYPE_CHECKING:
    from pathlib import Path

    from wave_sdk.checks import CheckSpec
    from wave_sdk.config import WaveConfig
    from wave_sdk.models import Release


def branch_check(config: WaveConfig, environment: str, release: Release | None) -> CheckSpec | None:
    """The ``branch`` check of ``environment``, or ``None`` when it names no branch."""
    from wave_sdk.checks import CheckSpec

    env = config.environment(environment)
    pattern = env.branch
    if pattern is None or release is None:
        return None
    pushed = (
        env.require_pushed
        if env.require_pushed is not None
        else config.required_level("deploy", environment) == 1
    )

    def run() -> CheckResult:
        if release.commit is None:
            why = release.metadata.get("why_not_commit") or "it has no commit"
            return CheckResult(
                name="branch",
                ok=True,
                pending=True,
                detail=f"{release.id} is not a commit ({why}): no branch to check; "
                "L1 and L2 steps need its digest approved",
            )
        problem = branch_problem(
            config.root, release.commit, pattern, remote=config.git.remote, pushed=pushed
        )
        where = f"{config.git.remote}/{pattern}" if pushed else pattern
        if problem is None:
            return CheckResult(
                name="branch", ok=True, detail=f"commit {release.commit[:12]} is on {where}"
            )
        fix = _fix(environment, pattern, config.git.remote, pushed)
        return CheckResult(name="branch", ok=False, detail=f"{problem} — {fix}")

    return CheckSpec(name="branch", run=run, group="release")


def branch_problem(
    root: Path, commit: str, pattern: str, *, remote: str, pushed: bool
) -> str | None:
    """Why ``commit`` is not on a branch matching ``pattern``; ``None`` when it is.

    With ``pushed``, only the remote's branches count, fetched once if the local copy of
    them does not have the commit yet (someone else may have pushed it).
    """
    from wave_sdk import git

    remote_refs = f"refs/remotes/{remote}/{pattern}"
    refs = [remote_refs] if pushed else [f"refs/heads/{pattern}", remote_refs]
    try:
        if _contains(root, commit, refs):
            return None
        if pushed:
            fetched = git.run(root, "fetch", "--quiet", "--end-of-options", remote, check=False)
            if fetched.returncode == 0 and _contains(root, commit, refs):
                return None
            if _contains(root, commit, [f"refs/heads/{pattern}"]):
                return f"commit {commit[:12]} is on {pattern} here but not on {remote}"
    except GitError as exc:
        return f"cannot tell whether commit {commit[:12]} is on {pattern}: {exc.message}"
    return f"commit {commit[:12]} is not on {pattern}" + _checked_out(root)


def _contains(root: Path, commit: str, refs: list[str]) -> bool:
    from wave_sdk import git

    found = git.run(root, "for-each-ref", "--format=%(refname)", f"--contains={commit}", *refs)
    return bool(found.stdout.strip())


def _checked_out(root: Path) -> str:
    from wave_sdk import git

    try:
        branch = git.run(root, "branch", "--show-current", check=False).stdout.strip()
    except GitError:
        return ""
    return f" (it is on {branch})" if branch else ""


def _fix(environment: str, pattern: str, remote: str, pushed: bool) -> str:
    if pushed:
        return (
            f"{environment} deploys what {remote} has on {pattern}: merge the change there, "
            f"push it, and deploy from that checkout"
        )
    return f"{environment} deploys {pattern}: check it out (or merge into it) and deploy again"
