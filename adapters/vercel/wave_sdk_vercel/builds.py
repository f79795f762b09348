"""A deployment created by digest and waited for: the ``missing_files`` loop and its end.

What ``vercel deploy --prebuilt`` does (notes §3.3 and §3.4): create the deployment naming
every file by SHA-1; Vercel answers 400 ``missing_files`` with the digests it lacks; each
is uploaded once (``x-vercel-digest``: Vercel stores content, not paths) and the same body
sent again; then wait until ``READY`` with ``aliasAssigned``. ``ERROR`` or ``CANCELED``
fails naming the deployment, Vercel's message and the build log's last lines; a deployment
interrupted while it builds is cancelled, so it never goes live later. Apart from the
adapter class so that each stays small; the adapter decides what a deployment carries.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import AdapterError, WaveError
from wave_sdk_vercel.errors import DeploymentFailed

if TYPE_CHECKING:
    from wave_sdk.digests import Manifest
    from wave_sdk_vercel.api import VercelApi
    from wave_sdk_vercel.config import VercelTarget

JSON = dict[str, Any]
Emit = Callable[[str, str], None]
OUTPUT = ".vercel/output/"
"""Where a prebuilt deployment's files live (the Build Output API's directory)."""
CONFIG = json.dumps({"version": 3})
"""The Build Output API ``config.json`` of a directory that has none: static files only."""
ROUNDS = 3
"""Creates answered ``missing_files`` before giving up (one upload round is the rule)."""
LOG_LINES = 5


def entries(manifest: Manifest) -> list[JSON]:
    """The create's ``files``: a Build Output directory as it is, any other as its static/."""
    paths = {f.path for f in manifest.files}
    whole = "config.json" in paths and any(p.startswith("static/") for p in paths)
    prefix = OUTPUT if whole else OUTPUT + "static/"
    found: list[JSON] = [
        {"file": prefix + f.path, "sha": f.digest, "size": f.size} for f in manifest.files
    ]
    if not whole:
        found.append({"file": OUTPUT + "config.json", "data": CONFIG})
    return found


def create(
    api: VercelApi, body: JSON, manifest: Manifest, *, config: VercelTarget, emit: Emit
) -> tuple[JSON, int]:
    """The READY deployment ``body`` creates, and how many files were uploaded for it."""
    from wave_sdk_vercel.api import MissingFiles

    uploaded = 0
    for _ in range(ROUNDS):
        try:
            created = api.create_deployment(body, prebuilt=True)
        except MissingFiles as missing:
            uploaded += upload_missing(api, manifest, missing.missing, config=config, emit=emit)
            continue
        try:
            return wait_ready(api, created, timeout=config.ready_timeout), uploaded
        except DeploymentFailed:
            raise
        except BaseException:
            with contextlib.suppress(WaveError):
                api.cancel(str(created["id"]))  # interrupted: it must not go live later
            raise
    release = (body.get("meta") or {}).get("waveRelease", "?")
    raise AdapterError(
        f"Vercel still lacks files of release {release} after {ROUNDS} upload rounds",
        hint="the uploads were accepted but not kept; try again, or see Vercel's status",
    )


def upload_missing(
    api: VercelApi, manifest: Manifest, missing: list[str], *, config: VercelTarget, emit: Emit
) -> int:
    """Upload one file per missing digest, at most ``concurrency`` at once."""
    from wave_sdk.digests import ProgressLine, RetryPolicy, Upload, upload

    by_digest = {f.digest: f for f in manifest.files}
    todo = [by_digest[sha] for sha in dict.fromkeys(missing) if sha in by_digest]
    total = len(manifest.files)
    emit("info", f"uploading {len(todo)} of {total} file{'' if total == 1 else 's'}")
    progress = ProgressLine(f"uploading to {config.project}")
    try:
        upload(
            api.client,
            [
                Upload(
                    entry=f,
                    url=api.upload_url,
                    method="POST",
                    headers={"x-vercel-digest": f.digest},
                )
                for f in todo
            ],
            concurrency=config.concurrency,
            policy=RetryPolicy(deadline_s=config.upload_deadline),
            progress=progress,
            on_retry=lambda line: emit("detail", line),
        )
    finally:
        progress.close()
    return len(todo)


def wait_ready(api: VercelApi, created: JSON, *, timeout: float) -> JSON:
    """The deployment once READY with its aliases assigned (polled with backoff)."""
    from wave_sdk.digests.calls import poll

    deployment_id = str(created["id"])
    reads = iter([created])  # the create's answer is the first reading

    def ready(deployment: JSON) -> bool:
        state = deployment.get("readyState")
        if state in ("ERROR", "CANCELED") or deployment.get("aliasError"):
            raise failed(api, deployment)
        return state == "READY" and bool(deployment.get("aliasAssigned"))

    def late(deployment: JSON) -> DeploymentFailed:
        return DeploymentFailed(
            f"Vercel deployment {deployment_id} not ready after {timeout:g}s "
            f"(state {deployment.get('readyState')})",
            deployment_id=deployment_id,
            hint="raise `ready_timeout`, or see the deployment in Vercel's dashboard",
        )

    return poll(
        lambda: next(reads, None) or api.get_deployment(deployment_id),
        ready,
        timeout=timeout,
        late=late,
    )


def failed(api: VercelApi, deployment: JSON) -> DeploymentFailed:
    """The error for a deployment that ended badly: its id, Vercel's message, the log."""
    deployment_id = str(deployment["id"])
    state = deployment.get("readyState")
    alias_error = deployment.get("aliasError") or {}
    message = (
        deployment.get("errorMessage")
        or (alias_error.get("message") if isinstance(alias_error, dict) else None)
        or f"state {state}, no message"
    )
    logs = tuple(api.build_log(deployment_id)[-LOG_LINES:])
    shown = f" (build log: {' | '.join(logs)})" if logs else ""
    verb = "was canceled" if state == "CANCELED" else "failed"
    return DeploymentFailed(
        f"Vercel deployment {deployment_id} {verb}: {message}{shown}",
        deployment_id=deployment_id,
        logs=logs,
        hint="see `vercel inspect --logs` or the dashboard; fix the site and deploy again",
    )
