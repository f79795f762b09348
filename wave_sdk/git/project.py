"""What the CLI and the pipeline need from a project's configuration to run a procedure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wave_sdk.errors import GateError, UsageError

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.models import CheckResult
    from wave_sdk.wave import Wave


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
