"""A signal as the runbook's Slack message: ``text`` plus Block Kit ``blocks``.

The runbook's "Post-Deployment Communication" posts ``{"text": "✅ Deployment Complete",
"blocks": [a mrkdwn section: "*Deployment Complete*", then "• Environment", "• Commit",
"• Time" lines]}``. Every message here keeps that shape — the same text, the same first
section with those three lines first — and adds, as further "• " lines, what the signal
knows: who deployed, the release, the verification figures, what a rollback went from and
to and why, the link to where the release answers. A failure (and any rollback) adds a
second section naming the emergency contacts for that kind of failure; a context block
ends each message with the project and the deploy id, to find the run in ``wave history``.

The blocks are built with ``slack_sdk``'s Block Kit models rather than as dicts: they
check Slack's limits (3,000 characters a section) when the message is built, where a dict
would be refused by Slack at send time. What a user wrote (a rollback reason) is escaped
for mrkdwn and cut well below those limits first.

Which roles a failure mentions (the runbook's "Emergency Contacts" table):

============================================  ======================================
the signal                                    roles
============================================  ======================================
any failure or rollback                       on_call (first responder)
the release carried migrations, or the        database_admin (database issues)
reason names a migration or the database
the deploy itself failed ("deploy failed:")   devops (infrastructure)
the way back failed (rollback status failed)  tech_lead (escalation) and devops
============================================  ======================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wave_sdk.errors import clip
from wave_sdk.secrets import redact_data

if TYPE_CHECKING:
    from wave_sdk.contacts import Role
    from wave_sdk.signals import Signal
    from wave_sdk_slack.config import Notice, SlackSettings

REASON_CHARS = 500
"""A reason is cut here: the section stays far below Slack's 3,000 characters."""


def notices_of(signal: Signal) -> set[Notice]:
    """What ``signal`` announces: its type, and ``failed`` for a run that did not succeed.

    A deploy that failed and was rolled back is both: its ``rollback-complete`` is about
    the release it rolled back from (``release == rolled_back_from_release``), where a
    ``wave rollback``'s is about the release it returned to.
    """
    if signal.signal_type == "deployment-starting":
        return {"deployment-starting"}
    notices: set[Notice] = {signal.signal_type}
    if signal.status not in ("success", "degraded"):
        notices = {"failed"}
    elif (
        signal.signal_type == "rollback-complete"
        and signal.release is not None
        and (signal.release == signal.rolled_back_from_release)
    ):
        notices.add("failed")
    return notices


def title_of(signal: Signal) -> tuple[str, str]:
    """(emoji, title) of the message, the runbook's "✅ Deployment Complete" among them."""
    reason = signal.reason or ""
    if signal.signal_type == "deployment-starting":
        return "🚀", "Deployment Starting"
    if signal.signal_type == "rollback-complete":
        if signal.status == "success":
            return "↩️", "Rollback Complete"
        return "🚨", "Rollback Failed"
    if signal.status == "success":
        return "✅", "Deployment Complete"
    if signal.status == "degraded":
        return "⚠️", "Deployment Complete (degraded)"
    if signal.status == "interrupted" or "interrupted" in reason or "stopped:" in reason:
        return "❌", "Deployment Interrupted"
    return "❌", "Deployment Failed"


def roles_for(signal: Signal) -> list[Role]:
    """The emergency contacts' roles for this signal (see the module's table); [] if none."""
    if not notices_of(signal) & {"failed", "rollback-complete"}:
        return []
    reason = (signal.reason or "").lower()
    roles: list[Role] = ["on_call"]
    if signal.signal_type == "rollback-complete" and signal.status != "success":
        roles += ["tech_lead", "devops"]
    elif reason.startswith("deploy failed"):
        roles.append("devops")
    if signal.changes.has_migrations or "migration" in reason or "database" in reason:
        roles.append("database_admin")
    return roles


def escape(text: str) -> str:
    """``text`` safe in mrkdwn: Slack reads ``&``, ``<`` and ``>`` as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _commit(commit: str | None) -> str:
    if not commit:
        return "—"
    return commit[:7] if len(commit) == 40 else commit  # `git rev-parse --short`, as the runbook


def lines_of(signal: Signal) -> list[str]:
    """The "• " lines of the first section: the runbook's three, then the signal's facts."""
    lines = [
        f"Environment: {escape(signal.environment)}",
        f"Commit: {escape(_commit(signal.commit))}",
        f"Time: {signal.timestamp.strftime('%Y-%m-%d %H:%M:%S UTC')}",
        f"Deployed by: {escape(signal.deployed_by or signal.deployer)}",
    ]
    if signal.release:
        lines.append(f"Release: {escape(signal.release)}")
    if signal.changes.stories:
        lines.append(f"Stories: {escape(', '.join(signal.changes.stories))}")
    if signal.changes.has_migrations:
        lines.append("Migrations: yes")
    v = signal.verification
    if v is not None:
        timing = f", response time {v.response_time_ms:.0f} ms" if v.response_time_ms else ""
        lines.append(f"Verification: smoke tests {v.smoke_tests}, health {v.health_check}{timing}")
    if signal.signal_type == "rollback-complete":
        was = signal.rolled_back_from_release or _commit(signal.rolled_back_from)
        now = signal.rolled_back_to_release or _commit(signal.rolled_back_to)
        lines.append(f"Rolled back: {escape(str(was))} → {escape(str(now))}")
    if signal.reason:
        lines.append(f"Reason: {escape(clip(signal.reason, REASON_CHARS))}")
    if signal.url:
        lines.append(f"URL: <{signal.url}>")
    return lines


def build(signal: Signal, settings: SlackSettings) -> dict[str, Any]:
    """The webhook payload for ``signal``: ``text`` and ``blocks``, every secret masked."""
    from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

    emoji, title = title_of(signal)
    sections = [f"*{title}*\n" + "\n".join(f"• {line}" for line in lines_of(signal))]
    contacts = settings.contacts_for(roles_for(signal), signal.contacts_by_role)
    if contacts:
        sections.append(
            "*Emergency contacts*\n" + "\n".join(f"• {role}: {who}" for role, who in contacts)
        )
    blocks = [SectionBlock(text=MarkdownTextObject(text=text)) for text in sections]
    footer = f"{escape(signal.project or 'wave')} · deploy {escape(signal.deploy_id or '—')}"
    payload = {
        "text": f"{emoji} {title}: {signal.environment}",
        "blocks": [
            *(block.to_dict() for block in blocks),
            ContextBlock(elements=[MarkdownTextObject(text=footer)]).to_dict(),
        ],
    }
    masked = redact_data(payload)  # a reason or a URL may carry a secret: mask in the data
    assert isinstance(masked, dict)
    return masked
