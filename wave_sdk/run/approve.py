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


def find(
    ctx: RunContext, environment: str, action: str, level: int, release: Release
) -> Approval | None:
    """The approval on record for the step, without prompting (for a plan)."""
    request = approvals.ApprovalRequest(
        environment=environment, action=action, level=level, release=release, interactive=False
    )
    for provider in providers(ctx):
        approval = provider.find(request)
        if approval is not None:
            return approval
    return None


def require(ctx: RunContext, environment: str, action: str, release: Release) -> Approval | None:
    """Obtain the approval the matrix requires, or raise ApprovalRequired.

    ``None`` when the level is L5 (automatic). An approval given at the prompt is recorded.
    """
    level = ctx.config.required_level(action, environment)
    request = approvals.ApprovalRequest(
        environment=environment,
        action=action,
        level=level,
        release=release,
        interactive=ctx.interactive,
    )
    approval = approvals.obtain(request, providers(ctx))
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
