"""The ``vercel`` adapter: a static site deployed by digest, promoted and rolled back.

A deploy walks the output directory into a SHA-1 manifest (:func:`wave_sdk.digests.
build_manifest`, which refuses a link out of it before any request) and creates a prebuilt
deployment (Build Output API: the site is its ``static/``) naming every file by digest.
Vercel answers ``missing_files`` with the digests it lacks; those are uploaded once each
(``x-vercel-digest``) and the deployment created again — what ``vercel deploy --prebuilt``
does. Then the adapter waits for ``READY`` with the aliases assigned.

The deployment's ``meta`` carries the wave release id and a digest of its files, which is
how status, releases, promote and rollback find a release among the project's deployments:
a production deploy of a release already deployed with the same files (a staging preview)
promotes that deployment — a preview through a production deployment made from it, as
``vercel promote`` does — instead of uploading again, so the same bytes go live; a
rollback points production at an earlier production deployment, nothing rebuilt.
"""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING, Any

from wave_sdk.adapter import Adapter
from wave_sdk.errors import ReleaseNotFound, RollbackUnavailable
from wave_sdk.models import DeployResult, HealthResult, Release, RollbackResult, StatusReport
from wave_sdk.reporting import Event
from wave_sdk_vercel.config import VercelTarget
from wave_sdk_vercel.errors import DeploymentFailed

if TYPE_CHECKING:
    from wave_sdk.digests import Manifest
    from wave_sdk_vercel.api import VercelApi

JSON = dict[str, Any]
_EMIT_LOCK = threading.Lock()


