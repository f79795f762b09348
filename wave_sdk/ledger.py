"""What the history ledger says about an environment: pure functions over its records.

The state store keeps the records (:class:`~wave_sdk.models.HistoryRecord`, oldest first);
these functions answer the questions a rollback asks of them — is a failed release still
live, which release came before the current one, did the live release migrate a database —
without touching a target. Keeping them here, apart from the pipeline, makes each rule
testable on a list of records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wave_sdk.errors import RollbackUnavailable
from wave_sdk.models import HistoryRecord


def stranded(records: Sequence[HistoryRecord]) -> HistoryRecord | None:
    """The last deploy, if it failed and was left on the target (not rolled back).

    That happens when the decision tree said "fix the configuration", when
    ``auto_rollback`` is off, or on a first deploy with nothing to return to.
    """
    for record in reversed(records):
        if record.kind == "rollback":
            return None
        if record.kind == "deploy" and record.outcome != "blocked":
            return record if record.outcome == "failed" and not record.rolled_back_to else None
    return None


def commit_of(records: Sequence[HistoryRecord], release: str | None) -> str | None:
    """The commit ``release`` was deployed from, as its latest deploy record says."""
    for record in reversed(records):
        if record.kind == "deploy" and record.release == release and record.commit:
            return record.commit
    return None


def good_before(records: Sequence[HistoryRecord], environment: str, current: str) -> str | None:
    """The release deployed successfully before ``current``.

    ``None`` when history cannot tell (``current`` has no successful deploy record); the
    adapter then picks its own previous release. A release that failed verification is
    never an answer, even if the target still keeps it.

    Raises:
        RollbackUnavailable: ``current`` is the first release that ever passed.

    """
    # A degraded release (kept live: "working for most users") is current like a succeeded
    # one; only a release that passed verification cleanly is a place to go back to.
    deploys = [r for r in records if r.kind == "deploy" and r.outcome in ("succeeded", "degraded")]
    positions = [i for i, r in enumerate(deploys) if r.release == current]
    if not positions:
        return None
    for record in reversed(deploys[: positions[-1]]):
        if record.outcome == "succeeded" and record.release and record.release != current:
            return record.release
    raise RollbackUnavailable(
        f"no release passed verification in {environment} before {current}",
        hint="name one with --to (see `wave history`)",
    )


def rollback_goal(
    records: Sequence[HistoryRecord], environment: str, current: str | None
) -> tuple[str | None, str]:
    """Where a rollback without an explicit release goes, and why (for ``--plan``).

    ``current`` is the environment's last good release (the state store's). If a failed
    release was left live, that last good release is the goal; otherwise the one before it.
    """
    left = stranded(records)
    if left is not None and current is not None and left.release != current:
        return current, f"the last good release ({left.release} failed and is live)"
    goal = good_before(records, environment, current) if current else None
    if goal:
        return goal, "the release deployed before the current one"
    return None, "the adapter's previous release (history has no earlier deploy)"


def live_release(records: Sequence[HistoryRecord], current: str | None) -> str | None:
    """The release running now: a stranded failed one, else the last good one."""
    left = stranded(records)
    return left.release if left is not None else current


def migration_to_undo(
    records: Sequence[HistoryRecord], environment: str, release: str | None
) -> dict[str, Any] | None:
    """The migration record of ``release``'s deploy, if its migration still stands.

    That is: the deploy migrated ``environment``'s database and nothing rolled it back since.
    """
    if release is None:
        return None
    record = next(
        (
            r
            for r in reversed(records)
            if r.kind == "deploy" and r.release == release and r.migration
        ),
        None,
    )
    if record is None or record.migration is None:
        return None
    undone = {d.get("environment") for d in record.migration.get("rolled_back", [])}
    if environment not in record.migration.get("migrated", []) or environment in undone:
        return None
    return record.migration
