"""Upload files with bounded concurrency, retrying the way a platform asks to be retried.

A small thread pool (``httpx``'s async pool slows down as concurrency rises, and a static
host's own CLI uploads five at a time), each thread with its kept-alive connection, the
adapter's ``httpx.Client`` giving the headers and the proxies (:mod:`~wave_sdk.digests.wire`
says why the bytes do not go through ``httpx`` itself). Each attempt re-opens the file, so a
retry never sends a half-read stream.

Retries go through ``tenacity``, with a wait of our own because no retry library reads a
response's headers: 429 (and 503) wait what ``Retry-After`` asks (seconds or an HTTP date),
else until ``X-RateLimit-Reset`` (a Unix time: Netlify's rule); 408, 5xx and dropped
connections back off exponentially with full jitter. A 4xx that cannot succeed (400, 401,
403, 404, 409, 422 …) fails at once, naming the file and the platform's message. Every
wait counts against one deadline: a platform asking for more time than is left fails now,
saying so, rather than after the deadline.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import httpx
import tenacity

from wave_sdk.digests.manifest import FileEntry
from wave_sdk.digests.wire import Outgoing, Sender, sender
from wave_sdk.errors import AdapterError, clip

RETRIED = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another attempt; any other 4xx or 5xx is final."""

SMALL = 1 << 20
"""Files up to this size are read whole and sent in one write; larger ones are streamed."""


