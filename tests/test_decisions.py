"""The runbook's decision tree, branch by branch, as a table."""

from __future__ import annotations

import pytest

from wave_sdk.decisions import Action, Evidence, decide

CASES = [
    # passing_share, config_only, migrated, most_users → action
    (1.00, False, False, 0.95, Action.MONITOR),
    (0.96, True, True, 0.95, Action.MONITOR),  # most users fine: nothing else matters
    (0.95, False, False, 0.95, Action.MONITOR),  # the threshold itself counts as "most"
    (0.94, True, False, 0.95, Action.FIX_CONFIG),
    (0.50, True, True, 0.95, Action.FIX_CONFIG),  # config is asked before migrations
    (0.66, False, True, 0.95, Action.ROLLBACK_DATABASE_THEN_CODE),
    (0.00, False, True, 0.95, Action.ROLLBACK_DATABASE_THEN_CODE),
    (0.66, False, False, 0.95, Action.QUICK_ROLLBACK),
    (0.00, False, False, 0.95, Action.QUICK_ROLLBACK),
    (0.80, False, False, 0.75, Action.MONITOR),  # a laxer threshold, configured
    (0.80, False, False, 1.00, Action.QUICK_ROLLBACK),  # a strict one
]


@pytest.mark.parametrize(("share", "config_only", "migrated", "most_users", "expected"), CASES)
def test_every_branch(
    share: float, config_only: bool, migrated: bool, most_users: float, expected: Action
) -> None:
    evidence = Evidence(
        passing_share=share, config_only=config_only, migrated=migrated, most_users=most_users
    )
    decision = decide(evidence)
    assert decision.action is expected
    assert decision.evidence == evidence
    assert f"{share:.0%}" in decision.reason
    assert decision.to_dict()["action"] == expected.value


def test_only_the_rollback_branches_roll_back() -> None:
    assert {a for a in Action if a.rolls_back} == {
        Action.ROLLBACK_DATABASE_THEN_CODE,
        Action.QUICK_ROLLBACK,
    }


def test_advice_names_the_command() -> None:
    decision = decide(Evidence(passing_share=0.0))
    assert decision.advice("staging") == "roll back the code: `wave rollback --env staging`"
