"""Vercel's failures as wave errors: the one place HTTP answers and httpx errors are mapped.

::

    AdapterError (wave_sdk.errors)   exit 6
    ├── VercelUnreachable            no answer from the API: refused, DNS, TLS, timeout
    ├── VercelAuthFailed             401/403: the token is wrong or lacks the team's scope
    ├── ProjectNotFound              404 on the project: wrong id or name, or another team
    ├── DeploymentFailed             the deployment ended ERROR or CANCELED (its id, the
    │                                API's message, the build log's last lines), or was not
    │                                ready in time
    └── VercelApiError               any other refusal: status, Vercel's code and message

Every message is one line and names what was being done; the token never appears in one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from wave_sdk.errors import AdapterError, clip

if TYPE_CHECKING:
    import httpx


class VercelUnreachable(AdapterError):
    """The API did not answer."""


class VercelAuthFailed(AdapterError):
    """The API refused the token."""


class ProjectNotFound(AdapterError):
    """The configured project is not one the token can see."""


class DeploymentFailed(AdapterError):
    """A deployment ended ``ERROR`` or ``CANCELED``, or did not become ready in time."""

    def __init__(
        self, message: str, *, deployment_id: str, logs: tuple[str, ...] = (), hint: str | None
    ) -> None:
        self.deployment_id = deployment_id
        self.logs = logs
        """The build log's last lines, when there are any."""
        super().__init__(message, hint=hint)


class VercelApiError(AdapterError):
    """Vercel refused a request; ``status`` is the HTTP status, ``code`` Vercel's."""

    def __init__(self, message: str, *, status: int, code: str, hint: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message, hint=hint)


def error_code(response: httpx.Response) -> str:
    """Vercel's ``error.code`` (``""`` when the body has none)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def refused(response: httpx.Response, *, action: str, project: str) -> AdapterError:
    """The error for an answer of 400 or more to ``action``."""
    from wave_sdk.digests.transfer import platform_message

    status, code = response.status_code, error_code(response)
    said = f"{status} {platform_message(response)}".strip()
    if status in (401, 403):
        return VercelAuthFailed(
            f"Vercel refused the token to {action}: {said}",
            hint="set `token` to an access token (Account Settings → Tokens) scoped to the "
            f"team that owns project {project}, and `team` to that team",
        )
    if status == 404 and "/projects/" in response.request.url.path:
        return ProjectNotFound(
            f"Vercel project {project!r} not found: {said}",
            hint="set `project` to the project's id or name (Project Settings → General), "
            "and `team` to the team that owns it",
        )
    if status == 429:
        return VercelApiError(
            f"Vercel rate limit hit to {action}: {said}",
            status=status,
            code=code,
            hint="wait and try again (Hobby accounts may create 100 deployments a day)",
        )
    if status >= 500:
        return VercelApiError(
            f"Vercel failed to {action}: {said}",
            status=status,
            code=code,
            hint="Vercel had trouble; try again, or see https://www.vercel-status.com",
        )
    return VercelApiError(f"Vercel refused to {action}: {said}", status=status, code=code)


@contextmanager
def vercel_errors(action: str, *, api_url: str) -> Iterator[None]:
    """Run API calls; a transport failure leaves as :class:`VercelUnreachable`."""
    import httpx

    try:
        yield
    except httpx.TimeoutException:
        raise VercelUnreachable(
            f"Vercel API at {api_url} did not answer in time to {action}",
            hint="raise `api_timeout`, or check the network",
        ) from None
    except httpx.TransportError as exc:
        raise VercelUnreachable(
            f"Vercel API unreachable at {api_url} to {action}: {type(exc).__name__}: "
            f"{clip(str(exc), 120)}",
            hint="check `api_url` and the network",
        ) from None