@dataclass(frozen=True)
class Upload:
    """One file to send: ``method url`` with the file's bytes as the body."""

    entry: FileEntry
    url: str
    method: str = "PUT"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to try.

    Attributes:
        deadline_s: the whole upload, every wait included.
        attempts: per file, the first one included.
        backoff_s: the first backoff's upper bound (full jitter), doubling each time…
        max_backoff_s: …up to this.

    """

    deadline_s: float = 600.0
    attempts: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0


class UploadFailed(AdapterError):
    """A file could not be uploaded; ``path`` names it, ``status`` is the last HTTP status."""

    def __init__(self, message: str, *, path: str, status: int | None, hint: str | None = None):
        self.path = path
        self.status = status
        super().__init__(message, hint=hint)


class Retryable(Exception):
    """An attempt that may succeed later; ``after`` is the wait the server asked for.

    ``response`` is the answer that asked for another attempt (``None``: no answer).
    """

    def __init__(
        self,
        why: str,
        after: float | None,
        status: int | None,
        response: httpx.Response | None = None,
    ) -> None:
        self.why = why
        self.after = after
        self.status = status
        self.response = response
        super().__init__(why)


def retrying(
    *,
    policy: RetryPolicy,
    deadline: float,
    label: str,
    on_retry: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> tenacity.Retrying:
    """A ``tenacity.Retrying`` for attempts that raise :class:`Retryable` to be tried again.

    It waits what the server asked (``Retryable.after``), else backs off with full jitter;
    it gives up after ``policy.attempts``, when the next wait would pass ``deadline``
    (``time.monotonic()``) or once ``stop`` is set, re-raising the last :class:`Retryable`.
    ``on_retry`` hears one line per retry, starting with ``label``.
    """

    def wait_for(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Retryable) and error.after is not None:
            return error.after
        jitter = tenacity.wait_random_exponential(
            multiplier=policy.backoff_s, max=policy.max_backoff_s
        )
        return float(jitter(state))

    def out_of_tries_or_time(state: tenacity.RetryCallState) -> bool:
        waiting = state.upcoming_sleep or 0.0
        late = time.monotonic() + waiting > deadline
        stopped = stop is not None and stop.is_set()
        return state.attempt_number >= policy.attempts or late or stopped

    def announce(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(error, Retryable):
            asked = " (as the server asked)" if error.after is not None else ""
            on_retry(
                f"{label}: {error.why}; attempt {state.attempt_number + 1} of "
                f"{policy.attempts} in {state.upcoming_sleep:.1f}s{asked}"
            )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Retryable),
        wait=wait_for,
        stop=out_of_tries_or_time,
        before_sleep=announce,
        reraise=True,
    )


ProgressCallback = Callable[[int, int, int, int], None]
"""Called after each file: (files done, files in all, bytes done, bytes in all)."""


def upload(
    client: httpx.Client,
    uploads: Sequence[Upload],
    *,
    concurrency: int = 5,
    policy: RetryPolicy | None = None,
    progress: ProgressCallback | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> None:
    """Send every upload, at most ``concurrency`` at once; return when all succeeded.

    ``on_retry`` hears one line per retry (what failed, how long it waits, why) — the CLI
    shows them with ``-v``. The first file that fails for good stops the others: nothing
    new starts, running requests end, and :class:`UploadFailed` names that file.

    Raises:
        UploadFailed: a file was refused, or its retries ran out, or the deadline passed.

    """
    policy = policy or RetryPolicy()
    deadline = time.monotonic() + policy.deadline_s
    stop = threading.Event()
    total_files, total_bytes = len(uploads), sum(u.entry.size for u in uploads)
    done = {"files": 0, "bytes": 0}
    lock = threading.Lock()

    def one(item: Upload) -> None:
        if stop.is_set():
            return
        _send(wire, item, policy, deadline, stop, on_retry)
        with lock:
            done["files"] += 1
            done["bytes"] += item.entry.size
            counts = (done["files"], total_files, done["bytes"], total_bytes)
        if progress is not None:
            progress(*counts)

    wire = sender(client, [u.url for u in uploads])
    try:
        with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="wave-up") as pool:
            futures = [pool.submit(one, item) for item in uploads]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in finished if f.exception() is not None]
            if failed:
                stop.set()
                for future in futures:
                    future.cancel()
                error = failed[0].exception()
                assert error is not None
                raise error
    finally:
        wire.close()


def _send(
    wire: Sender,
    item: Upload,
    policy: RetryPolicy,
    deadline: float,
    stop: threading.Event,
    on_retry: Callable[[str], None] | None,
) -> None:
    path = item.entry.path

    def attempt() -> None:
        if stop.is_set():
            return
        try:
            body = open(item.entry.source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UploadFailed(
                f"cannot read {item.entry.source}: {exc.strerror or exc}", path=path, status=None
            ) from None
        try:
            request = Outgoing(
                method=item.method,
                url=item.url,
                body=body.read() if item.entry.size <= SMALL else body,
                size=item.entry.size,
                headers={"Content-Type": "application/octet-stream", **item.headers},
            )
            answer = wire.send(request, min(max(deadline - time.monotonic(), 0.1), 300.0))
        except httpx.TransportError as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}", None, None) from None
        finally:
            body.close()
        if answer.status < 400:
            return
        response = answer.response()
        message = platform_message(response)
        if response.status_code in RETRIED:
            why = f"{response.status_code} {message}".strip()
            raise Retryable(why, asked_wait(response), response.status_code)
        raise UploadFailed(
            f"upload of {clip(path, 80)!r} refused: {response.status_code} {message}".strip(),
            path=path,
            status=response.status_code,
            hint="the platform will not accept it as sent; fix the file or the request",
        )

    try:
        retrying(
            policy=policy, deadline=deadline, label=clip(path, 80), on_retry=on_retry, stop=stop
        )(attempt)
    except Retryable as exc:
        late = time.monotonic() + (exc.after or 0.0) > deadline
        raise UploadFailed(
            f"upload of {clip(path, 80)!r} failed: {exc.why}"
            + (
                f" (the platform asked to wait {exc.after:.0f}s, past the deadline)"
                if late and exc.after
                else ""
            ),
            path=path,
            status=exc.status,
            hint="try again later, or raise the upload deadline",
        ) from None


def asked_wait(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asked to wait: ``Retry-After``, else ``X-RateLimit-Reset``."""
    now = time.time() if now is None else now
    header = response.headers.get("retry-after")
    if header:
        header = header.strip()
        if header.isdigit():
            return float(header)
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(when.timestamp() - now, 0.0)
    reset = response.headers.get("x-ratelimit-reset")
    if response.status_code == 429 and reset and reset.strip().isdigit():
        return max(float(reset) - now, 1.0)
    return None


def platform_message(response: httpx.Response) -> str:
    """The platform's own words: a JSON ``message``/``error``, else the body's start."""
    try:
        data = response.json()
    except ValueError:
        return clip(response.text.strip().replace("\n", " "), 200)
    if isinstance(data, dict):
        for key in ("message", "error_message", "error"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("code")
            if value:
                return clip(str(value), 200)
    return ""
