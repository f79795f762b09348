"""The runbook's signal files: deployment-starting, deployment-complete, rollback-complete.

A signal is the runbook's notice to the rest of the WAVE framework (and to people) that
something happened. The runbook's own fields keep the runbook's names, types and values
(``verification.health_check`` is ``healthy``/``unhealthy``, ``response_time_ms`` one
number, ``rolled_back_from``/``rolled_back_to`` commits, timestamps to the second); what
wave adds sits in fields of its own (``release``, ``rolled_back_to_release``,
``response_times_ms`` per endpoint …).

Each signal is written twice, atomically: as ``signal-<type>-<environment>-<deploy id>.json``
(one file per run, never overwritten: the trail) and as the runbook's fixed name
``signal-<type>.json`` (replaced each time: what a tool reading the runbook's paths sees).
Then every ``wave_signal`` observer gets it. Signals are derived from the run, which the
state store's history records: they are notices, not a second source of truth.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from wave_sdk.fileio import atomic_write
from wave_sdk.models import utcnow
from wave_sdk.secrets import dumps

SignalType = Literal["deployment-starting", "deployment-complete", "rollback-complete"]


def _now() -> datetime:
    return utcnow().replace(microsecond=0)


class Changes(BaseModel):
    """``changes``: what the release carries."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    stories: list[str] = Field(default_factory=list)
    has_migrations: bool = False


class Verification(BaseModel):
    """``verification``: what the checks after the deploy (or the rollback) found.

    ``health_check`` is ``healthy`` when every health check of the last round passed and
    ``unhealthy`` otherwise (or when none could run); ``response_time_ms`` is the slowest
    endpoint's median response time, the per-endpoint medians are in ``response_times_ms``.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    smoke_tests: str = "skipped"
    health_check: Literal["healthy", "unhealthy"] = "unhealthy"
    response_time_ms: float | None = None
    response_times_ms: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, *, healthy: bool, smoke: str, response_times_ms: dict[str, float]) -> Verification:
        return cls(
            smoke_tests=smoke,
            health_check="healthy" if healthy else "unhealthy",
            response_time_ms=max(response_times_ms.values()) if response_times_ms else None,
            response_times_ms=response_times_ms,
        )


class Signal(BaseModel):
    """One runbook signal. ``rolled_back_from``/``to`` and ``reason`` are set on rollbacks."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    signal_type: SignalType
    environment: str
    commit: str | None = None
    status: str
    timestamp: datetime = Field(default_factory=_now)
    deployer: str
    changes: Changes = Field(default_factory=Changes)
    verification: Verification | None = None
    rolled_back_from: str | None = Field(None, description="commit rolled back from")
    rolled_back_to: str | None = Field(None, description="commit rolled back to")
    reason: str | None = None
    # Beyond the runbook's fields: what a reader needs to find the run again.
    deployed_by: str = Field("", description="the runbook's Procedure 1 name for deployer")
    project: str = ""
    release: str | None = None
    digest: str | None = Field(
        None, description="sha256 of the files deployed, when the release is not a commit"
    )
    deploy_id: str = ""
    targets: list[str] = Field(default_factory=list)
    rolled_back_from_release: str | None = None
    rolled_back_to_release: str | None = None
    rolled_back_targets: list[str] = Field(
        default_factory=list,
        description="rollback-complete: the targets rolled back, in the order it happened",
    )
    contacts: list[str] = Field(
        default_factory=list, description="the on-call engineers ([project.contacts] on_call)"
    )
    contacts_by_role: dict[str, list[str]] = Field(
        default_factory=dict,
        description="every emergency contact by the runbook's role (on_call, tech_lead, "
        "devops, database_admin); roles nobody fills are left out",
    )
    url: str | None = Field(
        None,
        description="where the release answers: the environment's health.base_url, else the "
        "URL the first target's adapter reported for the deploy",
    )

    @field_serializer("timestamp")
    def _seconds(self, value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def filename(self) -> str:
        return f"signal-{self.signal_type}-{self.environment}-{self.deploy_id}.json"

    @property
    def latest_filename(self) -> str:
        """The runbook's fixed name for the latest signal of this type."""
        return f"signal-{self.signal_type}.json"

    def to_json(self) -> str:
        data = self.model_dump(mode="json", exclude_none=False)
        if not data["deployed_by"]:
            data["deployed_by"] = data["deployer"]
        return dumps(data, indent=2) + "\n"


def write_signal(signal: Signal, directory: Path) -> Path:
    """Write ``signal`` atomically into ``directory`` (both names); return the per-run path."""
    path = directory / signal.filename
    text = signal.to_json()
    atomic_write(path, text)
    atomic_write(directory / signal.latest_filename, text)
    return path
