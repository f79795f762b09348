"""The webhook's last answer per environment, and the "Team notified" check that reads it.

The runbook's communication checklist starts with "□ Team notified of upcoming
deployment". The check passes when the webhook is configured and answered the last
message posted for the environment — the evidence that the next one will reach the team.
Each answer is kept in ``.wave/plugins/slack/answers/<environment>.json`` (one small JSON
file per environment, replaced atomically): an answer is a fact about this machine's
path to Slack, not team state, so it lives with the plugin's machine-local files rather
than in the state store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.fileio import atomic_write
from wave_sdk.models import CheckResult, utcnow
from wave_sdk.secrets import dumps

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.signals import Signal
    from wave_sdk_slack.config import SlackSettings
    from wave_sdk_slack.webhook import Answer

CHECK = "team-notified"


def answer_path(config: WaveConfig, environment: str) -> Path:
    return config.plugin_dir("slack") / "answers" / f"{environment}.json"


def record(config: WaveConfig, signal: Signal, answer: Answer) -> None:
    """Keep ``answer`` as the environment's last one (secrets masked in the data)."""
    path = answer_path(config, signal.environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "ok": answer.ok,
        "status": answer.status,
        "body": answer.body,
        "error": answer.error,
        "attempts": answer.attempts,
        "seconds": answer.seconds,
        "at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signal_type": signal.signal_type,
        "deploy_id": signal.deploy_id,
    }
    atomic_write(path, dumps(data, indent=2) + "\n")


def last_answer(config: WaveConfig, environment: str) -> dict[str, Any] | None:
    """The environment's last answer, or ``None`` before the first message (or if torn)."""
    try:
        data = json.loads(answer_path(config, environment).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def team_notified(config: WaveConfig, environment: str, settings: SlackSettings) -> CheckResult:
    """The check: the webhook is configured and answered ``environment``'s last message."""

    def result(ok: bool, detail: str, *, pending: bool = False) -> CheckResult:
        return CheckResult(name=CHECK, ok=ok, detail=detail, pending=pending, group="communication")

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
    if settings.check == "require":
        return result(False, detail + "; fix the webhook, or set [plugins.slack] check = 'warn'")
    return result(True, "warning: " + detail)
