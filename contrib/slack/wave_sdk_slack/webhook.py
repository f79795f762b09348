"""Post to the incoming webhook, retried briefly, within one budget for the whole run.

``slack_sdk``'s :class:`~slack_sdk.webhook.WebhookClient` sends the message: it is Slack's
own, well-kept client, and it reads the webhook's answers (``ok``, ``invalid_payload`` …)
the way Slack documents them. Two of its defaults are set aside, for reasons:

* its retry handlers are switched off (``retry_handlers=[]``) and the retries are the
  core's (:func:`wave_sdk.digests.retrying`, tenacity): slack_sdk's rate-limit handler
  sleeps whatever ``Retry-After`` asks, and a notification must never hold a deploy that
  long. Here a 429 waits what it asks only when that fits in the budget, else gives up now;
  timeouts, dropped connections and 5xx back off with jitter; any other 4xx is final;
* its logger is a muted one: at debug level slack_sdk logs the URL it posts to, and the
  webhook URL is the secret.

The **budget** (``[plugins.slack] budget``, 5 s by default) is per run, not per message:
every message of one deploy (starting, complete, rollback …) draws on the time the
earlier ones left, keyed by the signal's ``deploy_id``. Each attempt's timeout is cut to
what is left, so a webhook that hangs costs the run at most the budget, however many
signals follow; once it is spent, later messages are not attempted. (``urllib``'s timeout
bounds each socket operation; a server that trickles one byte at a time could stretch an
attempt — Slack does not.)
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from wave_sdk.errors import clip
from wave_sdk.secrets import redact

_muted = logging.getLogger("wave_sdk_slack.webhook")
_muted.disabled = True  # slack_sdk logs the URL (the secret) at debug level

LEAST = 0.05
"""Seconds below which an attempt is not worth starting (nor a timeout worth setting)."""

_spent: dict[str, float] = {}
_spent_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What the webhook said to one message (``status`` ``None``: it never answered)."""

    ok: bool
    status: int | None
    body: str
    attempts: int
    seconds: float
    error: str = ""

    def problem(self) -> str:
        """Why the message was not delivered, in a few words."""
        if self.error:
            return self.error
        return f"HTTP {self.status}: {clip(self.body, 120) or 'no body'}"


def remaining(run: str, budget: float) -> float:
    """Seconds of ``budget`` that run ``run`` has not spent yet."""
    with _spent_lock:
        return max(budget - _spent.get(run, 0.0), 0.0)


def _spend(run: str, seconds: float) -> None:
    with _spent_lock:
        _spent[run] = _spent.get(run, 0.0) + seconds


def post(
    url: str, payload: dict[str, Any], *, run: str, budget: float, timeout: float, attempts: int
) -> Answer:
    """Post ``payload`` to ``url`` within what run ``run`` has left of ``budget``."""
    from wave_sdk.digests.transfer import RETRIED, Retryable, RetryPolicy, retrying

    started = time.monotonic()
    left = remaining(run, budget)
    if left <= LEAST:
        return Answer(
            ok=False,
            status=None,
            body="",
            attempts=0,
            seconds=0.0,
            error=f"not sent: the run's {budget:g}s notification budget is spent",
        )
    deadline = started + left
    tries = 0

    def attempt() -> Answer:
        nonlocal tries
        tries += 1
        cut = max(min(timeout, deadline - time.monotonic()), LEAST)
        status, body, headers = _send(url, payload, cut)
        if status == 200:
            return Answer(ok=True, status=status, body=body, attempts=tries, seconds=0.0)
        if status is None or status in RETRIED:
            raise Retryable(body, _asked_wait(status, headers), status)
        return Answer(ok=False, status=status, body=body, attempts=tries, seconds=0.0)

    policy = RetryPolicy(deadline_s=left, attempts=attempts, backoff_s=0.25, max_backoff_s=1.0)
    try:
        answer = retrying(policy=policy, deadline=deadline, label="slack")(attempt)
    except Retryable as exc:
        why = exc.why if exc.status is None else f"HTTP {exc.status}: {clip(exc.why, 120)}"
        answer = Answer(
            ok=False, status=exc.status, body="", attempts=tries, seconds=0.0, error=why
        )
    finally:
        elapsed = time.monotonic() - started
        _spend(run, elapsed)
    # What the webhook or urllib said may quote the URL: mask before it is kept or shown.
    return replace(
        answer, body=redact(answer.body), error=redact(answer.error), seconds=round(elapsed, 3)
    )


def _send(
    url: str, payload: dict[str, Any], timeout: float
) -> tuple[int | None, str, dict[str, Any]]:
    """One POST: (status, body, headers); status ``None`` and the cause when no answer came."""
    from slack_sdk.webhook import WebhookClient

    # slack_sdk annotates timeout as int; it is handed to urllib, which takes float seconds.
    client = WebhookClient(url, timeout=timeout, retry_handlers=[], logger=_muted)  # type: ignore[arg-type]
    try:
        response = client.send_dict(payload)
    except (OSError, http.client.HTTPException) as exc:  # refused, timed out, dropped
        reason = getattr(exc, "reason", None) or exc
        return None, f"no answer: {type(reason).__name__}: {reason}".rstrip(": "), {}
    return response.status_code, str(response.body or ""), dict(response.headers or {})


def _asked_wait(status: int | None, headers: dict[str, Any]) -> float | None:
    """``Retry-After`` (or the rate-limit reset) as the core reads it, from slack_sdk's headers."""
    if status is None:
        return None
    import httpx

    from wave_sdk.digests.transfer import asked_wait

    # The core reads these headers from an httpx.Response: give it one. slack_sdk copies
    # Retry-After under two spellings, which httpx would join into "60, 60": keep one.
    flat = {k.lower(): v[0] if isinstance(v, list) else str(v) for k, v in headers.items()}
    return asked_wait(httpx.Response(status, headers=flat))
