"""``[targets.<name>]`` with ``adapter = "vercel"``: the configuration model.

Imports pydantic and wave_sdk only, so ``wave config validate`` and ``wave config schema``
never load httpx. Every field has a description: the configuration reference and
``docs/adapters/vercel.md`` are written from them.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from wave_sdk import Settings

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$")


class VercelTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "vercel"``."""

    token: SecretStr = Field(
        description='Vercel access token; write it as "${VERCEL_TOKEN}". It is sent as a '
        "bearer token and never printed."
    )
    project: str = Field(
        min_length=1,
        description="The project's id (prj_…) or name; the project must exist.",
    )
    team: str | None = Field(
        None,
        description="Team scope: its id (team_…, sent as teamId) or slug; unset for a "
        "personal account.",
    )
    output_dir: str = Field(
        "dist",
        description="The built site, relative to the project; `--source` overrides it. A "
        "Build Output API directory (config.json and static/, what `vercel build` writes to "
        ".vercel/output) is deployed as it is; any other directory becomes its static/.",
    )
    production: bool | None = Field(
        None,
        description="Deploy to production (the project's domains) or as previews (each at "
        "its own URL). Unset: production for the environments wave treats as production "
        "(`production = true`, or named production), previews elsewhere.",
    )
    promote: bool = Field(
        True,
        description="A production deploy of a release that already has a ready deployment "
        "with the same files (a preview deployed to staging) promotes it as `vercel "
        "promote` does (a preview through a production deployment made from it): the same "
        "bytes go live and nothing is uploaded.",
    )
    aliases: list[str] = Field(
        default_factory=list,
        description="Extra domains pointed at the production deployment once it is live "
        "(promote and rollback move them too), as `vercel alias set` does; previews keep "
        "their own URLs.",
    )
    api_url: str = Field(
        "https://api.vercel.com",
        description="Vercel API base URL (the vercel CLI's --api).",
    )
    url_scheme: str = Field(
        "https",
        pattern="^https?$",
        description="Scheme of the deployment URLs wave reports and checks (Vercel's API "
        "gives hosts); http only for a local fake.",
    )
    concurrency: int = Field(
        8, ge=1, le=50, description="Files uploaded at once (the vercel CLI uploads 50)."
    )
    upload_deadline: float = Field(
        600.0, gt=0, description="Seconds for all uploads, retries and waits included."
    )
    ready_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds for a deployment to be READY with its aliases assigned, and "
        "for a promote or rollback to take effect.",
    )
    api_timeout: float = Field(30.0, gt=0, description="Seconds to wait for one API answer.")
    recent: int = Field(
        20,
        ge=2,
        le=100,
        description="Recent deployments read for status, releases and rollback (as `vercel ls`).",
    )

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        for alias in value:
            if not _HOST.match(alias):
                raise ValueError(f"{alias!r} is not a domain name (no scheme, no path)")
        return value

    def url(self, host: str | None) -> str | None:
        """A deployment's URL from the host Vercel gives (``None`` stays ``None``)."""
        if not host:
            return None
        return host if "://" in host else f"{self.url_scheme}://{host}"