class VercelAdapter(Adapter):
    name = "vercel"
    config: VercelTarget

    # -- deploy --------------------------------------------------------------------------

    def deploy(self, release: Release) -> DeployResult:
        from wave_sdk.digests import build_manifest, output_directory

        source = output_directory(release, self.config.output_dir, self.context.root)
        manifest = build_manifest(source, algorithm="sha1")  # refusals before any request
        files = _fingerprint(manifest)
        production = self.production
        with self._api(self.config.upload_deadline) as api:
            project = api.get_project()
            before = self._production(api, project)
            reused = None
            if production and self.config.promote:
                reused = self._reusable(api, project, release.id, files)
            if reused is not None:
                deployment, uploaded = self._go_live(api, project, reused), 0
                verb = (
                    "promoted" if deployment["id"] != (before or {}).get("id") else "already live"
                )
            else:
                deployment, uploaded = self._create(api, project, release, manifest, files)
                if production:
                    deployment = self._go_live(api, project, deployment)
                verb = "ready"
            if production:
                self._alias(api, deployment)
        deployment_id = str(deployment["id"])
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=self._url(deployment, production=production),
            previous=_release(before) if production else None,
            message=f"deployment {deployment_id} {verb} ({_files(uploaded)} uploaded)",
            details={
                "deployment_id": deployment_id,
                "uploaded": uploaded,
                "files": len(manifest.files),
                "production": production,
                "promoted": reused is not None,
            },
        )

    def promote(self, release: str) -> DeployResult:
        """Make ``release``'s newest ready deployment the production one (``vercel promote``).

        Nothing is built or uploaded: the production domains move to the very deployment
        that was checked elsewhere (a staging preview), so the bytes served are the same.

        Raises:
            ReleaseNotFound: no ready deployment carries ``release`` (among :attr:`recent`).

        """
        with self._api(self.config.ready_timeout) as api:
            project = api.get_project()
            before = self._production(api, project)
            found = next(
                (d for d in self._deployments(api, project) if _release(d) == release), None
            )
            if found is None:
                raise ReleaseNotFound(
                    f"release {release} has no ready deployment in project "
                    f"{self.config.project} (among the last {self.config.recent})",
                    hint="deploy it first (to staging, say), then promote it",
                )
            deployment = self._go_live(api, project, api.get_deployment(str(found["uid"])))
            self._alias(api, deployment)
        return DeployResult(
            target=self.context.target,
            release=release,
            url=self._url(deployment, production=True),
            previous=_release(before),
            message=f"deployment {deployment['id']} promoted to production",
            details={"deployment_id": deployment["id"], "uploaded": 0, "promoted": True},
        )

    @property
    def production(self) -> bool:
        """Whether this environment's deploys go to production (else: previews)."""
        if self.config.production is not None:
            return self.config.production
        env = self.context.environment
        config = self.context.config
        if config is not None and env in config.environments:
            return config.environments[env].is_production(env)
        return env == "production"

    def _create(
        self, api: VercelApi, project: JSON, release: Release, manifest: Manifest, files: str
    ) -> tuple[JSON, int]:
        """A new deployment of ``manifest`` carrying the release in ``meta``, READY."""
        from wave_sdk_vercel.builds import create, entries

        meta = {
            "waveRelease": release.id,
            "waveEnvironment": self.context.environment,
            "waveFiles": files,
            **({"waveCommit": release.commit} if release.commit else {}),
        }
        body: JSON = {
            "name": str(project.get("name") or self.config.project),
            "project": str(project.get("id") or self.config.project),
            "files": entries(manifest),
            "meta": meta,
            **({"target": "production"} if self.production else {}),
        }
        return create(api, body, manifest, config=self.config, emit=self._emit)

    def _go_live(self, api: VercelApi, project: JSON, deployment: JSON) -> JSON:
        """``deployment`` — or, for a preview, its production copy — as the production one.

        A preview cannot be promoted directly: as ``vercel promote`` does, a production
        deployment is created from it (``deploymentId``), which names the same files, so
        nothing is uploaded and the same bytes are served. A production deployment goes
        live by itself — except after a rollback, when Vercel stops assigning production
        domains until a promote (it is left ``STAGED``).
        """
        from wave_sdk_vercel.builds import wait_ready

        if deployment.get("target") != "production":
            meta = {str(k): str(v) for k, v in (deployment.get("meta") or {}).items()}
            copy = api.create_deployment(
                {
                    "deploymentId": str(deployment["id"]),
                    "name": str(project.get("name") or self.config.project),
                    "project": str(project.get("id") or self.config.project),
                    "target": "production",
                    "meta": {**meta, "wavePromotedFrom": str(deployment["id"])},
                },
                prebuilt=False,
            )
            deployment = wait_ready(api, copy, timeout=self.config.ready_timeout)
        deployment_id = str(deployment["id"])
        if _production_id(api.get_project()) != deployment_id:
            api.promote(str(project["id"]), deployment_id)
            self._wait_production(api, deployment_id)
        return api.get_deployment(deployment_id)

    def _wait_production(self, api: VercelApi, deployment_id: str) -> None:
        """Until the project's production deployment is ``deployment_id`` (promote is async)."""
        from wave_sdk.digests.calls import poll

        def late(project: JSON) -> DeploymentFailed:
            return DeploymentFailed(
                f"Vercel project {self.config.project}: deployment {deployment_id} not in "
                f"production after {self.config.ready_timeout:g}s",
                deployment_id=deployment_id,
                hint="see the project's last promote or rollback in Vercel's dashboard",
            )

        poll(
            api.get_project,
            lambda project: _production_id(project) == deployment_id,
            timeout=self.config.ready_timeout,
            late=late,
        )

    def _alias(self, api: VercelApi, deployment: JSON) -> None:
        """Point ``aliases`` at the production deployment (previews keep their own URLs)."""
        for alias in self.config.aliases:
            api.assign_alias(str(deployment["id"]), alias)

    def _reusable(self, api: VercelApi, project: JSON, release: str, files: str) -> JSON | None:
        """A READY deployment of ``release`` with exactly these files, newest first."""
        for listed in self._deployments(api, project):
            meta = listed.get("meta") or {}
            if meta.get("waveRelease") == release and meta.get("waveFiles") == files:
                return api.get_deployment(str(listed["uid"]))
        return None

    # -- rollback ------------------------------------------------------------------------

    def rollback(self, to: str | None = None) -> RollbackResult:
        if not self.production:
            raise RollbackUnavailable(
                f"target {self.context.target} makes preview deployments in "
                f"{self.context.environment}: none is live, so there is nothing to roll back",
                hint="deploy the release you want again; each preview has its own URL",
            )
        with self._api(self.config.ready_timeout) as api:
            project = api.get_project()
            current = self._production(api, project) or {}
            current_release = _release(current)
            ready = self._deployments(api, project)
            if to is not None:
                target = next((d for d in ready if _release(d) == to), None)
                if target is None:
                    raise ReleaseNotFound(
                        f"release {to} has no ready deployment in project "
                        f"{self.config.project} (among the last {self.config.recent})",
                        hint="`wave status` lists the releases Vercel still has",
                    )
            else:
                created = current.get("createdAt") or 0
                earlier = [
                    d
                    for d in ready
                    if _was_production(d)
                    and d.get("uid") != current.get("id")
                    and _release(d) not in (None, current_release)
                    and (d.get("createdAt") or d.get("created") or 0) < created
                ]
                if not earlier:
                    raise RollbackUnavailable(
                        f"project {self.config.project}: no earlier production deployment of "
                        "wave's to return to",
                        hint="deploy a release first, or name one with --to",
                    )
                target = earlier[0]
            target_id = str(target["uid"])
            if current.get("id") == target_id:
                live = api.get_deployment(target_id)
            elif _was_production(target):
                api.rollback(str(project["id"]), target_id)
                self._wait_production(api, target_id)
                live = api.get_deployment(target_id)
            else:  # a release only ever deployed as a preview: its production copy
                live = self._go_live(api, project, api.get_deployment(target_id))
            self._alias(api, live)
        return RollbackResult(
            target=self.context.target,
            from_release=current_release,
            to_release=_release(target) or target_id,
            message=f"production points at deployment {live['id']} again",
            details={"deployment_id": live["id"]},
        )

    # -- status, releases, health --------------------------------------------------------

    def status(self) -> StatusReport:
        with self._api(self.config.api_timeout) as api:
            project = api.get_project()
            live = self._live(api, project)
            listed = self._deployments(api, project, ready_only=False)
        state = "absent" if live is None else _state(live)
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=_release(live),
            state=state,
            url=self._url(live, production=self.production) if live else None,
            releases=tuple(self._releases(listed)),
            details={
                "project": project.get("name") or self.config.project,
                "deployment_id": live.get("id") if live else None,
                "production": self.production,
                "deployments": [_summary(d) for d in listed[:10]],
            },
        )

    def releases(self) -> list[str]:
        with self._api(self.config.api_timeout) as api:
            project = api.get_project()
            return self._releases(self._deployments(api, project, ready_only=False))

    def health(self) -> list[HealthResult]:
        with self._api(self.config.api_timeout) as api:
            live = self._live(api, api.get_project())
        if live is None:
            return [HealthResult(source=self.name, name="deployment", ok=False, detail="none")]
        state = live.get("readyState")
        detail = f"deployment {live.get('id')} is {state}"
        if live.get("errorMessage"):
            detail += f": {live['errorMessage']}"
        ok = state == "READY"
        return [HealthResult(source=self.name, name="deployment", ok=ok, detail=detail)]

    # -- plumbing ------------------------------------------------------------------------

    def _api(self, deadline_s: float) -> VercelApi:
        from wave_sdk_vercel.api import VercelApi

        return VercelApi(
            self.config.api_url,
            self.config.token.get_secret_value(),
            self.config.project,
            team=self.config.team,
            timeout=self.config.api_timeout,
            deadline_s=deadline_s,
            on_retry=lambda line: self._emit("detail", line),
        )

    def _production(self, api: VercelApi, project: JSON) -> JSON | None:
        """The project's production deployment, read in full (``None``: there is none)."""
        deployment_id = _production_id(project)
        return api.get_deployment(deployment_id) if deployment_id else None

    def _live(self, api: VercelApi, project: JSON) -> JSON | None:
        """What visitors get: production's deployment, or this environment's newest preview."""
        if self.production:
            return self._production(api, project)
        for listed in self._deployments(api, project, ready_only=False):
            meta = listed.get("meta") or {}
            if meta.get("waveEnvironment") == self.context.environment and not listed.get("target"):
                return api.get_deployment(str(listed["uid"]))
        return None

    def _deployments(self, api: VercelApi, project: JSON, *, ready_only: bool = True) -> list[JSON]:
        """The project's recent deployments, newest first (READY ones only, by default)."""
        filters = {"state": "READY"} if ready_only else {}
        project_id = str(project.get("id") or self.config.project)
        return api.list_deployments(project_id, self.config.recent, **filters)

    def _releases(self, listed: list[JSON]) -> list[str]:
        """Release ids with a ready deployment of this target's kind, newest first, once each."""
        seen: list[str] = []
        for deployment in listed:
            release = _release(deployment)
            if self.production:
                kind_ok = _was_production(deployment)
            else:
                meta = deployment.get("meta") or {}
                kind_ok = meta.get("waveEnvironment") == self.context.environment
            ready = deployment.get("readyState", deployment.get("state")) == "READY"
            if release and ready and kind_ok and release not in seen:
                seen.append(release)
        return seen

    def _url(self, deployment: JSON, *, production: bool) -> str | None:
        """Production: the first configured alias, else the project's domain; a preview: its own."""
        if production and self.config.aliases:
            return self.config.url(self.config.aliases[0])
        aliases = deployment.get("alias") or []
        if production and aliases:
            return self.config.url(str(aliases[0]))
        return self.config.url(str(deployment.get("url") or ""))

    def _emit(self, kind: str, message: str) -> None:
        with _EMIT_LOCK:  # uploads retry from their own threads
            self.context.reporter.emit(Event(kind, "deploy", message))


