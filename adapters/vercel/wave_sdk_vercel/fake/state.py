"""What the fake Vercel holds: projects, deployments, aliases, and file contents by SHA-1.

Pure state, no HTTP: the routes (:mod:`.routes`) call these methods under one lock. A
deployment's life is evaluated lazily, before every API answer and whenever it is served
(:meth:`Store.advance`), so no timer thread exists and a client polling ``readyState``
sees the sequence Vercel shows::

    create ──▶ QUEUED ──queue_delay──▶ BUILDING ──build_delay──▶ READY   (aliasAssigned)
                                                   └──(a failing build)──▶ ERROR
    cancel (not READY yet) ──▶ CANCELED

A production deployment, once READY, takes the project's production domain unless the
project was rolled back (Vercel then stops assigning production domains automatically until
a promote): it is left ``STAGED``. Promote and rollback point the production domain at a
READY deployment with no new build and nothing uploaded. Where Vercel's behaviour is
undocumented (notes §6) the method's docstring names the choice made here.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
PREBUILT = ".vercel/output/"
STATIC = PREBUILT + "static/"


class ApiError(Exception):
    """An answer other than success: ``status``, Vercel's ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        super().__init__(message)

    def body(self) -> JSON:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


@dataclass
class Deployment:
    id: str
    project_id: str
    name: str
    created: float
    url: str = ""
    """Its own host (``127.0.0.1:PORT``), as Vercel's ``url`` (no scheme)."""
    target: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """Served path (no leading slash) → SHA-1."""
    state: str = "QUEUED"
    building_at: float | None = None
    ready_at: float | None = None
    substate: str | None = None
    error: tuple[str, str] | None = None
    """``(errorCode, errorMessage)`` of a failed or cancelled deployment."""
    fails: bool = False
    logs: list[str] = field(default_factory=list)
    canceled_at: float | None = None
    was_production: bool = False
    source: str = "cli"


@dataclass
class Project:
    id: str
    name: str
    created: float
    domain: str = ""
    """The production domain (``127.0.0.1:PORT``): it serves the production deployment."""
    production: str | None = None
    """The deployment id the production domain points at."""
    rolled_back: bool = False
    last_request: JSON | None = None
    """``lastAliasRequest``: the last promote or rollback."""


@dataclass
class Alias:
    uid: str
    alias: str
    deployment: str
    created: float


@dataclass
class BuildFailure:
    """What the next deployments' builds do instead of succeeding."""

    message: str
    logs: list[str]
    times: int = 1


