"""The fake's routes: each Netlify operation it serves, as a function of the store.

Each route names the operation's path template as the published spec writes it
(``Route.template``), so a test can check every answer against the spec's schema for that
operation and status. The routes are those a real ``netlify deploy --no-build --dir X``
calls (notes §2.6, two of them outside ``/api/v1``) and those an adapter needs to deploy,
draft, publish, restore, roll back, lock and list.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wave_sdk.fakehttp import Routes
from wave_sdk_netlify.fake.state import JSON, ApiError, Deploy, Site, Store, iso

Body = JSON | list[Any] | None


@dataclass(frozen=True)
class Call:
    """One API request as a route sees it (``path`` already percent-decoded)."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes

    def json(self) -> JSON:
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "Request body is not JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Request body is not a JSON object")
        return data


Handler = Callable[["Api", Call, dict[str, str]], tuple[int, Body]]
ROUTES: Routes[Handler] = Routes()
route = ROUTES.add


class Api:
    """Renders the store as Netlify's JSON; ``origin_for`` gives a deploy its own URL."""

    def __init__(self, store: Store, origin_for: Callable[[Deploy], str]) -> None:
        self.store = store
        self.origin_for = origin_for

    # -- rendering -----------------------------------------------------------------------

    def deploy_json(self, deploy: Deploy) -> JSON:
        site = self.store.sites[deploy.site_id]
        data: JSON = {
            "id": deploy.id,
            "site_id": site.id,
            "user_id": "wave-test-user",
            "state": deploy.state,
            "name": site.name,
            "url": site.url,
            "ssl_url": site.url,
            "admin_url": f"{site.url}/admin",
            "deploy_url": deploy.url,
            "deploy_ssl_url": deploy.url,
            "draft": deploy.draft,
            "required": list(deploy.required),
            "required_functions": list(deploy.required_functions),
            "locked": deploy.locked,
            "context": "production" if not deploy.draft else "deploy-preview",
            "skipped": False,
            "created_at": iso(deploy.created),
            "updated_at": iso(deploy.updated),
        }
        optional = {
            "title": deploy.title,
            "branch": deploy.branch,
            "commit_ref": deploy.commit_ref,
            "error_message": deploy.error_message,
            "published_at": iso(deploy.published_at) if deploy.published_at else None,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    def site_json(self, site: Site) -> JSON:
        data: JSON = {
            "id": site.id,
            "name": site.name,
            "state": "current",
            "plan": "nf_team_dev",
            "url": site.url,
            "ssl_url": site.url,
            "admin_url": f"{site.url}/admin",
            "account_id": "wave-test-account",
            "account_name": "wave test",
            "account_slug": site.account_slug,
            "created_at": iso(site.created),
            "updated_at": iso(site.created),
            "ssl": False,
            "build_settings": {"env": {}},
            "processing_settings": {"html": {"pretty_urls": True}},
            "capabilities": {},
        }
        published = self.store.deploys.get(site.published_deploy or "")
        if published is not None:
            data["published_deploy"] = self.deploy_json(published)
            data["deploy_url"] = published.url
        return data

    def deploys_of(self, site: Site) -> list[Deploy]:
        mine = [d for d in self.store.deploys.values() if d.site_id == site.id]
        for deploy in mine:
            self.store.advance(deploy)
        return sorted(mine, key=lambda d: d.created, reverse=True)


# -- sites and accounts (what netlify-cli reads before a deploy) --------------------------


@route("GET", "/sites/{site_id}")
def get_site(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, api.site_json(api.store.site(p["site_id"]))


@route("GET", "/sites")
def list_sites(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, [api.site_json(s) for s in api.store.sites.values()]


@route("GET", "/accounts")
def list_accounts(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    account = {"id": "wave-test-account", "name": "wave test", "slug": "wave-test"}
    return 200, [{**account, "type": "personal", "type_name": "Starter"}]


@route("GET", "/accounts/{account_id}/env")
def list_env(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, []


@route("GET", "/site/{site_id}/integrations/safe", spec=False)
def integrations_safe(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, []


@route("GET", "/team/{account_id}/integrations/installations/meta/{site_id}", spec=False)
def integrations_meta(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, []


# -- deploys -------------------------------------------------------------------------------


@route("GET", "/sites/{site_id}/deploys")
def list_deploys(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploys = api.deploys_of(api.store.site(p["site_id"]))
    q = call.query
    if "state" in q:
        deploys = [d for d in deploys if d.state == q["state"]]
    if q.get("production") == "true":
        deploys = [d for d in deploys if not d.draft]
    if "branch" in q:
        deploys = [d for d in deploys if d.branch == q["branch"]]
    if q.get("latest-published") == "true":
        deploys = [d for d in deploys if d.published_at is not None][:1]
    page, per_page = _int(q.get("page"), 1), _int(q.get("per_page"), 100)
    start = (page - 1) * per_page
    return 200, [api.deploy_json(d) for d in deploys[start : start + per_page]]


@route("POST", "/sites/{site_id}/deploys")
def create_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    site = api.store.site(p["site_id"])
    deploy = api.store.create_deploy(
        site, call.json(), title=call.query.get("title"), url=api.origin_for
    )
    return 200, api.deploy_json(deploy)


@route("GET", "/sites/{site_id}/deploys/{deploy_id}")
def get_site_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, api.deploy_json(api.store.deploy(p["deploy_id"], p["site_id"]))


@route("PUT", "/sites/{site_id}/deploys/{deploy_id}")
def update_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploy = api.store.deploy(p["deploy_id"], p["site_id"])
    if "commit_ref" in call.query:
        deploy.commit_ref = call.query["commit_ref"]
    api.store.update_deploy(deploy, call.json())
    return 200, api.deploy_json(deploy)


@route("GET", "/deploys/{deploy_id}")
def get_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return 200, api.deploy_json(api.store.deploy(p["deploy_id"]))


@route("DELETE", "/sites/{site_id}/deploys/{deploy_id}")
def delete_site_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return _delete(api, api.store.deploy(p["deploy_id"], p["site_id"]))


@route("DELETE", "/deploys/{deploy_id}")
def delete_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    return _delete(api, api.store.deploy(p["deploy_id"]))


def _delete(api: Api, deploy: Deploy) -> tuple[int, Body]:
    if api.store.sites[deploy.site_id].published_deploy == deploy.id:
        raise ApiError(422, f"Deploy {deploy.id} is published: publish another one first")
    del api.store.deploys[deploy.id]
    return 204, None


@route("PUT", "/deploys/{deploy_id}/files/{*path}")
def upload_file(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploy = api.store.deploy(p["deploy_id"])
    sha = api.store.store_file(deploy, p["path"], call.body)
    mime = mimetypes.guess_type(p["path"])[0] or "application/octet-stream"
    path = "/" + p["path"].lstrip("/")
    return 200, {"id": path, "path": path, "sha": sha, "mime_type": mime, "size": len(call.body)}


@route("PUT", "/deploys/{deploy_id}/functions/{*name}")
def upload_function(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploy = api.store.deploy(p["deploy_id"])
    sha = api.store.store_function(deploy, p["name"], call.body)
    return 200, {"id": p["name"], "name": p["name"], "sha": sha}


@route("POST", "/sites/{site_id}/deploys/{deploy_id}/restore")
def restore_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    """Publish a ready deploy again (201). Refused while another published deploy is locked.

    What Netlify does on a locked site is undocumented (notes §6); the fake answers 422,
    which is what a "fails clearly, never hangs" rollback needs to be tested against.
    """
    site = api.store.site(p["site_id"])
    deploy = api.store.deploy(p["deploy_id"], site.id)
    if deploy.state != "ready":
        raise ApiError(
            422, f"Deploy {deploy.id} is {deploy.state}, not ready: it cannot be published"
        )
    current = api.store.deploys.get(site.published_deploy or "")
    if current is not None and current.locked and current.id != deploy.id:
        raise ApiError(
            422, f"Auto publishing is locked to deploy {current.id}: unlock it to publish another"
        )
    api.store.publish(site, deploy)
    return 201, api.deploy_json(deploy)


@route("PUT", "/sites/{site_id}/rollback")
def rollback_site(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    """Publish the deploy published before the current one (204)."""
    site = api.store.site(p["site_id"])
    previous = [d for d in site.history if d != site.published_deploy and d in api.store.deploys]
    if not previous:
        raise ApiError(422, "No previous deploy to roll back to")
    api.store.publish(site, api.store.deploys[previous[-1]])
    return 204, None


@route("POST", "/deploys/{deploy_id}/lock")
def lock_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploy = api.store.deploy(p["deploy_id"])
    deploy.locked, deploy.updated = True, time.time()
    return 200, api.deploy_json(deploy)


@route("POST", "/deploys/{deploy_id}/unlock")
def unlock_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploy = api.store.deploy(p["deploy_id"])
    deploy.locked, deploy.updated = False, time.time()
    return 200, api.deploy_json(deploy)


@route("POST", "/deploys/{deploy_id}/cancel")
def cancel_deploy(api: Api, call: Call, p: dict[str, str]) -> tuple[int, Body]:
    deploy = api.store.deploy(p["deploy_id"])
    if deploy.state == "ready":
        raise ApiError(422, f"Deploy {deploy.id} is ready: there is nothing to cancel")
    deploy.state, deploy.error_message, deploy.updated = "error", "Deploy cancelled", time.time()
    return 201, api.deploy_json(deploy)


def _int(text: str | None, default: int) -> int:
    return int(text) if text is not None and text.isdigit() and int(text) > 0 else default
