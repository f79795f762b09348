"""The Kubernetes adapter's errors, and the one place the client's exceptions become them.

::

    AdapterError (wave_sdk.errors)   exit 6
    ├── ClusterUnreachable           no answer: refused, DNS, TLS, timeout, dropped
    ├── KubeconfigError              no kubeconfig, unknown context, not in a cluster
    ├── Unauthorized                 401: the credentials are not accepted
    ├── Forbidden                    403: RBAC refuses the verb on the resource
    ├── ObjectNotFound               404: no such Deployment (or namespace)
    ├── Conflict                     409 still after retries within the deadline
    ├── InvalidObject                422: the API server rejected the change
    ├── Throttled                    429 still after waiting Retry-After within the deadline
    ├── ServerError                  5xx (503 still after its retries)
    ├── RolloutFailed                the rollout did not complete: progress deadline
    │                                exceeded, wave's deadline, Deployment deleted …
    └── PausedDeployment             (rollout.py) deploy or undo of a paused Deployment

:func:`call` runs one *operation* — a read, or a read and the write computed from it — and
re-runs it whole on 409 (so the write is recomputed on a fresh read), on 429 and 503
(waiting ``Retry-After`` when the server says how long) and on 502/504, until the deadline.
The retry loop is tenacity's: it has the stop/wait/retry policies and their bookkeeping;
what it lacks is a wait that reads ``Retry-After`` off the exception, so :class:`_RetryAfter`
is that wait (capped by the time left), and the stop is "the next wait would cross the
deadline". The client's own ``client_go_retries`` was not used: it retries only GET and
HEAD, and knows no deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from wave_sdk.errors import AdapterError

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")

RETRIED = frozenset({409, 429, 502, 503, 504})
"""Statuses after which the operation is tried again (on a fresh read) within the deadline."""

BACKOFF = (0.1, 2.0)
"""First and longest wait between attempts when the server does not say (exponential)."""


class ClusterUnreachable(AdapterError):
    """The API server does not answer (or the connection dropped)."""


class KubeconfigError(AdapterError):
    """No usable kubeconfig (or context), and wave does not run in a cluster."""


class ApiError(AdapterError):
    """The API server answered with an error status; ``status`` is the HTTP code."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        self.status = status
        super().__init__(message, hint=hint)


class Unauthorized(ApiError):
    """401: the cluster does not accept the credentials."""


class Forbidden(ApiError):
    """403: the credentials are not allowed the verb on the resource."""


class ObjectNotFound(ApiError):
    """404: the Deployment (or its namespace) does not exist."""


class Conflict(ApiError):
    """409 on every attempt within the deadline."""


class InvalidObject(ApiError):
    """422: the change is invalid (an image name, a field)."""


class Throttled(ApiError):
    """429 on every attempt within the deadline."""


class ServerError(ApiError):
    """A 5xx answer."""


class RolloutFailed(AdapterError):
    """The rollout did not complete; ``reason`` says why (``ProgressDeadlineExceeded`` …)."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        self.reason = reason
        super().__init__(message, hint=hint)


# -- translation ------------------------------------------------------------------------


def server_message(body: Any) -> str:
    """The ``message`` of a ``metav1.Status`` body, else the body's first line."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        status = json.loads(text)
    except ValueError:
        return text.strip().splitlines()[0][:300] if text.strip() else ""
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    return text.strip()[:300]


def translate(exc: BaseException, *, action: str, server: str) -> AdapterError:
    """The wave error for an exception the client (or urllib3 under it) raised.

    ``action`` says what was being done ("patch deployment shop/web"), ``server`` where.
    """
    if isinstance(exc, AdapterError):
        return exc
    # Imported here: this module's classes are importable without the client.
    import urllib3.exceptions
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from pydantic import ValidationError

    if isinstance(exc, ApiException):
        return _api_error(
            int(exc.status or 0),
            server_message(exc.body) or str(exc.reason),
            action=action,
            server=server,
        )
    if isinstance(exc, ConfigException):
        return KubeconfigError(
            f"no usable cluster configuration: {exc}",
            hint="set `kubeconfig` (and `context`) in the target, or KUBECONFIG",
        )
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return ClusterUnreachable(
            f"API server {server} did not answer to {action} in time",
            hint="raise `request_timeout`, or check the cluster's health",
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        reason = _reason(exc)
        return ClusterUnreachable(
            f"cannot {action}: API server {server} unreachable ({reason})",
            hint="check that the cluster runs and that the kubeconfig's server address is right",
        )
    if isinstance(exc, ValidationError):
        first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
        return AdapterError(
            f"cannot {action}: API server {server} sent an object the client cannot read "
            f"({exc.title}: {'.'.join(str(p) for p in first.get('loc', ()))} "
            f"{first.get('msg', '')})",
            hint="is the server a Kubernetes API server of a supported version?",
        )
    return AdapterError(f"cannot {action}: {type(exc).__name__}: {exc}")


def _reason(exc: BaseException) -> str:
    seen = exc
    while True:
        inner = getattr(seen, "reason", None)
        if isinstance(inner, BaseException) and inner is not seen:
            seen = inner
            continue
        break
    text = str(seen)
    for needle, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
        ("timed out", "no answer in time"),
        ("Connection aborted", "connection dropped"),
        ("RemoteDisconnected", "connection dropped"),
    ):
        if needle in text:
            return words
    return f"{type(seen).__name__}: {text}"[:200]


