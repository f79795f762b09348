"""The runbook's signal files: deployment-starting, deployment-complete, rollback-complete.

A signal is the runbook's notice to the rest of the WAVE framework (and to people) that
something happened. Field names are exactly the runbook's. Each signal is written
atomically as ``signal-<type>-<environment>-<deploy id>.json`` in the signals directory
(``.claude`` by default), then handed to every ``wave_signal`` observer. Signals are
derived from the pipeline's run, which the state store's history records: they are
notices, not a second source of truth.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wave_sdk.fileio import atomic_write
from wave_sdk.models import utcnow
from wave_sdk.secrets import redact

SignalType = Literal["deployment-starting", "deployment-complete", "rollback-complete"]


class Changes(BaseModel):
    """``changes``: what the release carries."""

    model_config = ConfigDict(frozen=True)

    stories: list[str] = Field(default_factory=list)
    has_migrations: bool = False


class Verification(BaseModel):
    """``verification``: what the checks after the deploy found.

    ``health_check`` is ``passed``, ``failed`` or ``skipped``; ``response_time_ms`` maps each
    probed endpoint to its median response time in the passing rounds.
    """

    model_config = ConfigDict(frozen=True)

    smoke_tests: str = "skipped"
    health_check: str = "skipped"
    response_time_ms: dict[str, float] = Field(default_factory=dict)


class Signal(BaseModel):
    """One runbook signal. ``rolled_back_from``/``to`` and ``reason`` are set on rollbacks."""

    model_config = ConfigDict(frozen=True)

    signal_type: SignalType
    environment: str
    commit: str | None = None
    status: str
    timestamp: datetime = Field(default_factory=utcnow)
    deployer: str
    changes: Changes = Field(default_factory=Changes)
    verification: Verification | None = None
    rolled_back_from: str | None = None
    rolled_back_to: str | None = None
    reason: str | None = None
    # Beyond the runbook's fields: what a reader needs to find the run again.
    project: str = ""
    release: str | None = None
    deploy_id: str = ""
    targets: list[str] = Field(default_factory=list)
    rolled_back_targets: list[str] = Field(
        default_factory=list,
        description="rollback-complete: the targets rolled back, in the order it happened",
    )
    contacts: list[str] = Field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"signal-{self.signal_type}-{self.environment}-{self.deploy_id}.json"

    def to_json(self) -> str:
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=False)
        import json

        return redact(json.dumps(data, indent=2)) + "\n"


def write_signal(signal: Signal, directory: Path) -> Path:
    """Write ``signal`` atomically into ``directory`` and return its path."""
    path = directory / signal.filename
    atomic_write(path, signal.to_json())
    return path
