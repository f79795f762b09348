"""API errors as the server sends them: a ``metav1.Status`` body with code and reason."""

from __future__ import annotations

from typing import Any

from wave_sdk_kubernetes.fake.objects import Obj

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """What a request failed with; :meth:`status` is the body the client reads."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.retry_after = retry_after

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details = dict(self.details or {})
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        if details:
            body["details"] = details
        return body


def not_found(group_resource: str, name: str, kind: str, group: str) -> ApiError:
    return ApiError(
        404,
        f'{group_resource} "{name}" not found',
        details={"name": name, "group": group, "kind": kind.lower() + "s"},
    )


def conflict(group_resource: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {group_resource} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details={"name": name},
    )


def already_exists(group_resource: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'{group_resource} "{name}" already exists',
        reason="AlreadyExists",
        details={"name": name},
    )


def expired(requested: int, oldest: int) -> ApiError:
    return ApiError(410, f"too old resource version: {requested} ({oldest})")
