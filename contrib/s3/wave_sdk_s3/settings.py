"""``[state.s3]``: the bucket, the prefixes, encryption and the endpoint — never credentials.

Credentials come from the standard AWS chain only (environment variables, ``AWS_PROFILE``
or ``profile`` below, ``~/.aws/credentials``, SSO, an instance or task role): a key written
in wave.toml would be committed with the project, so the model refuses any key that looks
like one, with a one-line error saying where credentials go instead.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from wave_sdk.config import Settings
from wave_sdk.config.errors import Invalid

_CREDENTIAL = re.compile(r"(access[_-]?key|secret|session[_-]?token|password|credential)", re.I)


class S3Settings(Settings):
    """The keys of ``[state.s3]``."""

    bucket: str = Field(description="Bucket holding the state (it must exist).")
    prefix: str = Field(
        "wave", description="Key prefix of every state object: one project per prefix."
    )
    backup_prefix: str | None = Field(
        None,
        description="Key prefix of migration backups (default: <prefix>/backups).",
    )
    region: str | None = Field(None, description="AWS region (default: the AWS chain's).")
    endpoint_url: str | None = Field(
        None,
        description="Endpoint of an S3-compatible service (MinIO, Ceph, R2, moto); default: AWS.",
    )
    profile: str | None = Field(
        None, description="Named profile of ~/.aws/config (default: AWS_PROFILE or default)."
    )
    sse: Literal["AES256", "aws:kms"] = Field(
        "AES256", description="Server-side encryption of every object written."
    )
    kms_key_id: str | None = Field(
        None, description="KMS key for sse = 'aws:kms' (default: the bucket's AWS key)."
    )
    timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds to connect, and to wait for each answer."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if _CREDENTIAL.search(str(key)):
                    raise Invalid(
                        f"{key!r}: credentials never go in the configuration file",
                        hint="remove it and use the AWS chain: AWS_PROFILE or "
                        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment, "
                        "~/.aws/credentials, or an instance role",
                    )
        return data

    @field_validator("prefix", "backup_prefix")
    @classmethod
    def _plain_prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip("/")
        if not value or any(part in ("", ".", "..") for part in value.split("/")):
            raise Invalid(
                f"{value!r} is not a usable key prefix",
                hint='use words joined by "/", e.g. "wave/myapp"',
            )
        return value

    @model_validator(mode="after")
    def _kms_key_needs_kms(self) -> S3Settings:
        if self.kms_key_id is not None and self.sse != "aws:kms":
            raise Invalid("kms_key_id is set but sse is not 'aws:kms'", hint='set sse = "aws:kms"')
        return self

    @property
    def backups(self) -> str:
        """The key prefix of migration backups."""
        return self.backup_prefix or f"{self.prefix}/backups"
