"""The webhook's last answer per environment (the "Team notified" check reads it).

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
from wave_sdk.models import utcnow
from wave_sdk.secrets import dumps

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.signals import Signal
    from wave_sdk_slack.webhook import Answer


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
