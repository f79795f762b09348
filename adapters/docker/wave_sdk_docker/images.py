"""A release's image on the engine: ``<image>:<release>``, built, pushed or pulled.

:meth:`Images.ensure` is the first step of a deploy, before anything that runs is touched:

* a build context (``--source``, else ``build``) and no image yet → build it, tagged with
  the release id (a release id names one version of the code, so an image already tagged
  with it is used as it is);
* no context and no image → pull it (``pull = "always"`` pulls even when present;
  ``"never"`` refuses);
* then push it when the target pushes (``push``, by default when ``image`` names a
  registry host) and the registry does not have it yet (no digest of that repository).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from wave_sdk.errors import AdapterError
from wave_sdk_docker import engine
from wave_sdk_docker.containers import IMAGE_OF, IMAGE_RELEASE
from wave_sdk_docker.errors import BuildFailed, ImageNotFound, docker_errors, stream_error

if TYPE_CHECKING:
    from docker import APIClient

    from wave_sdk.adapter import TargetContext
    from wave_sdk.models import Release
    from wave_sdk_docker.config import DockerTarget

BUILD_LINES = 10
"""Lines of build output quoted when a build fails."""


class Images:
    """The target's images on one engine; ``emit`` reports progress."""

    def __init__(
        self,
        api: APIClient,
        *,
        config: DockerTarget,
        context: TargetContext,
        emit: Callable[[str], None],
    ) -> None:
        self.api = api
        self.config = config
        self.context = context
        self.emit = emit
        self.endpoint = engine.endpoint(config)

    def inspect(self, reference: str) -> dict[str, Any] | None:
        """The engine's description of an image, or ``None`` when it has no such image."""
        with docker_errors(f"inspect image {reference}", endpoint=self.endpoint):
            try:
                info: dict[str, Any] = self.api.inspect_image(reference)  # type: ignore[no-untyped-call]
            except Exception as exc:
                if engine.is_not_found(exc):
                    return None
                raise
        return info

    def digest(self, image_id: str) -> str | None:
        """``<image>@sha256:…`` of an image that was pushed or pulled, else ``None``."""
        digests: list[str] = (self.inspect(image_id) or {}).get("RepoDigests") or []
        ours = [d for d in digests if d.startswith(f"{self.config.image}@")]
        return next(iter(ours or digests), None)

    def untag(self, release: str) -> None:
        """Remove the release's tag; best effort (an image in use elsewhere stays)."""
        try:
            self.api.remove_image(self.config.reference(release))
        except Exception:
            return

    def ensure(self, release: Release) -> dict[str, Any]:
        """Make ``<image>:<release>`` present (build, pull) and pushed; return its inspect."""
        config = self.config
        reference = config.reference(release.id)
        context = self._context_dir(release)
        info = None if config.pull == "always" and context is None else self.inspect(reference)
        built = False
        if info is None and context is not None:
            self._build(release, reference, context)
            built = True
        elif info is None:
            if config.pull == "never":
                raise ImageNotFound(
                    f"image {reference} is not on the engine at {self.endpoint} and pull = 'never'",
                    hint="build it (set `build` or pass --source), or allow pulling",
                )
            self._transfer("pull", release, reference)
        elif context is not None:
            self.emit(f"image {reference} is already built; not building it again")
        info = info if info is not None and not built else self.inspect(reference)
        if info is None:  # built or pulled, yet gone: someone removed it meanwhile
            raise AdapterError(f"image {reference} vanished from the engine after it was made")
        push = config.push if config.push is not None else bool(config.registry)
        pushed = any(d.startswith(f"{config.image}@") for d in info.get("RepoDigests") or ())
        if push and (built or not pushed):
            self._transfer("push", release, reference)
            info = self.inspect(reference) or info
        return info

    def _context_dir(self, release: Release) -> Path | None:
        if release.source is not None:
            return Path(release.source)
        if self.config.build:
            build = Path(self.config.build)
            return build if build.is_absolute() else self.context.root / build
        return None

    def _auth(self) -> dict[str, str] | None:
        auth = self.config.registry_auth
        if auth is None:
            return None
        config = {"username": auth.username, "password": auth.password.get_secret_value()}
        server = auth.server or self.config.registry
        if server:
            config["serveraddress"] = server
        return config

    def _build(self, release: Release, reference: str, context: Path) -> None:
        if not context.is_dir():
            raise BuildFailed(
                f"build context {context} of release {release.id} is not a directory",
                hint="set `build` to the directory with the Dockerfile, or pass --source DIR",
            )
        dockerfile = self.config.dockerfile or "Dockerfile"
        if not (context / dockerfile).is_file():
            raise BuildFailed(
                f"no {dockerfile} in the build context {context}",
                hint="add one, or set `dockerfile` (relative to the context)",
            )
        self.emit(f"building {reference} from {context}")
        started = time.monotonic()
        output: list[str] = []
        args = {
            k: v.get_secret_value() if isinstance(v, SecretStr) else v
            for k, v in self.config.build_args.items()
        }
        labels = {
            **self.config.labels,
            IMAGE_OF: f"{self.context.project}/{self.context.target}",
            IMAGE_RELEASE: release.id,
        }
        with docker_errors(f"build {reference}", endpoint=self.endpoint):
            for chunk in self.api.build(
                path=str(context),
                dockerfile=dockerfile,
                tag=reference,
                buildargs=args or None,
                labels=labels,
                rm=True,
                forcerm=True,
                decode=True,
            ):
                if "stream" in chunk:
                    output += [line for line in str(chunk["stream"]).splitlines() if _says(line)]
                if "error" in chunk:
                    output.append(str(chunk["error"]).strip())
                    raise BuildFailed(
                        f"building {reference} failed: " + " | ".join(output[-BUILD_LINES:]),
                        hint=f"fix the Dockerfile or the context ({context})",
                    )
        self.emit(f"built {reference} in {time.monotonic() - started:.1f}s")

    def _transfer(self, action: str, release: Release, reference: str) -> None:
        """Push or pull; the stream reports failures as messages, which become errors."""
        self.emit(f"{action}ing {reference}")
        registry = self.config.registry
        method = self.api.push if action == "push" else self.api.pull
        with docker_errors(
            f"{action} {reference}", endpoint=self.endpoint, reference=reference, registry=registry
        ):
            for chunk in method(
                self.config.image,
                tag=release.id,
                stream=True,
                decode=True,
                auth_config=self._auth(),
            ):
                if "error" in chunk:
                    raise stream_error(
                        str(chunk["error"]), action=action, reference=reference, registry=registry
                    )


def _says(line: str) -> bool:
    """A build output line worth quoting: not blank, not the builder's layer bookkeeping."""
    text = line.strip()
    return bool(text) and not text.startswith(("--->", "Removing intermediate container"))


def publish(
    config: DockerTarget,
    release: Release,
    *,
    context: TargetContext,
    emit: Callable[[str], None],
) -> str:
    """Build ``<image>:<release>`` (when not built yet) and push it; return its reference.

    The image builder of this adapter, for other adapters that ship images somewhere else
    (wave-sdk-kubernetes' ``build`` key, installed as ``wave-sdk-kubernetes[build]``). The
    context is ``release.source``, else ``config.build`` (relative to ``context.root``);
    ``config.push`` (or its default) says whether to push; the engine is
    ``config.docker_host``. It does what the first step of a Docker deploy does
    (:meth:`Images.ensure`) and nothing else: no container is touched. Failures raise the
    errors of :mod:`wave_sdk_docker.errors` (``BuildFailed``, ``RegistryAuthFailed`` …).
    """
    api = engine.connect(config)
    try:
        Images(api, config=config, context=context, emit=emit).ensure(release)
    finally:
        api.close()
    return config.reference(release.id)
