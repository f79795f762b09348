"""The runbook's communication check this plugin can judge, added to every gate.

The runbook's "Communication Checklist" starts with "□ Team notified of upcoming
deployment": ``team-notified`` passes when the webhook is configured and answered the last
message posted for the environment — the evidence that the next one will reach the team.
("On-call engineer identified" is the core's ``on-call`` check, on ``[project.contacts]``.)

``[plugins.slack] check`` decides what a miss does: ``warn`` (the default) passes with a
warning, ``require`` fails the gate, ``off`` adds no check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wave_sdk.models import CheckResult
from wave_sdk_slack.answers import last_answer

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk_slack.config import SlackSettings

TEAM_NOTIFIED = "team-notified"


def _result(name: str, ok: bool, detail: str, *, pending: bool = False) -> CheckResult:
    return CheckResult(name=name, ok=ok, detail=detail, pending=pending, group="communication")


def _miss(name: str, settings: SlackSettings, detail: str, fix: str) -> CheckResult:
    """A check that found a gap: a failure under ``require``, a warning under ``warn``."""
    if settings.check == "require":
        return _result(name, False, f"{detail}; {fix}, or set [plugins.slack] check = 'warn'")
    return _result(name, True, f"warning: {detail}")


def team_notified(config: WaveConfig, environment: str, settings: SlackSettings) -> CheckResult:
    """The check: the webhook is configured and answered ``environment``'s last message."""

    def result(ok: bool, detail: str, *, pending: bool = False) -> CheckResult:
        return _result(TEAM_NOTIFIED, ok, detail, pending=pending)

    if not settings.webhook_url.get_secret_value():
        return result(False, "[plugins.slack] webhook_url is empty: set SLACK_WEBHOOK_URL")
    if not settings.notices(environment):
        return result(True, f"no Slack message is configured for {environment}", pending=True)
    last = last_answer(config, environment)
    if last is None:
        return result(
            True,
            f"webhook configured; no message posted for {environment} yet (the deploy "
            "announces itself with deployment-starting)",
            pending=True,
        )
    when = f"{last.get('signal_type', '?')} at {last.get('at', '?')}"
    if last.get("ok"):
        return result(True, f"webhook configured; it answered the last message ({when})")
    why = last.get("error") or f"HTTP {last.get('status')}: {last.get('body', '')}"
    detail = f"the webhook did not answer the last message ({when}): {why}"
    return _miss(TEAM_NOTIFIED, settings, detail, "fix the webhook")
