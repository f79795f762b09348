"""The runbook's rollback decision tree, as a pure function.

When verification (or the bake window after it) fails, the runbook asks, in this order::

    Is it working for most users?          yes → MONITOR: keep the release, watch it
    Is it a configuration issue?           yes → FIX_CONFIG: fix the config and redeploy
    Did the deployment run a migration?    yes → ROLLBACK_DATABASE_THEN_CODE
    otherwise                                  → QUICK_ROLLBACK of the code

:func:`decide` answers from measured evidence only — the share of health checks that
passed, whether the release changed configuration files only, whether migrations ran — and
returns the :class:`Decision` with that evidence, so a person reading ``wave rollback
--plan`` (or the history) sees *why*. The pipeline acts on it where the environment allows
(``auto_rollback``) and prints it otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the decision tree recommends."""

    MONITOR = "monitor"
    FIX_CONFIG = "fix_config"
    ROLLBACK_DATABASE_THEN_CODE = "rollback_database_then_code"
    QUICK_ROLLBACK = "quick_rollback"

    @property
    def rolls_back(self) -> bool:
        return self in (Action.ROLLBACK_DATABASE_THEN_CODE, Action.QUICK_ROLLBACK)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """What the decision is made from.

    Attributes:
        passing_share: share (0…1) of health checks that passed — over the last
            verification round, or ``1 - error rate`` over a bake window.
        config_only: the release changed configuration files only.
        migrated: the deployment ran database migrations.
        most_users: the share at or above which the release counts as working for most
            users (configuration: ``[decisions] most_users``).

    """

    passing_share: float
    config_only: bool = False
    migrated: bool = False
    most_users: float = 0.95


@dataclass(frozen=True)
class Decision:
    """The tree's answer: an action, the branch taken in words, and the evidence."""

    action: Action
    reason: str
    evidence: Evidence = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "reason": self.reason,
            "evidence": asdict(self.evidence),
        }

    def advice(self, environment: str) -> str:
        return advice(self.action, environment)


def advice(action: Action, environment: str) -> str:
    """One line telling a person what to do, with the command where there is one."""
    return _ADVICE[action].format(e=environment)


_ADVICE = {
    Action.MONITOR: "keep the release and watch it: `wave health --env {e}`",
    Action.FIX_CONFIG: "fix the configuration and deploy again: `wave deploy --env {e}`",
    Action.ROLLBACK_DATABASE_THEN_CODE: (
        "roll back the database first, then the code: `wave rollback --env {e}`"
    ),
    Action.QUICK_ROLLBACK: "roll back the code: `wave rollback --env {e}`",
}


def decide(evidence: Evidence) -> Decision:
    """Walk the runbook's tree, top to bottom; the first question answered yes decides."""
    share = f"{evidence.passing_share:.0%} of checks pass"
    if evidence.passing_share >= evidence.most_users:
        return Decision(
            Action.MONITOR,
            f"working for most users ({share}, threshold {evidence.most_users:.0%})",
            evidence,
        )
    if evidence.config_only:
        return Decision(
            Action.FIX_CONFIG, f"configuration-only change is failing ({share})", evidence
        )
    if evidence.migrated:
        return Decision(
            Action.ROLLBACK_DATABASE_THEN_CODE,
            f"failing ({share}) after a database migration",
            evidence,
        )
    return Decision(Action.QUICK_ROLLBACK, f"failing ({share}); code change only", evidence)
