"""The approve step: which providers are asked for an approval, in which order.

The state store's records first, then every plugin's providers (the built-in one reads the
runbook's approval signals), and last the interactive prompt, offered only when a person
can answer. What counts as an approval is :mod:`wave_sdk.approvals`'s business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wave_sdk import approvals

if TYPE_CHECKING:
    from wave_sdk.models import Approval, Release
    from wave_sdk.run.context import RunContext


def providers(ctx: RunContext) -> list[approvals.ApprovalProviderSpec]:
    found = [approvals.ApprovalProviderSpec(name="records", find=approvals.from_records(ctx.store))]
    for announced in ctx.plugins.pm.hook.wave_approval(config=ctx.config):
        found.extend(announced or ())
    found.append(approvals.ApprovalProviderSpec(name="prompt", find=approvals.prompt))
    return found


def request(
    ctx: RunContext, environment: str, action: str, level: int, release: Release
) -> approvals.ApprovalRequest:
    """The request for the step, with the project's rules (``[approvals]``) applied."""
    rules = ctx.config.approvals
    return approvals.ApprovalRequest(
        environment=environment,
        action=action,
        level=level,
        release=release,
        interactive=ctx.interactive,
        deployer=ctx.deployer,
        distinct=rules.distinct_for(level),
        key=rules.key if rules.require_signature else None,
    )


def find(
    ctx: RunContext, environment: str, action: str, level: int, release: Release
) -> Approval | None:
    """The approval on record for the step, without prompting (for a plan)."""
    wanted = request(ctx, environment, action, level, release)
    for provider in providers(ctx):
        if provider.name == "prompt":
            continue
        approval = provider.find(wanted)
        if approval is not None and wanted.accepts(approval):
            return approval
    return None


def require(ctx: RunContext, environment: str, action: str, release: Release) -> Approval | None:
    """Obtain the approval the matrix requires, or raise ApprovalRequired.

    ``None`` when the level is L5 (automatic). An approval given at the prompt is recorded.
    """
    level = ctx.config.required_level(action, environment)
    approval = approvals.obtain(request(ctx, environment, action, level, release), providers(ctx))
    if approval is None:
        ctx.emit(
            "ok",
            "approve",
            f"{action} to {environment}: {approvals.level_name(level)}, no approval needed",
        )
        return None
    if approval.source == "prompt":
        ctx.store.add_approval(approval)
    ctx.emit(
        "ok",
        "approve",
        f"{action} to {environment} approved by "
        f"{approval.approved_by} (L{approval.level}, {approval.source})",
    )
    return approval
