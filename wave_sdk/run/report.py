"""The record of one deploy run: returned on success, attached to errors, kept in history."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wave_sdk.models import Approval, CheckResult, DeployResult, HealthResult, RollbackResult
from wave_sdk.run.plan import Plan


class DeployReport(BaseModel):
    """What a :class:`~wave_sdk.run.deploy.DeployRun` did, step by step.

    ``outcome`` is the history's (``succeeded``, ``degraded``, ``rolled_back``, ``failed``,
    ``blocked``, ``interrupted``); ``rollback_verification`` is the verification of the
    release a rollback returned to; ``unchanged`` lists targets whose deploy failed before
    changing anything, which were therefore not rolled back.
    """

    model_config = ConfigDict(defer_build=True)

    deploy_id: str
    environment: str
    release: str
    commit: str | None = None
    digest: str | None = None
    outcome: str = "planned"
    plan: Plan
    checks: list[CheckResult] = Field(default_factory=list)
    approval: Approval | None = None
    deployed: list[DeployResult] = Field(default_factory=list)
    health: dict[str, list[HealthResult]] = Field(default_factory=dict)
    response_time_ms: dict[str, float] = Field(default_factory=dict)
    smoke: str = "skipped"
    application_loads: dict[str, str] = Field(default_factory=dict)
    bake: dict[str, Any] | None = None
    passing_share: float | None = None
    config_only: bool = False
    migrated: bool = False
    migration: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    rollbacks: list[RollbackResult] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    rollback_verification: dict[str, Any] | None = None
    signals: list[str] = Field(default_factory=list)
    reason: str | None = None

    def rollback_summary(self) -> str:
        """``; rolled back web v2 → v1, …`` (and the targets left untouched), or nothing."""
        parts = [f"{r.target} {r.from_release} → {r.to_release}" for r in self.rollbacks]
        text = "; rolled back " + ", ".join(parts) if parts else ""
        if self.unchanged:
            text += f"; {', '.join(self.unchanged)} already back (nothing to roll back)"
        return text
