"""Auto-deploy: which environments a push to a branch deploys, as a CI job asks it.

The runbook: Development and Staging deploy automatically, Production never. The way
CI-driven tools do it, a job on every push runs ``wave deploy --auto``; wave finds the
pushed branch (:func:`pushed_branch`) and deploys the current commit to each environment
whose ``branch`` matches it and whose ``auto_deploy`` is true (:func:`environments_for`), in
the order of the file, and nothing otherwise — saying why for each environment, so a CI log
never leaves anyone guessing why a push did not deploy. An environment whose deploys need
an L1 approval cannot auto-deploy: the configuration refuses ``auto_deploy = true`` there
(:mod:`wave_sdk.config.references`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wave_sdk.errors import UsageError

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.run.report import DeployReport

CI_BRANCH_VARIABLES = (
    "CI_COMMIT_BRANCH",  # GitLab, set for branch pipelines only
    "BITBUCKET_BRANCH",
    "CIRCLE_BRANCH",
    "BUILDKITE_BRANCH",
    "DRONE_BRANCH",
)
"""Variables in which CI services name the branch a pipeline runs for (GitHub: below)."""


@dataclass(frozen=True)
class Skipped:
    """An environment a push did not deploy, and why."""

    environment: str
    reason: str


@dataclass
class AutoDeployReport:
    """What ``wave deploy --auto`` did for one push."""

    branch: str
    branch_from: str
    """Where the branch name came from: a CI variable's name, ``git`` or ``--branch``."""
    deployed: list[DeployReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def pushed_branch(root: Path, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The branch a CI job runs for, and where its name came from.

    GitHub Actions names it in ``GITHUB_REF_NAME`` when ``GITHUB_REF_TYPE`` is ``branch``;
    other services in :data:`CI_BRANCH_VARIABLES`; outside CI, the branch checked out.

    Raises:
        UsageError: a tag or a detached checkout with no CI variable naming a branch.

    """
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        if env.get("GITHUB_REF_TYPE") == "branch" and env.get("GITHUB_REF_NAME"):
            return env["GITHUB_REF_NAME"], "GITHUB_REF_NAME"
        raise UsageError(
            f"this GitHub Actions run is for {env.get('GITHUB_REF') or 'no ref'}, not a "
            "branch push: nothing to auto-deploy",
            hint="run `wave deploy --auto` in a workflow `on: push: branches: [...]`, or "
            "pass --branch NAME",
        )
    for name in CI_BRANCH_VARIABLES:
        if env.get(name):
            return env[name], name
    from wave_sdk.git.repo import WorkTree

    branch = WorkTree(root).current_branch()
    if not branch:
        raise UsageError(
            "cannot tell which branch was pushed: the checkout is detached and no CI "
            f"variable names a branch ({', '.join(CI_BRANCH_VARIABLES)}, GITHUB_REF_NAME)",
            hint="pass --branch NAME",
        )
    return branch, "git"


def matches(branch: str, pattern: str) -> bool:
    """Whether ``branch`` is ``pattern`` or matches it as a glob (``release/*``).

    The same patterns the ``branch`` check gives ``git for-each-ref``, where ``*`` also
    crosses ``/``.
    """
    return branch == pattern or fnmatch.fnmatchcase(branch, pattern)


def environments_for(config: WaveConfig, branch: str) -> tuple[list[str], list[Skipped]]:
    """The environments a push to ``branch`` deploys, in file order; the others with why."""
    chosen: list[str] = []
    skipped: list[Skipped] = []
    for name, env in config.environments.items():
        if env.branch is None:
            skipped.append(Skipped(name, "it names no branch"))
        elif not matches(branch, env.branch):
            skipped.append(Skipped(name, f"its branch is {env.branch}, not {branch}"))
        elif not env.auto_deploy:
            skipped.append(Skipped(name, f"auto_deploy is off (branch {env.branch})"))
        else:
            chosen.append(name)
    return chosen, skipped
