"""The few Netlify API calls the adapter makes, over one ``httpx.Client`` per operation.

Each call is retried the way :func:`wave_sdk.digests.upload` retries an upload (429 and
503 wait what ``Retry-After`` or ``X-RateLimit-Reset`` asks; other 5xx and dropped
connections back off with jitter), within the operation's deadline, by
:func:`wave_sdk.digests.calls.call`.
A POST is retried only on 429 and 503 — answers that say the request was not acted on —
so a create is never sent twice after a lost answer.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from wave_sdk import tls
from wave_sdk.digests.calls import call
from wave_sdk.digests.transfer import RetryPolicy
from wave_sdk_netlify.errors import netlify_errors, refused

JSON = dict[str, Any]


class NetlifyApi:
    """``site``'s deploys through the API at ``api_url``; use it as a context manager."""

    def __init__(
        self,
        api_url: str,
        token: str,
        site: str,
        *,
        timeout: float,
        deadline_s: float,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.api_url = api_url
        self.site = site
        self.deadline_s = deadline_s
        self.on_retry = on_retry
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "wave-sdk-netlify"},
            timeout=timeout,
            verify=tls.context(),  # one CA bundle load per process, not per operation
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    def __enter__(self) -> NetlifyApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return self.api_url + path

    def file_url(self, deploy_id: str, path: str) -> str:
        """Where a file of ``deploy_id`` is uploaded; the path percent-encoded, ``/`` kept."""
        return self.url(f"/deploys/{deploy_id}/files/{urllib.parse.quote(path, safe='/')}")

    def function_url(self, deploy_id: str, name: str) -> str:
        """Where a function zip of ``deploy_id`` goes; ``runtime=js``, as netlify-cli sends."""
        return self.url(f"/deploys/{deploy_id}/functions/{urllib.parse.quote(name)}?runtime=js")

    # -- the calls -----------------------------------------------------------------------

    def get_site(self) -> JSON:
        return _object(self._request("GET", f"/sites/{self._site}", action="read the site"))

    def create_deploy(self, body: JSON, *, title: str) -> JSON:
        path, params = f"/sites/{self._site}/deploys", {"title": title}
        return _object(
            self._request("POST", path, action="create a deploy", params=params, json=body)
        )

    def get_deploy(self, deploy_id: str) -> JSON:
        path = f"/sites/{self._site}/deploys/{deploy_id}"
        return _object(self._request("GET", path, action=f"read deploy {deploy_id}"))

    def set_commit(self, deploy_id: str, commit: str) -> JSON:
        path, action = (
            f"/sites/{self._site}/deploys/{deploy_id}",
            f"record the commit of {deploy_id}",
        )
        return _object(
            self._request("PUT", path, action=action, params={"commit_ref": commit}, json={})
        )

    def list_deploys(self, per_page: int) -> list[JSON]:
        path, params = f"/sites/{self._site}/deploys", {"per_page": str(per_page)}
        data = self._request("GET", path, action="list the site's deploys", params=params).json()
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def restore(self, deploy_id: str) -> JSON:
        path = f"/sites/{self._site}/deploys/{deploy_id}/restore"
        return _object(self._request("POST", path, action=f"publish deploy {deploy_id}"))

    def cancel(self, deploy_id: str) -> None:
        self._request("POST", f"/deploys/{deploy_id}/cancel", action=f"cancel {deploy_id}")

    # -- plumbing ------------------------------------------------------------------------

    @property
    def _site(self) -> str:
        return urllib.parse.quote(self.site, safe="")

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: dict[str, str] | None = None,
        json: JSON | None = None,
    ) -> httpx.Response:
        policy = RetryPolicy(deadline_s=self.deadline_s, attempts=8, max_backoff_s=10.0)
        with netlify_errors(action, api_url=self.api_url):
            response = call(
                self.client,
                method,
                self.url(path),
                policy=policy,
                label=f"{method} {path}",
                on_retry=self.on_retry,
                params=params,
                json=json,
            )
            if response.status_code >= 400:
                raise refused(response, action=action, site=self.site)
            return response


def _object(response: httpx.Response) -> JSON:
    """The answer's JSON object (``{}`` when it is something else)."""
    data = response.json()
    return data if isinstance(data, dict) else {}
