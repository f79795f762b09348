"""Netlify's failures as wave errors: the one place HTTP answers and httpx errors are mapped.

::

    AdapterError (wave_sdk.errors)   exit 6
    ├── NetlifyUnreachable           no answer from the API: refused, DNS, TLS, timeout
    ├── NetlifyAuthFailed            401/403: the token is wrong or lacks access to the site
    ├── SiteNotFound                 404 on the site: wrong id or name, or another account
    ├── SiteLocked                   auto publishing is locked to a deploy: nothing publishes
    ├── DeployFailed                 the deploy went to state error (its id and the API's
    │                                message), or was not ready in time
    └── NetlifyApiError              any other refusal: status and Netlify's own message

Every message is one line and names what was being done; the token never appears in one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from wave_sdk.errors import AdapterError, clip

if TYPE_CHECKING:
    import httpx


class NetlifyUnreachable(AdapterError):
    """The API did not answer."""


class NetlifyAuthFailed(AdapterError):
    """The API refused the token."""


class SiteNotFound(AdapterError):
    """The configured site is not one the token can see."""


class SiteLocked(AdapterError):
    """Auto publishing is locked: neither a deploy nor a restore can publish."""


class DeployFailed(AdapterError):
    """A deploy ended in ``error`` or did not become ready in time."""

    def __init__(self, message: str, *, deploy_id: str, hint: str | None = None) -> None:
        self.deploy_id = deploy_id
        super().__init__(message, hint=hint)


class NetlifyApiError(AdapterError):
    """Netlify refused a request; ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        self.status = status
        super().__init__(message, hint=hint)


def refused(response: httpx.Response, *, action: str, site: str) -> AdapterError:
    """The error for an answer of 400 or more to ``action``."""
    from wave_sdk.digests.transfer import platform_message

    status, message = response.status_code, platform_message(response)
    said = f"{status} {message}".strip()
    if status in (401, 403):
        return NetlifyAuthFailed(
            f"Netlify refused the token to {action}: {said}",
            hint="set `token` to a personal access token (User settings → Applications) "
            f"of an account that owns site {site}",
        )
    if status == 404 and "/sites/" in response.request.url.path and action.endswith("site"):
        return SiteNotFound(
            f"Netlify site {site!r} not found: {said}",
            hint="set `site` to the site's API ID or name (Site configuration → General)",
        )
    if status == 429:
        return NetlifyApiError(
            f"Netlify rate limit hit to {action}: {said}",
            status=status,
            hint="wait a minute (Netlify allows 3 deploys a minute, 100 a day) and try again",
        )
    if status >= 500:
        return NetlifyApiError(
            f"Netlify failed to {action}: {said}",
            status=status,
            hint="Netlify had trouble; try again, or see https://www.netlifystatus.com",
        )
    return NetlifyApiError(f"Netlify refused to {action}: {said}", status=status)


@contextmanager
def netlify_errors(action: str, *, api_url: str) -> Iterator[None]:
    """Run API calls; a transport failure leaves as :class:`NetlifyUnreachable`."""
    import httpx

    try:
        yield
    except httpx.TimeoutException:
        raise NetlifyUnreachable(
            f"Netlify API at {api_url} did not answer in time to {action}",
            hint="raise `api_timeout`, or check the network",
        ) from None
    except httpx.TransportError as exc:
        raise NetlifyUnreachable(
            f"Netlify API unreachable at {api_url} to {action}: {type(exc).__name__}: "
            f"{clip(str(exc), 120)}",
            hint="check `api_url` and the network",
        ) from None