def _api_error(status: int, message: str, *, action: str, server: str) -> ApiError:
    said = f": {message}" if message else ""
    if status == 401:
        return Unauthorized(
            f"API server {server} refused the credentials to {action} (401){said}",
            status=status,
            hint="renew the token or certificate in the kubeconfig, or choose another `context`",
        )
    if status == 403:
        return Forbidden(
            f"not allowed to {action} (403){said}",
            status=status,
            hint="grant the kubeconfig's user get/list/watch/patch on deployments and "
            "get/list on replicasets and pods (a Role in the namespace)",
        )
    if status == 404:
        return ObjectNotFound(
            f"cannot {action}: not found (404){said}",
            status=status,
            hint="check `deployment` and `namespace` (kubectl get deployments -n NAMESPACE); "
            "wave changes a Deployment, it does not create one",
        )
    if status == 409:
        return Conflict(
            f"cannot {action}: conflicting writes kept happening until the deadline (409){said}",
            status=status,
            hint="another client writes the Deployment at the same time; try again",
        )
    if status == 422:
        return InvalidObject(
            f"API server rejected the change to {action} (422){said}",
            status=status,
            hint="check the image names (`containers`) and `annotations` of the target",
        )
    if status == 429:
        return Throttled(
            f"API server {server} kept throttling the requests to {action} until the "
            f"deadline (429){said}",
            status=status,
            hint="raise `timeout`, or ask the cluster's owner about its API priority and fairness",
        )
    if status >= 500:
        return ServerError(
            f"API server {server} failed to {action} ({status}){said}",
            status=status,
            hint="the cluster's control plane is unwell: try again, or ask its owner",
        )
    return ApiError(f"cannot {action} ({status}){said}", status=status)


# -- retries ----------------------------------------------------------------------------


def status_of(exc: BaseException | None) -> int | None:
    """The HTTP status of a client exception, or ``None`` for anything else."""
    from kubernetes.client.exceptions import ApiException

    return int(exc.status or 0) if isinstance(exc, ApiException) else None


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds the server asked to wait (``Retry-After``: seconds or an HTTP date)."""
    headers = getattr(exc, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(str(value)).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _RetryAfter:
    """tenacity wait: ``Retry-After`` when the answer has one, else exponential backoff.

    A wait that would end after the deadline is not made: the stop sees it first.
    """

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = retry_after(exc)
        if asked is None:
            first, longest = BACKOFF
            asked = min(longest, first * 2 ** (state.attempt_number - 1))
        return asked


def call(
    operation: Callable[[], T],
    *,
    action: str,
    server: str,
    deadline: float,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Run ``operation``; retry it whole as the module docstring says; map what escapes.

    ``deadline`` is a :func:`time.monotonic` instant: no attempt starts, and no wait ends,
    after it. ``on_retry`` hears one line per retry ("409 …, again in 0.1s").
    """
    from tenacity import Retrying, retry_if_exception

    def retried(exc: BaseException) -> bool:
        return status_of(exc) in RETRIED

    def stop(state: RetryCallState) -> bool:
        return time.monotonic() + state.upcoming_sleep > deadline

    def tell(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            exc = state.outcome.exception()
            on_retry(
                f"{action}: the API server answered {status_of(exc)}; trying again in "
                f"{state.upcoming_sleep:.1f}s"
            )

    retrying = Retrying(
        retry=retry_if_exception(retried),
        wait=_RetryAfter(),
        stop=stop,
        before_sleep=tell,
        reraise=True,
    )
    try:
        return retrying(operation)
    except Exception as exc:
        raise translate(exc, action=action, server=server) from exc
