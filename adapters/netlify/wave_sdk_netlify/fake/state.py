"""What the fake Netlify holds: sites, deploys, and file contents stored by digest.

Pure state, no HTTP: the routes (:mod:`.api`) call these methods under one lock. Time-driven
steps of a deploy (the async diff, processing after the last upload) are evaluated lazily
when a deploy is read (:meth:`Deploy.advance`), so no timer thread exists and a test that
waits on ``state == "ready"`` sees exactly the sequence a client polling Netlify sees::

    (create, no files)  prepared
    (files, async)      preparing ──diff_delay──▶ prepared
    (files, sync)       prepared
    first upload        uploading
    last upload         uploaded ──process_delay──▶ ready   (published unless draft/locked)
    cancel              error ("Deploy cancelled")

Nothing required (every digest already stored) goes straight to ``uploaded``. Where
Netlify's behaviour is undocumented (notes §2.3, §6) the choice made here is named in
the method's docstring.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """An answer other than success: ``status`` and Netlify's ``{"code", "message"}``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def iso(ts: float) -> str:
    """Netlify's timestamp form (``2026-12-03T19:27:48.123Z``)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def norm_path(path: str) -> str:
    """A manifest or upload path in one form: no leading slash (both are accepted)."""
    return path.lstrip("/")


@dataclass
class Deploy:
    id: str
    site_id: str
    created: float
    title: str | None = None
    draft: bool = False
    branch: str | None = None
    commit_ref: str | None = None
    state: str = "prepared"
    files: dict[str, str] = field(default_factory=dict)
    """path (no leading slash) → SHA-1, once the manifest is known."""
    functions: dict[str, str] = field(default_factory=dict)
    """function name → SHA-256."""
    has_manifest: bool = False
    required: list[str] = field(default_factory=list)
    required_functions: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    """Digests (files and functions) still to arrive."""
    diff_at: float | None = None
    uploaded_at: float | None = None
    ready_at: float | None = None
    published_at: float | None = None
    updated: float = 0.0
    locked: bool = False
    error_message: str | None = None
    url: str = ""
    """Where this deploy alone is served (its own origin: ``deploy_url``)."""


@dataclass
class Site:
    id: str
    name: str
    account_slug: str
    created: float
    url: str = ""
    """Where the published deploy is served (its own origin)."""
    published_deploy: str | None = None
    history: list[str] = field(default_factory=list)
    """Deploy ids in the order they were published (restore and rollback included)."""


class Store:
    """Sites, deploys and blobs; every method is called with the server's lock held."""

    def __init__(self, *, diff_delay: float = 0.3, process_delay: float = 0.2) -> None:
        self.diff_delay = diff_delay
        """Seconds an async create/update stays ``preparing``."""
        self.process_delay = process_delay
        """Seconds between the last upload (``uploaded``) and ``ready``."""
        self.sites: dict[str, Site] = {}
        self.deploys: dict[str, Deploy] = {}
        self.blobs: dict[str, bytes] = {}
        """Content by digest (SHA-1 for files, SHA-256 for functions)."""
        self._ids = itertools.count(1)

    # -- sites ---------------------------------------------------------------------------

    def add_site(self, site_id: str, *, name: str | None = None, url: str = "") -> Site:
        site = Site(
            id=site_id, name=name or site_id, account_slug="wave-test", created=time.time(), url=url
        )
        self.sites[site_id] = site
        return site

    def site(self, site_id: str) -> Site:
        # netlify-cli passes a site's name where it was given one (--site NAME).
        site = self.sites.get(site_id) or next(
            (s for s in self.sites.values() if s.name == site_id), None
        )
        if site is None:
            raise ApiError(404, "Not Found")
        return site

    # -- deploys -------------------------------------------------------------------------

    def create_deploy(
        self, site: Site, body: JSON, *, title: str | None, url: Callable[[Deploy], str]
    ) -> Deploy:
        """A new deploy of ``site``; ``url`` opens its own origin (its ``deploy_url``)."""
        now = time.time()
        deploy_id = f"{next(self._ids):06x}{int(now * 1000):x}".rjust(24, "0")
        deploy = Deploy(id=deploy_id, site_id=site.id, created=now, updated=now, title=title)
        deploy.url = url(deploy)
        deploy.draft = body.get("draft") is True
        self.deploys[deploy.id] = deploy
        self.update_deploy(deploy, body)
        return deploy

    def deploy(self, deploy_id: str, site_id: str | None = None) -> Deploy:
        deploy = self.deploys.get(deploy_id)
        if deploy is None or (site_id is not None and deploy.site_id != self.site(site_id).id):
            raise ApiError(404, "Not Found")
        self.advance(deploy)
        return deploy

    def update_deploy(self, deploy: Deploy, body: JSON) -> None:
        """Take the deploy's settings and, if the body has ``files``, its manifest.

        The manifest may come with the create (the documented one-shot flow) or with a
        later PUT (netlify-cli's two steps); a second manifest replaces the first. Whether
        a deploy is a draft is decided when it is created: netlify-cli creates a draft with
        ``draft: true`` and then sends ``draft: false`` with its files (deploy-site.ts
        defaults it), and its drafts stay drafts on Netlify.
        """
        now = time.time()
        deploy.updated = now
        if isinstance(body.get("branch"), str):
            deploy.branch = body["branch"]
        if not isinstance(body.get("files"), dict):
            return
        if deploy.state not in ("prepared", "preparing", "uploading"):
            raise ApiError(422, f"Deploy {deploy.id} is {deploy.state}: it takes no new files")
        files = {norm_path(str(p)): str(sha) for p, sha in body["files"].items()}
        functions = {str(n): str(sha) for n, sha in (body.get("functions") or {}).items()}
        bad = [p for p, sha in files.items() if len(sha) != 40 or not _hex(sha)]
        if bad:
            raise ApiError(422, f"Invalid SHA1 for file {bad[0]}")
        deploy.files, deploy.functions, deploy.has_manifest = files, functions, True
        deploy.required = sorted({sha for sha in files.values() if sha not in self.blobs})
        deploy.required_functions = sorted(
            {sha for sha in functions.values() if sha not in self.blobs}
        )
        deploy.missing = set(deploy.required) | set(deploy.required_functions)
        if body.get("async") is True:
            deploy.state, deploy.diff_at = "preparing", now + self.diff_delay
        else:
            deploy.state, deploy.diff_at = "prepared", now
            self._maybe_uploaded(deploy, now)

    def advance(self, deploy: Deploy) -> None:
        """Apply the steps whose time has come (the async diff, processing)."""
        now = time.time()
        if deploy.state == "preparing" and deploy.diff_at is not None and now >= deploy.diff_at:
            deploy.state = "prepared"
            self._maybe_uploaded(deploy, now)
        if deploy.state == "uploaded" and deploy.ready_at is not None and now >= deploy.ready_at:
            deploy.state = "ready"
            deploy.updated = now
            self._auto_publish(deploy, now)

    def _maybe_uploaded(self, deploy: Deploy, now: float) -> None:
        if deploy.has_manifest and not deploy.missing:
            deploy.state, deploy.uploaded_at = "uploaded", now
            deploy.ready_at = now + self.process_delay
            self.advance(deploy)

    def _auto_publish(self, deploy: Deploy, now: float) -> None:
        """A production deploy is published when ready — unless the site is locked.

        A locked published deploy stops auto-publishing (notes §2.3); the new deploy is
        ready and served at its own URL, and the site stays on the locked one.
        """
        site = self.sites[deploy.site_id]
        current = self.deploys.get(site.published_deploy or "")
        if deploy.draft or (current is not None and current.locked):
            return
        self.publish(site, deploy, now)

    def publish(self, site: Site, deploy: Deploy, now: float | None = None) -> None:
        deploy.published_at = time.time() if now is None else now
        site.published_deploy = deploy.id
        site.history.append(deploy.id)

    def store_file(self, deploy: Deploy, path: str, data: bytes) -> str:
        """Keep an uploaded file's bytes by digest; they must match the manifest's SHA-1.

        Netlify's answer to a mismatch is undocumented (notes §6); the fake refuses it
        with 422 naming the path, which netlify-cli does not retry.
        """
        return self._store(deploy, norm_path(path), data, deploy.files, "sha1", "file")

    def store_function(self, deploy: Deploy, name: str, data: bytes) -> str:
        return self._store(deploy, name, data, deploy.functions, "sha256", "function")

    def _store(
        self, deploy: Deploy, key: str, data: bytes, wanted: dict[str, str], algo: str, kind: str
    ) -> str:
        self.advance(deploy)
        if deploy.state not in ("prepared", "uploading", "uploaded", "ready"):
            raise ApiError(422, f"Deploy {deploy.id} is {deploy.state}: no upload expected")
        if key not in wanted:
            raise ApiError(404, f"The {kind} {key} is not in deploy {deploy.id}'s manifest")
        digest = hashlib.new(algo, data).hexdigest()
        if digest != wanted[key]:
            raise ApiError(
                422,
                f"The {kind} {key} was different from the one in the manifest "
                f"({algo} {digest}, expected {wanted[key]})",
            )
        self.blobs[digest] = data
        deploy.missing.discard(digest)
        if deploy.state == "prepared":
            deploy.state = "uploading"
        if deploy.state == "uploading":
            self._maybe_uploaded(deploy, time.time())
        return digest

    def content(self, deploy: Deploy, path: str) -> bytes | None:
        """The bytes at ``path`` of a ready deploy, or ``None``."""
        sha = deploy.files.get(norm_path(path))
        return self.blobs.get(sha) if sha is not None else None


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