def _production_id(project: JSON) -> str | None:
    """The id of the project's production deployment (``targets.production``)."""
    targets = project.get("targets") or {}
    production = targets.get("production") if isinstance(targets, dict) else None
    found = production.get("id") if isinstance(production, dict) else None
    return str(found) if found else None


def _fingerprint(manifest: Manifest) -> str:
    """One digest of every path and its content: equal when the sites are byte-identical."""
    lines = "".join(f"{f.path}\0{f.digest}\n" for f in manifest.files)
    return hashlib.sha1(lines.encode()).hexdigest()


def _release(deployment: JSON | None) -> str | None:
    meta = (deployment or {}).get("meta") or {}
    release = meta.get("waveRelease") if isinstance(meta, dict) else None
    return str(release) if release else None


def _was_production(deployment: JSON) -> bool:
    return bool(deployment.get("isRollbackCandidate")) or deployment.get("target") == "production"


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _state(deployment: JSON) -> str:
    state = deployment.get("readyState")
    if state == "READY":
        return "running"
    if state in ("ERROR", "CANCELED"):
        return "degraded"
    return "unknown"


def _summary(deployment: JSON) -> JSON:
    """One row of ``vercel ls``: id, state, URL, target, release, commit, creator, age."""
    meta = deployment.get("meta") or {}
    creator = deployment.get("creator") or {}
    return {
        "id": deployment.get("uid"),
        "state": deployment.get("readyState", deployment.get("state")),
        "url": deployment.get("url"),
        "target": deployment.get("target") or "preview",
        "release": meta.get("waveRelease"),
        "commit": meta.get("waveCommit") or meta.get("githubCommitSha"),
        "creator": creator.get("username") or creator.get("uid"),
        "created": deployment.get("createdAt") or deployment.get("created"),
    }
