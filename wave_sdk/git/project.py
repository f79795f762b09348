"""What the CLI and the pipeline need from a project's configuration to run a procedure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wave_sdk.errors import GateError, UsageError

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.git.results import HotfixFinished
    from wave_sdk.models import Approval, CheckResult
    from wave_sdk.run.report import DeployReport
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
            hint="name it with --env",
        )
    return found[0]


def environment_checks(
    wave: Wave, environment: str, *, hint: str = "fix the branches, then run the merge again"
) -> Callable[[], list[CheckResult]]:
    """A validation for :meth:`Repository.merge` and ``hotfix_finish``: the technical checklist.

    The checks run in the merged work tree; any failure raises a
    :class:`~wave_sdk.errors.GateError` carrying every result and ``hint``, so the merge
    is undone.
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
                hint=hint,
            )
        return results

    return validate


def finish_hotfix(
    wave: Wave, name: str, *, environment: str | None = None, deploy: bool = True
) -> tuple[HotfixFinished, DeployReport | None]:
    """``wave hotfix finish``: :meth:`Repository.hotfix_finish` with the project's steps.

    The checks are ``environment``'s technical checklist (default: the environment that
    deploys ``[git] main``, see :func:`production_environment`); the approval is the one a
    deploy of the merge commit to that environment needs (L1 for production), asked of the
    same providers as a deploy's, for a release carrying the merge commit's full SHA — so
    the deploy that follows finds it. With ``deploy`` the merged main is deployed there.
    Returns what the procedure did and the deploy's report (``None`` without a deploy).
    """
    from wave_sdk.git.procedures import Repository
    from wave_sdk.run import approve as approve_step

    settings = wave.config.git
    environment = environment or production_environment(wave.config)
    wave.config.environment(environment)  # an unknown name fails before anything changes
    reports: list[DeployReport] = []

    def approve(commit: str) -> Approval | None:
        release = wave.release(commit=commit)
        return approve_step.require(wave.ctx, environment, "deploy", release)

    def run_deploy(commit: str) -> None:
        reports.append(wave.deploy(environment, release=wave.release(commit=commit)))

    done = Repository.from_config(wave.config, reporter=wave.reporter).hotfix_finish(
        name,
        validate=environment_checks(
            wave,
            environment,
            hint=f"fix it on hotfix/{name}, then run `wave hotfix finish {name}` again",
        ),
        approve=approve,
        main=settings.main,
        develop=settings.develop,
        deploy=run_deploy if deploy else None,
        message=settings.message,
        push=settings.push,
    )
    return done, reports[0] if reports else None
