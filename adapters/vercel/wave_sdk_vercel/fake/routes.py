"""The fake's routes: each Vercel operation it serves, rendering the store as Vercel's JSON.

Each route carries the operation's path template as the published spec writes it, so a
test checks every answer against the spec's schema for that operation and status. The
routes are those a real ``vercel deploy`` calls (notes §3.6) and those an adapter needs to
deploy, promote, roll back, alias, list and read build logs. Rollback is served at both
``/v1`` (the SDK's, absent from the saved spec) and ``/v9`` (the CLI's, undocumented).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wave_sdk.fakehttp import Routes
from wave_sdk_vercel.fake.state import JSON, ApiError, Deployment, Project, Store

Body = JSON | list[Any] | None
OWNER = "team_wavetest"
USER = {"uid": "usr_wavetest", "username": "wave-test"}
EMAIL = "wave-test@example.com"


@dataclass(frozen=True)
class Call:
    """One API request as a route sees it."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def json(self) -> JSON:
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "bad_request", "Invalid JSON body") from None
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "The body must be a JSON object")
        return data


Handler = Callable[["Api", Call, dict[str, str]], tuple[int, Body]]
ROUTES: Routes[Handler] = Routes()
route = ROUTES.add


class Api:
    """The store as Vercel's JSON; ``origin`` gives a new deployment its own host."""

    def __init__(self, store: Store, origin: Callable[[Deployment], str]) -> None:
        self.store = store
        self.origin = origin

    def deployment_json(self, d: Deployment) -> JSON:
        """The full deployment (``createDeployment``/``getDeployment`` 200)."""
        project = self.store.projects[d.project_id]
        ready = d.state == "READY"
        data: JSON = {
            "id": d.id,
            "name": d.name,
            "url": d.url,
            "projectId": d.project_id,
            "ownerId": OWNER,
            "createdAt": _ms(d.created),
            "createdIn": "sfo1",
            "buildingAt": _ms(d.building_at or d.created),
            "bootedAt": _ms(d.created),
            "readyState": d.state,
            "status": d.state,
            "aliasAssigned": ready,
            "alias": self.store.aliases_of(d) if ready else [],
            "meta": dict(d.meta),
            "target": d.target,
            "type": "LAMBDAS",
            "version": 2,
            "public": False,
            "plan": "pro",
            "regions": ["sfo1"],
            "routes": None,
            "env": [],
            "build": {"env": []},
            "creator": {"uid": USER["uid"], "username": USER["username"]},
            "inspectorUrl": f"http://{d.url}/_inspect",
            "isInConcurrentBuildsQueue": False,
            "isInSystemBuildsQueue": False,
            "buildSkipped": True,
            "projectSettings": {},
            "source": d.source,
            "automaticAliases": [],
        }
        if ready:
            data["ready"] = _ms(d.ready_at or d.created)
            data["aliasAssignedAt"] = _ms(d.ready_at or d.created)
        if d.substate is not None:
            data["readySubstate"] = d.substate
        if d.state in ("ERROR", "CANCELED") and d.error is not None:
            data["errorCode"], data["errorMessage"] = d.error
        if d.canceled_at is not None:
            data["canceledAt"] = _ms(d.canceled_at)
        data["project"] = {"id": project.id, "name": project.name, "framework": None}
        return data

    def listed_json(self, d: Deployment) -> JSON:
        """One item of ``getDeployments`` (``vercel ls``)."""
        data: JSON = {
            "uid": d.id,
            "name": d.name,
            "url": d.url,
            "projectId": d.project_id,
            "created": _ms(d.created),
            "createdAt": _ms(d.created),
            "buildingAt": _ms(d.building_at or d.created),
            "state": d.state,
            "readyState": d.state,
            "type": "LAMBDAS",
            "creator": {"uid": USER["uid"], "username": USER["username"]},
            "inspectorUrl": f"http://{d.url}/_inspect",
            "meta": dict(d.meta),
            "target": d.target,
            "aliasAssigned": d.state == "READY",
            "isRollbackCandidate": d.was_production and d.state == "READY",
            "source": d.source,
        }
        if d.state == "READY":
            data["ready"] = _ms(d.ready_at or d.created)
        if d.substate is not None:
            data["readySubstate"] = d.substate
        if d.error is not None and d.state in ("ERROR", "CANCELED"):
            data["errorCode"], data["errorMessage"] = d.error
        return data

    def project_json(self, p: Project) -> JSON:
        data: JSON = {
            "id": p.id,
            "name": p.name,
            "accountId": OWNER,
            "createdAt": _ms(p.created),
            "updatedAt": _ms(p.created),
            "directoryListing": False,
            "nodeVersion": "22.x",
            "framework": None,
            "resourceConfig": {"functionDefaultRegions": ["iad1"]},
            "defaultResourceConfig": {"functionDefaultRegions": ["iad1"]},
            "live": False,
            "targets": {},
        }
        production = self.store.deployments.get(p.production or "")
        if production is not None:
            data["targets"]["production"] = {
                "id": production.id,
                "name": production.name,
                "url": production.url,
                "deploymentHostname": production.url,
                "alias": self.store.aliases_of(production),
                "aliasAssigned": True,
                "createdAt": _ms(production.created),
                "createdIn": "sfo1",
                "creator": {**USER, "email": EMAIL},
                "plan": "pro",
                "private": True,
                "readyState": production.state,
                "type": "LAMBDAS",
                "userId": USER["uid"],
                "target": production.target,
                "meta": dict(production.meta),
            }
        if p.last_request is not None:
            data["lastAliasRequest"] = dict(p.last_request)
        if p.rolled_back and production is not None:
            data["lastRollbackTarget"] = {"fromDeploymentId": production.id}
        return data

    def deployments_of(self, project_id: str | None) -> list[Deployment]:
        found = [
            d
            for d in self.store.deployments.values()
            if project_id is None or d.project_id == project_id
        ]
        for deployment in found:
            self.store.advance(deployment)
        return sorted(found, key=lambda d: d.created, reverse=True)


