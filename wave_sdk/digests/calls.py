"""One platform API call, retried as :func:`~wave_sdk.digests.upload` retries a file; a poll.

Every digest-deploy adapter makes a handful of JSON calls around its uploads (create the
deploy, read it, publish it) and they need the same care: 429 and 503 wait what the
platform asks (``Retry-After``, else ``X-RateLimit-Reset``), other 5xx and dropped
connections back off with jitter, all within one deadline. A POST is retried only on 429
and 503 — answers that say the request was not acted on — and never after a lost answer,
so a create is not sent twice.

Then the adapter waits for the platform to finish (a deploy ready, a promote done):
:func:`poll` reads until a condition holds, backing off from 0.2 s to 2 s, within a bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from wave_sdk.digests.transfer import RETRIED, Retryable, RetryPolicy, asked_wait, retrying

NOT_ACTED_ON = frozenset({429, 503})
"""The statuses after which even a POST may be sent again."""


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    label: str,
    on_retry: Callable[[str], None] | None = None,
    params: dict[str, str] | None = None,
    json: Any = None,
) -> httpx.Response:
    """The answer to ``method url`` once it is final: success, or a status not worth retrying.

    A retried status whose tries or time ran out is returned as it was last answered, for
    the caller to turn into its platform's error.

    Raises:
        httpx.TransportError: no answer, and a retry was not allowed (a POST) or ran out.

    """
    retried = NOT_ACTED_ON if method == "POST" else RETRIED

    def attempt() -> httpx.Response:
        try:
            response = client.request(method, url, params=params, json=json)
        except httpx.TransportError as exc:
            if method == "POST":
                raise
            raise Retryable(f"{type(exc).__name__}: {exc}", None, None) from exc
        if response.status_code in retried:
            status = response.status_code
            raise Retryable(str(status), asked_wait(response), status, response)
        return response

    deadline = time.monotonic() + policy.deadline_s
    try:
        answer: httpx.Response = retrying(
            policy=policy, deadline=deadline, label=label, on_retry=on_retry
        )(attempt)
    except Retryable as exc:
        if exc.response is not None:
            return exc.response
        raise exc.__cause__ or exc from None
    return answer


T = TypeVar("T")


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    late: Callable[[T], Exception],
) -> T:
    """``read()`` until ``done`` holds for what it returned; that value.

    Reads at once, then after 0.2 s, growing by half each time up to 2 s: a deploy that
    is ready in a second is seen within a fifth of one, a slow one costs few requests.
    ``done`` may raise to stop at once (a deploy that failed). When the next pause would
    pass ``timeout`` seconds, raises ``late(last value read)``.
    """
    deadline = time.monotonic() + timeout
    pause = 0.2
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() + pause > deadline:
            raise late(value)
        time.sleep(pause)
        pause = min(pause * 1.5, 2.0)
