"""``[targets.<name>]`` with ``adapter = "netlify"``: the configuration model.

Imports pydantic and wave_sdk only, so ``wave config validate`` and ``wave config schema``
never load httpx. Every field has a description: the configuration reference and
``docs/adapters/netlify.md`` are written from them.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from wave_sdk import Settings

PLACEHOLDERS = ("release", "commit", "environment", "target", "project")
"""What a ``message`` template may name; ``{release}`` it must name."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_RELEASE = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"


class NetlifyTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "netlify"``."""

    token: SecretStr = Field(
        description='Netlify personal access token; write it as "${NETLIFY_AUTH_TOKEN}". '
        "It is sent as a bearer token and never printed."
    )
    site: str = Field(
        min_length=1,
        description="The site's id (API ID in the site's settings) or its name.",
    )
    output_dir: str = Field(
        "dist",
        description="The built site to deploy, relative to the project; `--source` overrides it.",
    )
    functions_dir: str | None = Field(
        None,
        description="Built Netlify Functions to deploy with the site, relative to the "
        "project: one zip per function, named after it, as `netlify functions:build` writes "
        "them (netlify-cli deploys such a directory as is). Function sources are refused: "
        "build them first.",
    )
    production: bool = Field(
        True,
        description="Publish each deploy as the site's live one; false makes draft deploys, "
        "served only at their own URL (a preview environment).",
    )
    message: str = Field(
        "wave {release}",
        description="Title of each deploy; must hold {release} (rollback and status find a "
        "release's deploy by it), may hold {commit}, {environment}, {target}, {project}.",
    )
    api_url: str = Field(
        "https://api.netlify.com/api/v1",
        description="Netlify API base URL (the same as netlify-cli's NETLIFY_API_URL).",
    )
    concurrency: int = Field(
        5, ge=1, le=50, description="Files uploaded at once (netlify-cli uploads 5)."
    )
    upload_deadline: float = Field(
        600.0, gt=0, description="Seconds for all uploads, retries and waits included."
    )
    ready_timeout: float = Field(
        300.0,
        gt=0,
        description="Seconds for Netlify to prepare a deploy and, after the uploads, to make "
        "it ready.",
    )
    api_timeout: float = Field(30.0, gt=0, description="Seconds to wait for one API answer.")
    recent: int = Field(
        20, ge=2, le=100, description="Recent deploys read for status, releases and rollback."
    )

    @field_validator("message")
    @classmethod
    def _message(cls, value: str) -> str:
        names = _PLACEHOLDER.findall(value)
        unknown = [n for n in names if n not in PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"{{{unknown[0]}}} is not a placeholder: use {', '.join(PLACEHOLDERS)}"
            )
        if names.count("release") != 1:
            raise ValueError("write {release} once: it is how wave finds a release's deploy")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    def title(self, **values: str) -> str:
        """The deploy title for these placeholder values."""
        return _PLACEHOLDER.sub(lambda m: values.get(m[1], ""), self.message)

    def release_of(self, title: str | None) -> str | None:
        """The release id a deploy title carries (``None``: not a deploy of this template)."""
        if not title:
            return None
        parts = _PLACEHOLDER.split(self.message)
        pattern = "".join(
            re.escape(part)
            if i % 2 == 0
            else (f"(?P<release>{_RELEASE})" if part == "release" else ".*?")
            for i, part in enumerate(parts)
        )
        found = re.fullmatch(pattern, title, re.DOTALL)
        return found["release"] if found else None
