"""The few Vercel API calls the adapter makes, over one ``httpx.Client`` per operation.

Each call goes through :func:`wave_sdk.digests.calls.call` (429 and 503 wait what
``Retry-After`` asks, other 5xx and dropped connections back off, a POST is never sent
twice after a lost answer), within the operation's deadline. Every request carries the
team scope (``teamId`` for an id, ``slug`` for a slug), as the vercel CLI sends it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx

from wave_sdk import tls
from wave_sdk.digests.calls import call
from wave_sdk.digests.transfer import RetryPolicy
from wave_sdk_vercel.errors import error_code, refused, vercel_errors

JSON = dict[str, Any]


class MissingFiles(Exception):
    """The create was refused with ``missing_files``: these SHA-1 digests must be uploaded."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"{len(missing)} files missing")


class VercelApi:
    """``project``'s deployments through the API at ``api_url``; a context manager."""

    def __init__(
        self,
        api_url: str,
        token: str,
        project: str,
        *,
        team: str | None,
        timeout: float,
        deadline_s: float,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.api_url = api_url
        self.project = project
        self.scope: dict[str, str] = {}
        if team:
            self.scope = {"teamId": team} if team.startswith("team_") else {"slug": team}
        self.policy = RetryPolicy(deadline_s=deadline_s, attempts=8, max_backoff_s=10.0)
        self.on_retry = on_retry
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "User-Agent": "wave-sdk-vercel"},
            timeout=timeout,
            verify=tls.context(),  # one CA bundle load per process, not per operation
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )

    def __enter__(self) -> VercelApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    @property
    def upload_url(self) -> str:
        """Where files go (``POST``, one per digest), the team scope in its query."""
        query = urllib.parse.urlencode(self.scope)
        return f"{self.api_url}/v2/files" + (f"?{query}" if query else "")

    # -- the calls -----------------------------------------------------------------------

    def get_project(self) -> JSON:
        path = f"/v9/projects/{_q(self.project)}"
        return _object(self._request("GET", path, action="read the project"))

    def create_deployment(self, body: JSON, *, prebuilt: bool) -> JSON:
        """The new deployment, or :class:`MissingFiles` naming the digests to upload."""
        params = {"skipAutoDetectionConfirmation": "1", **({"prebuilt": "1"} if prebuilt else {})}
        response = self._request(
            "POST",
            "/v13/deployments",
            action="create a deployment",
            params=params,
            json=body,
            allow=(400,),
        )
        if response.status_code == 400:
            if error_code(response) == "missing_files":
                missing = (response.json().get("error") or {}).get("missing") or []
                raise MissingFiles([str(sha) for sha in missing])
            raise refused(response, action="create a deployment", project=self.project)
        return _object(response)

    def get_deployment(self, deployment_id: str) -> JSON:
        path = f"/v13/deployments/{_q(deployment_id)}"
        return _object(self._request("GET", path, action=f"read deployment {deployment_id}"))

    def list_deployments(self, project_id: str, limit: int, **filters: str) -> list[JSON]:
        params = {"projectId": project_id, "limit": str(limit), **filters}
        data = self._request(
            "GET", "/v6/deployments", action="list the project's deployments", params=params
        ).json()
        found = data.get("deployments") if isinstance(data, dict) else None
        return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []

    def build_log(self, deployment_id: str) -> list[str]:
        """The build log's lines (``[]`` when Vercel has none or will not say)."""
        path = f"/v3/deployments/{_q(deployment_id)}/events"
        try:
            data = self._request(
                "GET",
                path,
                action=f"read the build log of {deployment_id}",
                params={"builds": "1"},
            ).json()
        except Exception:  # the log only adds detail to an error already being raised
            return []
        lines = []
        for event in data if isinstance(data, list) else []:
            payload = event.get("payload") if isinstance(event, dict) else None
            text = (payload or {}).get("text") if isinstance(payload, dict) else None
            if isinstance(text, str) and text.strip():
                lines.append(text.rstrip())
        return lines

    def promote(self, project_id: str, deployment_id: str) -> None:
        path = f"/v10/projects/{_q(project_id)}/promote/{_q(deployment_id)}"
        self._request("POST", path, action=f"promote {deployment_id}", json={})

    def rollback(self, project_id: str, deployment_id: str) -> None:
        path = f"/v1/projects/{_q(project_id)}/rollback/{_q(deployment_id)}"
        self._request("POST", path, action=f"roll back to {deployment_id}")

    def assign_alias(self, deployment_id: str, alias: str) -> None:
        path = f"/v2/deployments/{_q(deployment_id)}/aliases"
        self._request(
            "POST", path, action=f"point {alias} at {deployment_id}", json={"alias": alias}
        )

    def cancel(self, deployment_id: str) -> None:
        path = f"/v12/deployments/{_q(deployment_id)}/cancel"
        self._request("PATCH", path, action=f"cancel {deployment_id}")

    # -- plumbing ------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: dict[str, str] | None = None,
        json: JSON | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        with vercel_errors(action, api_url=self.api_url):
            response = call(
                self.client,
                method,
                self.api_url + path,
                policy=self.policy,
                label=f"{method} {path}",
                on_retry=self.on_retry,
                params={**(params or {}), **self.scope},
                json=json,
            )
        if response.status_code >= 400 and response.status_code not in allow:
            raise refused(response, action=action, project=self.project)
        return response


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _object(response: httpx.Response) -> JSON:
    """The answer's JSON object (``{}`` when it is something else or empty)."""
    if not response.content:
        return {}
    data = response.json()
    return data if isinstance(data, dict) else {}
