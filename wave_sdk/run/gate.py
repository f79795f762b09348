"""The gate step: the environment's checklist and every plugin's checks, run once.

The environment's commands (and those they need), then every plugin's checks — the
built-in plugin's Gate 7, documentation and communication checks among them. ``wave check``
and a deploy's gate run the same list; only ``wave check`` writes the report as it goes.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wave_sdk.models import CheckResult, Release
    from wave_sdk.run.context import RunContext


def run_checks(
    ctx: RunContext,
    environment: str,
    release: Release | None,
    *,
    report: bool = False,
    groups: Collection[str] | None = None,
) -> list[CheckResult]:
    """Run the checks of ``environment`` against ``release``; return every result.

    With ``report``, ``[gate] report`` is written as the checks start and when they end.
    ``groups`` keeps only checks of those checklist sections (validating a merge wants
    ``{"technical"}``: Gate 7 is what allowed the merge in the first place).
    """
    from wave_sdk import validation
    from wave_sdk.checks import command_checks
    from wave_sdk.checks import run_checks as run_all

    env = ctx.config.environment(environment)
    specs = command_checks(ctx.config, env.checks)
    for announced in ctx.plugins.pm.hook.wave_checks(
        environment=environment, config=ctx.config, release=release, store=ctx.store
    ):
        specs.extend(announced or ())
    if groups is not None:
        specs = [s for s in specs if s.group in groups]
    path = validation.report_path(ctx.config) if report else None
    write = partial(
        validation.write_report, config=ctx.config, environment=environment, release=release
    )
    if path is not None:
        write(path, validation.pending(specs), status="in progress")
    results = run_all(specs)
    if path is not None:
        write(path, results, status="passed" if all(r.ok for r in results) else "failed")
    return results
