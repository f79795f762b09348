"""The target's containers as the engine lists them: labels, names, and the inventory.

Every container wave creates carries the labels below; the target's containers are those
with its project and target labels. Names say what each one is for::

    <name>                    the live release
    <name>--<release>         a kept release, stopped, ready for a rollback
    anything else             left by an interrupted deploy ("stray"); removed later

Images do not carry the containers' label keys (``wave.image-*`` instead): a container
inherits its image's labels, and one started by hand from a release's image is no
release of the target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docker import APIClient

# Label keys (config.LABEL_PREFIX, "wave.", is reserved for them).
PROJECT = "wave.project"
TARGET = "wave.target"
ENVIRONMENT = "wave.environment"
RELEASE = "wave.release"
DEPLOY_ID = "wave.deploy-id"
DEPLOYED_AT = "wave.deployed-at"
CONFIG = "wave.config"
"""A hash of the container's settings and image: a redeploy with the same one is a no-op."""
IMAGE_OF = "wave.image-of"
IMAGE_RELEASE = "wave.image-release"


def default_name(project: str, target: str) -> str:
    """``<project>-<target>``, reduced to what a container name may contain."""
    name = re.sub(r"[^a-zA-Z0-9_.-]+", "-", f"{project}-{target}").strip("-_.")
    return name or "wave"


def kept_name(container: str, release: str) -> str:
    return f"{container}--{release}"


@dataclass(frozen=True)
class Kept:
    """One container of the target, as the engine's container list describes it."""

    id: str
    name: str
    release: str
    state: str
    image_id: str
    labels: dict[str, str] = field(repr=False)
    created: int = 0

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting")

    @property
    def config_hash(self) -> str:
        return self.labels.get(CONFIG, "")

    @property
    def order(self) -> tuple[str, int]:
        return (self.labels.get(DEPLOYED_AT, ""), self.created)


@dataclass(frozen=True)
class Inventory:
    """The live container, the kept ones (live included) newest first, and strays."""

    live: Kept | None
    kept: list[Kept]
    stray: list[Kept]

    def find(self, release: str) -> Kept | None:
        return next((k for k in self.kept if k.release == release), None)

    @property
    def releases(self) -> list[str]:
        return [k.release for k in self.kept]


def inventory(api: APIClient, *, project: str, target: str, container: str) -> Inventory:
    """The target's containers, from one list call (no inspect per container)."""
    rows: list[dict[str, Any]] = api.containers(
        all=True, filters={"label": [f"{PROJECT}={project}", f"{TARGET}={target}"]}
    )
    live: Kept | None = None
    kept: list[Kept] = []
    stray: list[Kept] = []
    for row in rows:
        labels = dict(row.get("Labels") or {})
        names = [n.lstrip("/") for n in row.get("Names") or ()]
        item = Kept(
            id=row["Id"],
            name=names[0] if names else row["Id"][:12],
            release=labels.get(RELEASE, "?"),
            state=row.get("State", "unknown"),
            image_id=row.get("ImageID", ""),
            labels=labels,
            created=int(row.get("Created", 0)),
        )
        if item.name == container:
            live = item
        elif item.name == kept_name(container, item.release):
            kept.append(item)
        else:
            stray.append(item)
    if live is not None:
        kept.append(live)
    kept.sort(key=lambda k: k.order, reverse=True)
    return Inventory(live=live, kept=kept, stray=stray)
