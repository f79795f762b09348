"""The ``netlify`` adapter: a static site deployed by digest, any earlier deploy restorable.

A deploy walks the output directory into a SHA-1 manifest (:func:`wave_sdk.digests.
build_manifest`, which refuses a link out of it before any request), creates a Netlify
deploy with it, uploads only the files whose digests Netlify asks for, and waits for the
deploy to be ready; Netlify publishes a production deploy itself. The deploy's title
carries the wave release id (``message``), which is how status, releases and rollback find
a release among the site's deploys: Netlify keeps every deploy, so rolling back is
publishing an earlier one again (``restore``), with nothing re-uploaded.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.adapter import Adapter
from wave_sdk.errors import AdapterError, ReleaseNotFound, RollbackUnavailable, WaveError
from wave_sdk.models import DeployResult, HealthResult, Release, RollbackResult, StatusReport
from wave_sdk.reporting import Event
from wave_sdk_netlify.config import NetlifyTarget
from wave_sdk_netlify.errors import DeployFailed, SiteLocked

if TYPE_CHECKING:
    from wave_sdk.digests import Manifest
    from wave_sdk_netlify.api import NetlifyApi

JSON = dict[str, Any]
SYNC_LIMIT = 100
"""Above this many files a deploy is created with ``async`` (netlify-cli's rule)."""
DIFFED = ("prepared", "uploading", "uploaded", "ready")
"""States in which a deploy's ``required`` list is final."""


_EMIT_LOCK = threading.Lock()


class NetlifyAdapter(Adapter):
    name = "netlify"
    config: NetlifyTarget

    # -- deploy --------------------------------------------------------------------------

    def deploy(self, release: Release) -> DeployResult:
        from wave_sdk.digests import (
            ProgressLine,
            RetryPolicy,
            Upload,
            build_manifest,
            output_directory,
            upload,
        )

        source = output_directory(release, self.config.output_dir, self.context.root)
        manifest = build_manifest(source, algorithm="sha1")  # refusals before any request
        functions = self._functions()
        with self._api(self.config.upload_deadline) as api:
            site = api.get_site()
            published = site.get("published_deploy") or {}
            if self.config.production and published.get("locked"):
                raise SiteLocked(
                    f"site {self.config.site}: auto publishing is locked to deploy "
                    f"{published.get('id')}, so release {release.id} would not go live",
                    hint="unlock it in the Netlify UI (Deploys → Start auto publishing) or "
                    "with `netlify unlock`, then deploy again",
                )
            title = self.config.title(
                release=release.id,
                commit=(release.commit or "")[:12],
                environment=self.context.environment,
                target=self.context.target,
                project=self.context.project,
            )
            body: JSON = {
                "files": manifest.digests(),
                "draft": not self.config.production,
                "async": len(manifest.files) > SYNC_LIMIT,
            }
            if functions is not None:
                body["functions"] = {_function_name(f.path): f.digest for f in functions.files}
            created = api.create_deploy(body, title=title)
            deploy_id = str(created["id"])
            try:
                if release.commit:
                    api.set_commit(deploy_id, release.commit)
                deploy = created
                if deploy.get("state") not in DIFFED:
                    deploy = self._wait(api, deploy_id, DIFFED, "prepared")
                todo = manifest.needing(deploy.get("required") or [])
                uploads = [Upload(entry=f, url=api.file_url(deploy_id, f.path)) for f in todo]
                if functions is not None:
                    uploads += [
                        Upload(entry=f, url=api.function_url(deploy_id, _function_name(f.path)))
                        for f in functions.needing(deploy.get("required_functions") or [])
                    ]
                self._emit(
                    "info",
                    f"deploy {deploy_id}: uploading {len(todo)} of {_files(len(manifest.files))}"
                    + (
                        f" and {len(uploads) - len(todo)} of {len(functions.files)} functions"
                        if functions is not None
                        else ""
                    ),
                )
                progress = ProgressLine(f"uploading to {self.config.site}")
                try:
                    upload(
                        api.client,
                        uploads,
                        concurrency=self.config.concurrency,
                        policy=RetryPolicy(deadline_s=self.config.upload_deadline),
                        progress=progress,
                        on_retry=lambda line: self._emit("detail", line),
                    )
                finally:
                    progress.close()
                deploy = self._wait(api, deploy_id, ("ready",), "ready")
                if self.config.production:
                    deploy = self._published(api, deploy)
            except BaseException:
                with contextlib.suppress(WaveError):
                    api.cancel(deploy_id)  # Netlify keeps it; cancelled, it never goes live
                raise
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=self._url(deploy, site),
            previous=self.config.release_of(published.get("title")),
            message=f"deploy {deploy_id} ready ({_files(len(todo))} uploaded)",
            details={
                "deploy_id": deploy_id,
                "uploaded": len(todo),
                "files": len(manifest.files),
                "functions": 0 if functions is None else len(functions.files),
                "functions_uploaded": len(uploads) - len(todo),
            },
        )

    def _functions(self) -> Manifest | None:
        """The built functions (SHA-256 of each zip), or ``None`` without ``functions_dir``.

        netlify-cli deploys a directory of zips as is: each ``<name>.zip`` is the function
        ``<name>``, its digest the SHA-256 of the zip's bytes (``manifest.json``, which
        ``netlify functions:build`` writes beside them, is not a function). Bundling sources
        is zip-it-and-ship-it's work, which wave does not redo: anything else is refused,
        naming the file, before any request.
        """
        from wave_sdk.digests import build_manifest

        if self.config.functions_dir is None:
            return None
        directory = Path(self.config.functions_dir)
        if not directory.is_absolute():
            directory = self.context.root / directory
        if not directory.is_dir():
            raise AdapterError(
                f"functions_dir {directory} is not a directory",
                hint="build the functions first (`netlify functions:build --src SRC "
                f"--functions {self.config.functions_dir}`), or remove functions_dir",
            )
        built = build_manifest(directory, algorithm="sha256", exclude=("manifest.json",))
        for entry in built.files:
            if not _FUNCTION_ZIP.fullmatch(entry.path):
                raise AdapterError(
                    f"{directory / entry.path} is not a built function: functions_dir holds "
                    "one <name>.zip per function (letters, digits, '-' and '_')",
                    hint="build the functions with `netlify functions:build --src SRC "
                    f"--functions {self.config.functions_dir}` and deploy what it writes",
                )
        return built

    def _wait(self, api: NetlifyApi, deploy_id: str, states: tuple[str, ...], goal: str) -> JSON:
        """The deploy once its state is one of ``states`` (:func:`~wave_sdk.digests.calls.poll`)."""
        from wave_sdk.digests.calls import poll

        def done(deploy: JSON) -> bool:
            if deploy.get("state") in states:
                return True
            if deploy.get("state") == "error":
                raise DeployFailed(
                    f"Netlify deploy {deploy_id} failed: "
                    f"{deploy.get('error_message') or 'state error, no message'}",
                    deploy_id=deploy_id,
                    hint="see the deploy log in the Netlify UI; fix the site and deploy again",
                )
            return False

        def late(deploy: JSON) -> DeployFailed:
            return DeployFailed(
                f"Netlify deploy {deploy_id} not {goal} after {self.config.ready_timeout:g}s "
                f"(state {deploy.get('state')})",
                deploy_id=deploy_id,
                hint="raise `ready_timeout`, or see the deploy in the Netlify UI",
            )

        return poll(
            lambda: api.get_deploy(deploy_id),
            done,
            timeout=self.config.ready_timeout,
            late=late,
        )

    def _published(self, api: NetlifyApi, deploy: JSON) -> JSON:
        """A ready production deploy, published: Netlify does it unless the site is locked."""
        site = api.get_site()
        current = site.get("published_deploy") or {}
        if current.get("id") == deploy["id"]:
            return deploy
        if current.get("locked"):
            raise SiteLocked(
                f"deploy {deploy['id']} is ready but not live: auto publishing is locked to "
                f"deploy {current.get('id')}",
                hint="unlock it in the Netlify UI or with `netlify unlock`, then deploy again",
            )
        api.restore(deploy["id"])  # published by hand when Netlify did not
        return deploy

    # -- rollback ------------------------------------------------------------------------

    def rollback(self, to: str | None = None) -> RollbackResult:
        if not self.config.production:
            raise RollbackUnavailable(
                f"target {self.context.target} makes draft deploys: none is published, "
                "so there is nothing to roll back",
                hint="deploy the release you want again; each draft has its own URL",
            )
        with self._api(self.config.ready_timeout) as api:
            site = api.get_site()
            current = site.get("published_deploy") or {}
            current_release = self.config.release_of(current.get("title"))
            candidates = [
                d for d in self._deploys(api) if d.get("state") == "ready" and not d.get("draft")
            ]
            if to is not None:
                target = next(
                    (d for d in candidates if self.config.release_of(d.get("title")) == to), None
                )
                if target is None:
                    raise ReleaseNotFound(
                        f"release {to} has no ready deploy on site {self.config.site} "
                        f"(among the last {self.config.recent})",
                        hint="`wave status` lists the releases Netlify still has",
                    )
            else:
                earlier = sorted(
                    (
                        d
                        for d in candidates
                        if d.get("published_at")
                        and d.get("id") != current.get("id")
                        and self.config.release_of(d.get("title")) not in (None, current_release)
                    ),
                    key=lambda d: str(d["published_at"]),
                    reverse=True,
                )
                if not earlier:
                    raise RollbackUnavailable(
                        f"site {self.config.site}: no earlier published wave deploy to return to",
                        hint="deploy a release first, or name one with --to",
                    )
                target = earlier[0]
            if current.get("locked") and current.get("id") != target["id"]:
                raise SiteLocked(
                    f"site {self.config.site}: auto publishing is locked to deploy "
                    f"{current.get('id')}, so deploy {target['id']} cannot be published",
                    hint="unlock it in the Netlify UI (Deploys → Start auto publishing) or "
                    "with `netlify unlock`, then roll back again",
                )
            if current.get("id") != target["id"]:
                api.restore(str(target["id"]))
            live = (api.get_site().get("published_deploy") or {}).get("id")
            if live != target["id"]:
                raise AdapterError(
                    f"site {self.config.site}: deploy {target['id']} was restored but "
                    f"{live} is published",
                    hint="see the site's deploys in the Netlify UI",
                )
        to_release = self.config.release_of(target.get("title")) or str(target["id"])
        return RollbackResult(
            target=self.context.target,
            from_release=current_release,
            to_release=to_release,
            message=f"published deploy {target['id']} again",
            details={"deploy_id": target["id"]},
        )

    # -- status, releases, health --------------------------------------------------------

    def status(self) -> StatusReport:
        with self._api(self.config.api_timeout) as api:
            site = api.get_site()
            deploys = self._deploys(api)
        live = self._live(site, deploys)
        state = "absent" if live is None else _state(live)
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=self.config.release_of(live.get("title")) if live else None,
            state=state,
            url=self._url(live, site) if live else None,
            releases=tuple(self._releases(deploys)),
            details={
                "site": site.get("name") or self.config.site,
                "deploy_id": live.get("id") if live else None,
                "locked": bool(live and live.get("locked")),
                "deploys": [_summary(d) for d in deploys[:10]],
            },
        )

    def releases(self) -> list[str]:
        with self._api(self.config.api_timeout) as api:
            return self._releases(self._deploys(api))

    def health(self) -> list[HealthResult]:
        with self._api(self.config.api_timeout) as api:
            site = api.get_site()
            live = self._live(site, self._deploys(api) if not self.config.production else [])
        if live is None:
            return [HealthResult(source=self.name, name="deploy", ok=False, detail="no deploy")]
        state = live.get("state")
        detail = f"deploy {live.get('id')} is {state}"
        if live.get("error_message"):
            detail += f": {live['error_message']}"
        return [HealthResult(source=self.name, name="deploy", ok=state == "ready", detail=detail)]

    # -- plumbing ------------------------------------------------------------------------

    def _api(self, deadline_s: float) -> NetlifyApi:
        from wave_sdk_netlify.api import NetlifyApi

        return NetlifyApi(
            self.config.api_url,
            self.config.token.get_secret_value(),
            self.config.site,
            timeout=self.config.api_timeout,
            deadline_s=deadline_s,
            on_retry=lambda line: self._emit("detail", line),
        )

    def _deploys(self, api: NetlifyApi) -> list[JSON]:
        """The site's recent deploys, newest first."""
        return api.list_deploys(self.config.recent)

    def _live(self, site: JSON, deploys: list[JSON]) -> JSON | None:
        """The deploy visitors get: the published one, or for drafts the newest of wave's."""
        if self.config.production:
            published: JSON | None = site.get("published_deploy") or None
            return published
        return next(
            (d for d in deploys if d.get("draft") and self.config.release_of(d.get("title"))),
            None,
        )

    def _releases(self, deploys: list[JSON]) -> list[str]:
        """Release ids with a ready deploy of this target's kind, newest first, once each."""
        seen: list[str] = []
        for deploy in deploys:
            release = self.config.release_of(deploy.get("title"))
            kind_ok = bool(deploy.get("draft")) != self.config.production
            if release and deploy.get("state") == "ready" and kind_ok and release not in seen:
                seen.append(release)
        return seen

    def _url(self, deploy: JSON, site: JSON) -> str | None:
        """Production: the site's URL; a draft: the deploy's own."""
        if self.config.production:
            url = site.get("ssl_url") or site.get("url") or deploy.get("ssl_url")
        else:
            url = deploy.get("deploy_ssl_url") or deploy.get("deploy_url")
        return str(url) if url else None

    def _emit(self, kind: str, message: str) -> None:
        with _EMIT_LOCK:  # uploads retry from their own threads
            self.context.reporter.emit(Event(kind, "deploy", message))


_FUNCTION_ZIP = re.compile(r"[A-Za-z0-9_-]{1,128}\.zip")


def _function_name(path: str) -> str:
    return path.removesuffix(".zip")


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _state(deploy: JSON) -> str:
    state = deploy.get("state")
    if state == "ready":
        return "running"
    if state == "error":
        return "degraded"
    return "unknown"


def _summary(deploy: JSON) -> JSON:
    keys = ("id", "state", "title", "commit_ref", "draft", "locked", "created_at", "published_at")
    summary = {k: deploy.get(k) for k in keys}
    summary["url"] = deploy.get("deploy_ssl_url") or deploy.get("deploy_url")
    return summary
