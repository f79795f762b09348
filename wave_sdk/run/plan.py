"""The plan: what a deploy will do, computed once before anything changes.

:func:`make_plan` resolves the environment, its targets (their configuration validated),
the release to roll back to and the approval each step needs. ``wave plan`` and
``--dry-run`` print it; :class:`~wave_sdk.run.deploy.DeployRun` carries it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from wave_sdk import approvals
from wave_sdk.config.sections import validate_sections
from wave_sdk.models import Release
from wave_sdk.run import approve

if TYPE_CHECKING:
    from wave_sdk.run.context import RunContext


class PlanStep(BaseModel):
    """One step of a plan, with the approval level it needs and whether that is met."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    step: str
    detail: str
    level: int | None = None
    satisfied: bool | None = None


class Plan(BaseModel):
    """What :meth:`Wave.deploy <wave_sdk.wave.Wave.deploy>` would do, changing nothing."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    environment: str
    release: Release
    targets: list[dict[str, str]]
    rollback_to: str | None
    checks: list[str]
    steps: list[PlanStep]


def make_plan(ctx: RunContext, environment: str, release: Release) -> Plan:
    """The plan of deploying ``release`` to ``environment``."""
    config = ctx.config
    env = config.environment(environment)
    targets = [{"name": t, "adapter": config.targets[t].adapter} for t in env.targets]
    for t in env.targets:
        config.target_settings(t, ctx.plugins)  # validate before promising anything
    validate_sections(config, ctx.plugins)
    last = ctx.store.current(environment)
    migrates = release.has_migrations and config.migrations is not None
    steps = [
        PlanStep(step="gate", detail=_gate_detail(ctx, environment)),
        _approval(ctx, environment, "deploy", release),
        *([_approval(ctx, environment, "migration", release)] if migrates else []),
        PlanStep(step="lock", detail=f"environment {environment}"),
        *(
            [PlanStep(step="migrate", detail=_migrate_detail(ctx, environment, release))]
            if migrates
            else []
        ),
        PlanStep(
            step="deploy", detail=" → ".join(f"{t['name']} ({t['adapter']})" for t in targets)
        ),
        PlanStep(step="verify", detail=_verify_detail(ctx, environment)),
        PlanStep(
            step="finish",
            detail="on failure roll back to "
            + (f"{last.release}, then verify it" if last else "nothing (first deploy)")
            + _lowered(ctx, "rollback", environment),
            level=config.required_level("rollback", environment),
        ),
    ]
    return Plan(
        environment=environment,
        release=release,
        targets=targets,
        rollback_to=last.release if last else None,
        checks=list(env.checks),
        steps=steps,
    )


def _approval(ctx: RunContext, environment: str, action: str, release: Release) -> PlanStep:
    """The approve step of ``action``: the level it needs, and whether one is on record."""
    level = ctx.config.required_level(action, environment)
    found = approve.find(ctx, environment, action, level, release) if level < 5 else None
    return PlanStep(
        step="approve",
        detail=f"{action} needs {approvals.level_name(level)}"
        + (f" for {approvals.content_of(release)}" if level <= 2 else "")
        + _lowered(ctx, action, environment),
        level=level,
        satisfied=level >= 5 or found is not None,
    )


def _migrate_detail(ctx: RunContext, environment: str, release: Release) -> str:
    """The database procedure and the files to review (the runbook's first migration step)."""
    from wave_sdk.migrations import MigrationRun

    order = MigrationRun.for_deploy(ctx.config, environment).order
    files = list(release.migration_files)
    shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    return f"back up, then migrate {' → '.join(order)}; review " + (
        f"{len(files)} migration file{'s' if len(files) != 1 else ''}: {shown}"
        if files
        else "the migrations (git cannot list them)"
    )


def _lowered(ctx: RunContext, action: str, environment: str) -> str:
    runbook = ctx.config.lowered(action, environment)
    if runbook is None:
        return ""
    return f" — lowered from the runbook's L{runbook} by allow_lower_approvals"


def _gate_detail(ctx: RunContext, environment: str) -> str:
    from wave_sdk.gate import gate_enabled

    env = ctx.config.environment(environment)
    parts = [f"checks: {', '.join(env.checks) or 'none configured'}"]
    if gate_enabled(ctx.config, environment):
        parts.append(f"Gate 7: {', '.join(ctx.config.gate.checks)}")
    return "; ".join(parts) + " (plus plugins' checks)"


def _verify_detail(ctx: RunContext, environment: str) -> str:
    health = ctx.config.health_for(environment)
    env = ctx.config.environment(environment)
    paths = ", ".join(e.shown for e in health.endpoints) or "no endpoints"
    detail = (
        f"adapter health + {paths}; {health.consecutive} passing rounds in a row, "
        f"deadline {health.deadline:g}s"
    )
    if env.smoke is not None:
        detail += "; smoke test"
    if env.bake is not None:
        detail += f"; bake {env.bake.duration:g}s"
    if not env.auto_rollback:
        detail += "; on failure: recommend only (auto_rollback = false)"
    return detail
