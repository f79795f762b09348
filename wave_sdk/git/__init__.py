"""Everything wave does with git, and the one way it runs git.

* :mod:`wave_sdk.git.command` — :func:`run`, the single runner (one timeout, one
  environment: no prompt, no pager, no editor, C locale, standard input closed, its own
  process group), and the questions the pipeline asks: :func:`head_commit` (the commit a
  release is built from) and :func:`changed_files` (what a release changes since the
  live one — for the decision tree, Gate 7's changelog check and migration detection).
* :mod:`wave_sdk.git.names` — which branch and remote names, and merge messages, wave
  lets reach git.
* :mod:`wave_sdk.git.procedures` — :class:`Repository`: merge deployment, hotfix (from
  :mod:`wave_sdk.git.hotfix`), revert, and the merge preview of Gate 7, on the steps of
  :mod:`wave_sdk.git.repo`.
* :mod:`wave_sdk.git.results` — what the procedures return.
* :mod:`wave_sdk.git.project` — the glue between a project's configuration and a procedure.
"""

from __future__ import annotations

from wave_sdk.git.command import ENVIRONMENT, TIMEOUT_S, changed_files, head_commit, run
from wave_sdk.git.names import DEFAULT_MESSAGE, check_names, name_problem, template_problem
from wave_sdk.git.procedures import Repository
from wave_sdk.git.project import (
    environment_checks,
    finish_hotfix,
    merge_target,
    production_environment,
)
from wave_sdk.git.results import (
    HotfixFinished,
    HotfixStarted,
    MergedBranch,
    MergeResult,
    RevertedCommit,
    RevertResult,
)

__all__ = [
    "DEFAULT_MESSAGE",
    "ENVIRONMENT",
    "TIMEOUT_S",
    "HotfixFinished",
    "HotfixStarted",
    "MergeResult",
    "MergedBranch",
    "Repository",
    "RevertResult",
    "RevertedCommit",
    "changed_files",
    "check_names",
    "environment_checks",
    "finish_hotfix",
    "head_commit",
    "merge_target",
    "name_problem",
    "production_environment",
    "run",
    "template_problem",
]