def _ms(ts: float) -> int:
    return int(ts * 1000)


# -- who and where (what the CLI reads before a deploy) --------------------------------------


@route("GET", "/v2/user")
def get_user(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    user: JSON = {
        "id": USER["uid"],
        "email": EMAIL,
        "name": "wave test",
        "username": USER["username"],
        "avatar": None,
        "defaultTeamId": None,
        "createdAt": 1700000000000,
        "hasTrialAvailable": False,
        "softBlock": None,
        "billing": None,
        "resourceConfig": {},
        "stagingPrefix": "wave-test",
    }
    return 200, {"user": user}


@route("GET", "/v2/teams/{teamId}")
def get_team(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    if p["teamId"] not in (OWNER, "wave-test"):
        raise ApiError(404, "not_found", "Team not found")
    return 200, {"id": OWNER, "slug": "wave-test", "name": "wave test", "limited": False}


@route("GET", "/teams/{teamId}", spec=False)
def get_team_v1(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return get_team(api, call, p)


@route("GET", "/v9/projects/{idOrName}")
def get_project(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, api.project_json(api.store.project(p["idOrName"]))


# -- files and deployments ----------------------------------------------------------------


@route("POST", "/v2/files")
def upload_file(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    """Store a file by its SHA-1 (``x-vercel-digest``, or the CLI's ``x-now-digest``)."""
    digest = call.headers.get("x-vercel-digest") or call.headers.get("x-now-digest") or ""
    size = call.headers.get("x-now-size") or call.headers.get("content-length") or ""
    if not re.fullmatch(r"[0-9a-f]{40}", digest):
        raise ApiError(400, "invalid_digest", "Digest is not valid")
    if not size.isdigit() or int(size) != len(call.body):
        raise ApiError(400, "invalid_size", "File size is not valid")
    if hashlib.sha1(call.body).hexdigest() != digest:
        raise ApiError(400, "invalid_digest", "Digest is not valid")
    api.store.blobs[digest] = call.body
    return 200, {}


@route("POST", "/v13/deployments")
def create_deployment(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deployment = api.store.create(call.json(), call.query, origin=api.origin)
    return 200, api.deployment_json(deployment)


@route("GET", "/v13/deployments/{idOrUrl}")
def get_deployment(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, api.deployment_json(api.store.deployment(p["idOrUrl"]))


@route("PATCH", "/v12/deployments/{id}/cancel")
def cancel_deployment(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deployment = api.store.deployment(p["id"])
    api.store.cancel(deployment)
    return 200, api.deployment_json(deployment)


@route("GET", "/v3/deployments/{idOrUrl}/events")
def deployment_events(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    """The build log: one ``stdout`` event per line (``stderr`` for a failed build's last)."""
    deployment = api.store.deployment(p["idOrUrl"])
    events = []
    for n, line in enumerate(deployment.logs):
        last_failed = deployment.state == "ERROR" and n == len(deployment.logs) - 1
        events.append(
            {
                "type": "stderr" if last_failed else "stdout",
                "created": _ms(deployment.created) + n,
                "payload": {
                    "deploymentId": deployment.id,
                    "id": f"{deployment.id}-{n}",
                    "date": _ms(deployment.created) + n,
                    "serial": str(n),
                    "text": line,
                },
            }
        )
    return 200, events


@route("GET", "/v3/now/deployments/{idOrUrl}/events", spec=False)
def follow_events(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    """The CLI's build-log stream while it waits: an empty one (the build runs no commands)."""
    api.store.deployment(p["idOrUrl"])
    return 200, None


@route("GET", "/v6/deployments")
def list_deployments(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    q = call.query
    project_id = q.get("projectId") or q.get("app")
    if project_id is not None:
        project_id = api.store.project(project_id).id
    found = api.deployments_of(project_id)
    if "target" in q:
        found = [d for d in found if (d.target or "preview") == q["target"]]
    if "state" in q:
        states = set(q["state"].split(","))
        found = [d for d in found if d.state in states]
    if q.get("rollbackCandidate") == "true":
        found = [d for d in found if d.was_production and d.state == "READY"]
    if "until" in q and q["until"].isdigit():
        found = [d for d in found if _ms(d.created) < int(q["until"])]
    limit = int(q["limit"]) if q.get("limit", "").isdigit() else 20
    page = found[:limit]
    more = len(found) > limit
    pagination = {
        "count": len(page),
        "next": _ms(page[-1].created) if more and page else None,
        "prev": _ms(page[0].created) if page else None,
    }
    return 200, {"deployments": [api.listed_json(d) for d in page], "pagination": pagination}


# -- production: promote, rollback, aliases ------------------------------------------------


def _of_project(api: Api, p: dict[str, str]) -> tuple[Project, Deployment]:
    project = api.store.project(p["projectId"])
    deployment = api.store.deployment(p["deploymentId"])
    if deployment.project_id != project.id:
        raise ApiError(404, "not_found", f"Deployment {deployment.id} is not of {project.name}")
    return project, deployment


@route("POST", "/v10/projects/{projectId}/promote/{deploymentId}")
def promote(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    """Point the production domain at a READY production deployment: 201, no body.

    A preview is refused (400): the vercel CLI never sends one here but creates a
    production deployment from it instead ("cannot be directly promoted", promote.ts);
    what the API answers to one is undocumented, a refusal is what that implies.
    """
    project, deployment = _of_project(api, p)
    if deployment.target != "production":
        raise ApiError(
            400,
            "not_production",
            f"Deployment {deployment.id} is not a production deployment and cannot be "
            "directly promoted: redeploy it with target production",
        )
    api.store.point(project, deployment, "promote")
    return 201, None


def _rollback(api: Api, p: dict[str, str]) -> None:
    """Roll back to a deployment that was production; refused (422) for any other.

    Vercel's rule (a rollback candidate is a deployment that was in production) as
    ``isRollbackCandidate`` shows it; the refusal's status is the SDK's 422.
    """
    project, deployment = _of_project(api, p)
    if not deployment.was_production:
        raise ApiError(
            422,
            "not_rollback_candidate",
            f"Deployment {deployment.id} was never in production: promote it instead",
        )
    api.store.point(project, deployment, "rollback")


@route("POST", "/v1/projects/{projectId}/rollback/{deploymentId}", spec=False)
def rollback_v1(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    _rollback(api, p)
    return 201, None


@route("POST", "/v9/projects/{projectId}/rollback/{deploymentId}", spec=False)
def rollback_v9(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    _rollback(api, p)
    return 200, {}


@route("POST", "/v2/deployments/{id}/aliases")
def assign_alias(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    name = call.json().get("alias")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "bad_request", "Invalid request: missing required property `alias`")
    deployment = api.store.deployment(p["id"])
    previous = api.store.aliases.get(name)
    alias = api.store.alias(deployment, name)
    answer: JSON = {"uid": alias.uid, "alias": alias.alias, "created": _iso(alias.created)}
    if previous is not None and previous.deployment != deployment.id:
        answer["oldDeploymentId"] = previous.deployment
    return 200, answer


@route("GET", "/v2/deployments/{id}/aliases")
def list_aliases(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deployment = api.store.deployment(p["id"])
    aliases = [
        {"uid": a.uid, "alias": a.alias, "created": _iso(a.created)}
        for a in api.store.aliases.values()
        if a.deployment == deployment.id
    ]
    return 200, {"aliases": aliases}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
