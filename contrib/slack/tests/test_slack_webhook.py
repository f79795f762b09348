"""The webhook client against the recording server: what is retried, and the run's budget.

Real requests over loopback (slack_sdk's WebhookClient, urllib underneath); each test
checks what the server received and when, not what the client reports about itself.
"""

from __future__ import annotations

import time
import uuid

from slack_server import RecordingWebhook
from wave_sdk_slack.webhook import Answer, post

MESSAGE = {"text": "✅ Deployment Complete: production"}


def run_id() -> str:
    return uuid.uuid4().hex


def send(
    webhook: RecordingWebhook, run: str, *, budget: float = 5.0, timeout: float = 2.0
) -> Answer:
    return post(webhook.url, MESSAGE, run=run, budget=budget, timeout=timeout, attempts=3)


def test_delivered_at_once(webhook: RecordingWebhook) -> None:
    answer = send(webhook, run_id())
    assert (answer.ok, answer.status, answer.body, answer.attempts) == (True, 200, "ok", 1)
    assert webhook.payloads == [MESSAGE]


def test_429_waits_what_retry_after_asks_then_delivers(webhook: RecordingWebhook) -> None:
    webhook.mode, webhook.retry_after = "429", "1"
    answer = send(webhook, run_id())
    assert answer.ok and answer.attempts == 2
    (first, _), (second, _) = webhook.requests
    assert second - first >= 1.0  # the server asked for a second, and got it
    assert webhook.payloads == [MESSAGE]


def test_429_asking_for_more_than_the_budget_gives_up_now(webhook: RecordingWebhook) -> None:
    webhook.mode, webhook.retry_after = "429", "60"
    started = time.monotonic()
    answer = send(webhook, run_id())
    assert time.monotonic() - started < 2.0
    assert not answer.ok and answer.status == 429 and len(webhook.requests) == 1
    assert answer.problem() == "HTTP 429: rate_limited"


def test_a_4xx_other_than_429_is_final(webhook: RecordingWebhook) -> None:
    webhook.mode = "400"
    answer = send(webhook, run_id())
    assert not answer.ok and answer.status == 400 and answer.attempts == 1
    assert answer.problem() == "HTTP 400: invalid_payload"
    assert len(webhook.requests) == 1


def test_5xx_is_retried_up_to_the_attempts(webhook: RecordingWebhook) -> None:
    webhook.mode = "500"
    answer = send(webhook, run_id())
    assert not answer.ok and answer.attempts == 3 and len(webhook.requests) == 3
    assert answer.problem() == "HTTP 500: internal_error"


def test_the_budget_is_shared_by_every_message_of_a_run(webhook: RecordingWebhook) -> None:
    webhook.mode = "hang"
    run = run_id()
    started = time.monotonic()
    first = send(webhook, run, budget=2.0, timeout=0.8)
    second = send(webhook, run, budget=2.0, timeout=0.8)  # gets what the first left, if any
    third = send(webhook, run, budget=2.0, timeout=0.8)
    spent = time.monotonic() - started
    assert not first.ok and first.error.startswith("no answer:")
    assert not second.ok and not third.ok
    assert third.attempts == 0 and "budget is spent" in third.error
    assert spent <= 2.0 + 1.0, spent  # the budget, plus scheduling noise
    other = send(webhook, run_id(), budget=2.0, timeout=0.3)  # another run has its own
    assert other.attempts >= 1


def test_a_refused_connection_is_reported_without_the_url(webhook: RecordingWebhook) -> None:
    webhook.refuse()
    answer = send(webhook, run_id(), budget=1.0)
    assert not answer.ok and answer.status is None
    assert answer.error.startswith("no answer: ConnectionRefusedError")
    assert "s3cr3t" not in answer.error