class Store:
    """Projects, deployments, aliases and blobs; every method runs under the server's lock."""

    def __init__(self, *, queue_delay: float = 0.05, build_delay: float = 0.2) -> None:
        self.queue_delay = queue_delay
        self.build_delay = build_delay
        self.projects: dict[str, Project] = {}
        self.deployments: dict[str, Deployment] = {}
        self.aliases: dict[str, Alias] = {}
        self.blobs: dict[str, bytes] = {}
        self.failures: list[BuildFailure] = []
        self._ids = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        salt = hashlib.sha1(str(time.time()).encode()).hexdigest()[:16]
        return f"{prefix}_{next(self._ids):04d}{salt}"

    # -- projects ------------------------------------------------------------------------

    def add_project(self, name: str, *, domain: str) -> Project:
        project = Project(id=self.new_id("prj"), name=name, created=time.time(), domain=domain)
        self.projects[project.id] = project
        return project

    def project(self, id_or_name: str) -> Project:
        found = self.projects.get(id_or_name) or next(
            (p for p in self.projects.values() if p.name == id_or_name), None
        )
        if found is None:
            raise ApiError(404, "not_found", f"Project not found: {id_or_name}")
        return found

    # -- deployments ---------------------------------------------------------------------

    def create(
        self, body: JSON, query: dict[str, str], *, origin: Callable[[Deployment], str]
    ) -> Deployment:
        """A deployment from ``files`` (by SHA or inline), or 400 ``missing_files``.

        Inline files are stored by digest as they arrive; every SHA not stored makes the
        create fail with the list, once each, as the real API does (notes §3.3). With
        ``deploymentId`` it is a redeploy of that deployment's files (what ``vercel
        promote`` creates for a preview): nothing to upload, built again.
        """
        name = body.get("project") or body.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "bad_request", "Invalid request: missing required property `name`")
        project = self.project(name)
        source = body.get("deploymentId")
        if isinstance(source, str) and source:
            files = dict(self.deployment(source).files)
        else:
            files = self._files(body.get("files") or [], prebuilt=query.get("prebuilt") == "1")
        target = body.get("target")
        now = time.time()
        deployment = Deployment(
            id=self.new_id("dpl"),
            project_id=project.id,
            name=project.name,
            created=now,
            target="production" if target == "production" else None,
            meta={str(k): str(v) for k, v in (body.get("meta") or {}).items()},
            files=files,
            building_at=now + self.queue_delay,
            ready_at=now + self.queue_delay + self.build_delay,
            source=str(body.get("source") or "cli"),
        )
        if self.failures:
            failure = self.failures[0]
            deployment.fails, deployment.logs = True, list(failure.logs)
            deployment.error = ("BUILD_FAILED", failure.message)
            failure.times -= 1
            if failure.times <= 0:
                self.failures.pop(0)
        else:
            deployment.logs = ["Build started", f"{len(files)} files", "Build completed"]
        deployment.url = origin(deployment)
        self.deployments[deployment.id] = deployment
        self.advance(deployment)
        return deployment

    def _files(self, items: list[JSON], *, prebuilt: bool) -> dict[str, str]:
        """What a create's ``files`` serve (path → SHA-1); 400 ``missing_files`` if any lack."""
        files: dict[str, str] = {}
        for item in items:
            path = str(item.get("file", "")).lstrip("/")
            if "data" in item:
                raw = item["data"].encode()
                data = base64.b64decode(raw) if item.get("encoding") == "base64" else raw
                sha = hashlib.sha1(data).hexdigest()
                self.blobs[sha] = data
            else:
                sha = str(item.get("sha", ""))
            files[path] = sha
        missing = sorted({sha for sha in files.values() if sha not in self.blobs})
        if missing:
            raise ApiError(400, "missing_files", "Missing files", missing=missing)
        return _served(files, prebuilt=prebuilt)

    def deployment(self, id_or_url: str) -> Deployment:
        found = self.deployments.get(id_or_url) or next(
            (d for d in self.deployments.values() if d.url == id_or_url.split("://")[-1]), None
        )
        if found is None:
            raise ApiError(404, "not_found", "Deployment not found")
        self.advance(found)
        return found

    def advance(self, deployment: Deployment) -> None:
        """Apply the steps whose time has come: QUEUED → BUILDING → READY or ERROR."""
        now = time.time()
        if deployment.state == "QUEUED" and now >= (deployment.building_at or now):
            deployment.state = "BUILDING"
        if deployment.state == "BUILDING" and now >= (deployment.ready_at or now):
            if deployment.fails:
                deployment.state = "ERROR"
                return
            deployment.state = "READY"
            if deployment.target == "production":
                project = self.projects[deployment.project_id]
                if project.rolled_back:
                    deployment.substate = "STAGED"
                else:
                    self.point(project, deployment, None)

    def advance_all(self) -> None:
        """:meth:`advance` every deployment, oldest first (a rollback sees what is live)."""
        for deployment in sorted(self.deployments.values(), key=lambda d: d.created):
            self.advance(deployment)

    def cancel(self, deployment: Deployment) -> None:
        if deployment.state in ("READY", "ERROR", "CANCELED"):
            raise ApiError(400, "bad_request", f"Deployment {deployment.id} is {deployment.state}")
        deployment.state, deployment.canceled_at = "CANCELED", time.time()
        deployment.error = ("CANCELED", "The deployment was canceled")

    def point(self, project: Project, deployment: Deployment, kind: str | None) -> None:
        """Make ``deployment`` the production one (``kind``: ``promote``/``rollback``/none)."""
        if deployment.state != "READY":
            raise ApiError(
                400,
                "deployment_not_ready",
                f"Deployment {deployment.id} is {deployment.state}, not READY",
            )
        previous = project.production
        project.production = deployment.id
        deployment.was_production = True
        deployment.substate = "PROMOTED"
        for other in self.deployments.values():
            if other.project_id == project.id and other.id != deployment.id and other.substate:
                other.substate = "STAGED" if other.target == "production" else None
        if kind is not None:
            project.rolled_back = kind == "rollback"
            project.last_request = {
                "fromDeploymentId": previous or "",
                "toDeploymentId": deployment.id,
                "jobStatus": "succeeded",
                "requestedAt": int(time.time() * 1000),
                "type": kind,
            }

    def alias(self, deployment: Deployment, name: str) -> Alias:
        if deployment.state != "READY":
            raise ApiError(400, "deployment_not_ready", f"Deployment {deployment.id} is not READY")
        current = self.aliases.get(name)
        alias = Alias(
            uid=current.uid if current else self.new_id("als"),
            alias=name,
            deployment=deployment.id,
            created=time.time(),
        )
        self.aliases[name] = alias
        return alias

    def aliases_of(self, deployment: Deployment) -> list[str]:
        names = [a.alias for a in self.aliases.values() if a.deployment == deployment.id]
        project = self.projects[deployment.project_id]
        if project.production == deployment.id:
            names.insert(0, project.domain)
        return names

    def content(self, deployment: Deployment | None, path: str) -> bytes | None:
        """The bytes at ``path`` of a READY deployment, or ``None``."""
        if deployment is None or deployment.state != "READY":
            return None
        sha = deployment.files.get(path.lstrip("/"))
        return self.blobs.get(sha) if sha is not None else None


def _served(files: dict[str, str], *, prebuilt: bool) -> dict[str, str]:
    """What a deployment serves: a prebuilt one its ``.vercel/output/static`` files.

    Vercel serves a Build Output API directory's ``static/`` at the root (its routes and
    functions are beyond this fake); other files are served as they are, which is what a
    project with no framework and no build command gets.
    """
    if not prebuilt and not any(p.startswith(PREBUILT) for p in files):
        return dict(files)
    return {p[len(STATIC) :]: sha for p, sha in files.items() if p.startswith(STATIC)}
