"""A static site published into ``<docroot>/current`` by the core's release layout.

A web server (nginx, caddy) serves ``<docroot>/current``; a deploy stages the site under
``releases/<id>`` and switches the symlink atomically, so visitors see the old site or the
new one, never half of each. Health, and ``running`` in the status: the published site has
its index file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from wave_sdk import (
    Adapter,
    AdapterError,
    DeployResult,
    HealthResult,
    Release,
    RollbackResult,
    Settings,
    StatusReport,
)
from wave_sdk.releases import ReleaseLayout
from wave_sdk.transport import LocalTransport


class StaticTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "static"``."""

    docroot: str = Field(description="Directory the web server serves `current` from.")
    url: str | None = Field(None, description="Where the web server serves the site.")
    source: str | None = Field(None, description="Site directory; `--source` overrides it.")
    index: str = Field("index.html", description="File that must exist for the site to be healthy.")
    keep: int = Field(5, ge=2, description="Releases kept; the rollback target is never pruned.")


class StaticAdapter(Adapter):
    name = "static"
    config: StaticTarget

    @property
    def layout(self) -> ReleaseLayout:
        root = Path(self.config.docroot)
        return ReleaseLayout(
            LocalTransport(), str(root if root.is_absolute() else self.context.root / root)
        )

    def deploy(self, release: Release) -> DeployResult:
        layout = self.layout
        previous = layout.current()
        if not layout.has(release.id):
            source = release.source or (
                self.context.root / self.config.source if self.config.source else None
            )
            if source is None or not Path(source).is_dir():
                raise AdapterError(
                    f"no site directory for release {release.id}",
                    hint="set `source` in the target or pass --source DIR",
                )
            layout.ensure()
            layout.stage(release.id, Path(source))
        if previous != release.id:
            layout.switch(release.id)
        layout.prune(self.config.keep, protect=(release.id, previous, *self.context.protected))
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=self.config.url,
            previous=previous,
            message=f"published {release.id} at {layout.current_link}",
        )

    def rollback(self, to: str | None = None) -> RollbackResult:
        layout = self.layout
        current = layout.current()
        target = to or layout.previous()
        layout.switch(target, action="rollback")  # raises ReleaseNotFound if it is gone
        return RollbackResult(target=self.context.target, from_release=current, to_release=target)

    def status(self) -> StatusReport:
        layout = self.layout
        current = layout.current()
        # `current` names a release even when its files are gone: running means servable.
        published = self._index().is_file()
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=current,
            state="absent" if current is None else "running" if published else "stopped",
            url=self.config.url,
            releases=tuple(layout.releases()),
        )

    def health(self) -> list[HealthResult]:
        index = self._index()
        return [
            HealthResult(
                source=self.name,
                name=self.config.index,
                ok=index.is_file(),
                detail="published" if index.is_file() else f"{index} is missing",
            )
        ]

    def _index(self) -> Path:
        return Path(self.layout.current_link) / self.config.index
