"""What a deploy run does when it fails: the decide step and what follows it.

The runbook does not roll back every failure; it asks first (:mod:`wave_sdk.decisions`).
:meth:`Failure.act` walks the tree and keeps the release (``degraded``), leaves it in place
for a fix, or rolls back — the database first when the run migrated — then verifies the
release it returned to. :meth:`Failure.interrupted` is the same way back for SIGINT and
SIGTERM. Either way the run's journal is closed by exactly one history record.
"""

from __future__ import annotations

import signal as signals_module
from typing import TYPE_CHECKING

from wave_sdk import changes, procs
from wave_sdk.decisions import Action, Decision, Evidence, decide
from wave_sdk.errors import (
    AdapterError,
    Interrupted,
    MigrationError,
    RollbackFailed,
    VerificationFailed,
    WaveError,
)
from wave_sdk.run import interrupts
from wave_sdk.run.database import undo_recorded
from wave_sdk.run.restore import restore

if TYPE_CHECKING:
    from wave_sdk.contacts import Failure as FailureKind
    from wave_sdk.run.deploy import DeployRun
    from wave_sdk.verification import Outcome


class Failure:
    """The failure handling of one :class:`~wave_sdk.run.deploy.DeployRun`."""

    def __init__(self, run: DeployRun) -> None:
        self.run = run

    def decide(self, outcome: Outcome | None, failure: WaveError | None) -> Decision:
        """The runbook's decision tree, from the evidence (a failed deploy rolls back)."""
        run = self.run

        last = run.last
        files = changes.changed_files(
            run.ctx.config.root, last.commit if last else None, run.release.commit
        )
        run.report.config_only = changes.is_config_only(
            files, run.ctx.config.decisions.config_paths
        )
        share = outcome.passing_share if outcome is not None else None
        run.report.passing_share = 0.0 if share is None else round(share, 4)
        evidence = Evidence(
            passing_share=run.report.passing_share,
            config_only=run.report.config_only,
            migrated=run.report.migrated,
            most_users=run.ctx.config.decisions.most_users,
        )
        decision = decide(evidence)
        if failure is not None:
            # The deploy itself failed: nothing is serving "most users", whatever a
            # configuration-only diff suggests; undo it.
            action = (
                Action.ROLLBACK_DATABASE_THEN_CODE if run.report.migrated else Action.QUICK_ROLLBACK
            )
            decision = Decision(action, f"the deploy itself failed: {failure.message}", evidence)
        run.report.decision = decision.to_dict()
        run.journal.write("decide", action=decision.action.value, reason=run.report.reason)
        run.emit(
            "info",
            "decide",
            f"decision: {decision.action.value} — {decision.reason}",
            decision=run.report.decision,
        )
        return decision

    def act(self, outcome: Outcome | None, failure: WaveError | None) -> None:
        """Act on the decision tree where the environment allows it; report it otherwise."""
        run = self.run

        decision = self.decide(outcome, failure)
        advice = decision.advice(run.environment)
        migrated = bool(run.report.migrated)
        if decision.action is Action.MONITOR and run.env.auto_rollback and failure is None:
            run.report.outcome = "degraded"
            run.emit("warn", "finish", f"{run.release.id} stays live: {decision.reason}; {advice}")
            run.finish(status="degraded")
            return
        if not run.env.auto_rollback or decision.action is Action.FIX_CONFIG:
            run.report.outcome = "failed"
            run.signal("deployment-complete", "failed")
            run.journal.close(run.record())
            why = "auto_rollback = false" if not run.env.auto_rollback else decision.reason
            raise VerificationFailed(
                f"{run.report.reason}; left in place ({why}); recommended: "
                f"{decision.action.value}" + run.ctx.contacts(database=migrated),
                report=run.report,
                hint=advice,
            )
        database = decision.action is Action.ROLLBACK_DATABASE_THEN_CODE
        with interrupts.rolling_back():  # a rollback is never stopped half way
            problem = self.roll_back(database=database)
        summary = run.report.rollback_summary()
        if problem:
            raise RollbackFailed(
                f"{run.report.reason}; {problem}{summary}"
                + run.ctx.contacts("rollback", database=migrated),
                hint="the target needs a human: check `wave status`",
            )
        if failure is not None:
            kind: FailureKind = "database" if isinstance(failure, MigrationError) else "platform"
            raise AdapterError(
                f"{failure.message}"
                + (summary or "; nothing to roll back to")
                + run.ctx.contacts(kind, database=migrated),
                hint=failure.hint,
            ) from failure
        raise VerificationFailed(
            f"{run.report.reason}; "
            + (summary.lstrip("; ") or "nothing to roll back to (first deploy)")
            + run.ctx.contacts(database=migrated or database),
            rollback=run.report.rollbacks[0] if run.report.rollbacks else None,
            report=run.report,
        )

    def roll_back(self, *, database: bool, outcome: str | None = None) -> str | None:
        """Undo the run: database, targets, verification, then signal and record.

        The database first (when asked and migrated), then every target this run touched,
        then verify the release returned to. Returns what went wrong, or ``None``.
        """
        run = self.run
        problem = None
        if run.migration is not None and (database or outcome == "interrupted"):
            problem = self._roll_back_database()
        last = run.last
        restored = None
        if problem is None:
            if last is None:
                run.emit("warn", "rollback", "first deploy: no earlier release to roll back to")
            goals: dict[str, str | None] = (
                {t: last.targets.get(t, last.release) for t in run.attempted} if last else {}
            )
            restored = restore(
                run.ctx,
                run.journal,
                run.environment,
                run.adapters,
                goals,
                release_id=last.release if last else None,
            )
            run.report.rollbacks = restored.rollbacks
            run.report.unchanged = restored.unchanged
            if restored.verification is not None:
                run.report.rollback_verification = restored.verification.to_dict()
            if not restored.ok:
                problem = restored.problem()
        if outcome is not None:
            run.report.outcome = outcome
        elif problem is not None or last is None:
            run.report.outcome = "failed"
        else:  # every target is on the release before: rolled back, or never left it
            run.report.outcome = "rolled_back"
        if run.report.rollbacks or problem is not None:
            run.signal(
                "rollback-complete",
                "failed" if problem else "success",
                verification=restored.verification.signal()
                if restored and restored.verification
                else None,
            )
        else:
            run.signal("deployment-complete", "failed")
        run.journal.close(run.record())
        return problem

    def _roll_back_database(self) -> str | None:
        """Undo this run's migration; one stopped half way is restored from its backup."""
        run = self.run
        migration = run.migration
        assert migration is not None
        try:
            if run.report.migrated:
                migration.roll_back()  # records what it did in the migration record
            else:
                migrating = run.journal.last("migrating")
                undo_recorded(
                    run.ctx,
                    migration.record.model_dump(mode="json"),
                    partial=migrating.data.get("database") if migrating else None,
                )
        except WaveError as exc:
            return (
                f"database rollback failed, code left on {run.release.id}: {exc.message}; "
                "restore the database by hand (see the backup in `wave history --json`)"
            )
        finally:
            run.report.migration = migration.record.model_dump(mode="json")
        return None

    def interrupted(self, exc: interrupts.InterruptSignal) -> None:
        """SIGINT/SIGTERM: a failed run — roll back what changed, verify, record, raise."""
        run = self.run
        name = signals_module.Signals(exc.signum).name
        if run.journal.closed:  # it came as the run finished: nothing left to undo
            run.emit("warn", "finish", f"{name} arrived once the run was recorded; nothing undone")
            return
        # Commands other threads of the step were waiting on (a check, a fan-out) stop now.
        procs.end_all()
        prior = run.report.reason  # a verification that had failed already, say
        lost = run.heartbeat.lost if run.heartbeat else None
        why = f"stopped: {lost}" if lost else f"interrupted by {name}"
        run.report.reason = (f"{prior}; " if prior else "") + why
        run.emit("fail", "finish", f"{name}: stopping; rolling back what this run changed")
        with interrupts.rolling_back():
            changed = bool(run.attempted) or run.journal.last("migrate") is not None
            if changed:
                problem = self.roll_back(database=True, outcome="interrupted")
            else:
                problem = None
                run.report.outcome = "interrupted"
                run.journal.close(run.record())
        summary = run.report.rollback_summary() or "; nothing had changed"
        if problem:
            raise RollbackFailed(
                f"{run.report.reason}; {problem}{summary}"
                + run.ctx.contacts("rollback", database=bool(run.report.migrated)),
                hint="the target needs a human: check `wave status`",
            )
        raise Interrupted(
            f"{run.report.reason}{summary}",
            exit_code=exc.exit_code,
            report=run.report,
        )
