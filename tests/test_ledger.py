"""The history rules a rollback relies on, on plain lists of records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wave_sdk import ledger
from wave_sdk.errors import RollbackUnavailable
from wave_sdk.models import HistoryRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(kind: str, release: str, outcome: str, **extra: object) -> HistoryRecord:
    return HistoryRecord.model_validate(
        {
            "deploy_id": release + outcome,
            "kind": kind,
            "environment": "prod",
            "release": release,
            "outcome": outcome,
            "started_at": T0,
            **extra,
        }
    )


def test_good_before_skips_releases_that_failed() -> None:
    records = [
        rec("deploy", "v1", "succeeded"),
        rec("deploy", "v2", "rolled_back", rolled_back_to="v1"),
        rec("deploy", "v3", "succeeded"),
    ]
    assert ledger.good_before(records, "prod", "v3") == "v1"
    with pytest.raises(RollbackUnavailable):
        ledger.good_before(records, "prod", "v1")
    assert ledger.good_before(records, "prod", "unknown") is None


def test_after_a_rollback_the_goal_is_the_one_before_the_rolled_back_to_release() -> None:
    records = [
        rec("deploy", "v1", "succeeded"),
        rec("deploy", "v2", "succeeded"),
        rec("deploy", "v3", "succeeded"),
        rec("rollback", "v2", "succeeded"),
    ]
    assert ledger.rollback_goal(records, "prod", "v2")[0] == "v1"


def test_a_failed_release_left_live_sends_the_rollback_to_the_last_good_one() -> None:
    records = [
        rec("deploy", "v1", "succeeded"),
        rec("deploy", "v2", "failed"),
        rec("deploy", "v3", "blocked"),
    ]
    assert ledger.stranded(records) is records[1]
    assert ledger.live_release(records, "v1") == "v2"
    goal, why = ledger.rollback_goal(records, "prod", "v1")
    assert goal == "v1" and "v2 failed and is live" in why
    # once rolled back, nothing is stranded any more
    assert ledger.stranded([*records, rec("rollback", "v1", "succeeded")]) is None


def test_migration_to_undo_only_while_it_stands() -> None:
    migration = {"migrated": ["staging", "prod"], "backups": {"prod": "/b.dump"}, "rolled_back": []}
    records = [rec("deploy", "v2", "succeeded", migration=migration)]
    assert ledger.migration_to_undo(records, "prod", "v2") == migration
    assert ledger.migration_to_undo(records, "dev", "v2") is None
    assert ledger.migration_to_undo(records, "prod", "v1") is None
    undone = {**migration, "rolled_back": [{"environment": "prod"}]}
    assert (
        ledger.migration_to_undo([rec("deploy", "v2", "x", migration=undone)], "prod", "v2") is None
    )
