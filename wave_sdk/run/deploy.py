"""One deploy, as a journaled state machine.

:class:`DeployRun` carries out a :class:`~wave_sdk.run.plan.Plan`, one method per step::

    gate → approve → lock (journal begins) → migrate → signal → deploy each target
         → verify → finish                       (verified: the release is current)
                  ↘ decide → keep | leave | roll back (database first) → verify rollback

Each step that changes the world is written to the journal first
(:mod:`wave_sdk.run.journal`), and every way out of the locked part — success, a failure,
SIGINT or SIGTERM — closes the journal with exactly one history record. Only SIGKILL (or a
power cut) leaves it open, for :mod:`wave_sdk.run.recovery` to finish.
"""

from __future__ import annotations

import signal as signals_module
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import (
    AdapterError,
    ApprovalRequired,
    GateError,
    Interrupted,
    LockHeld,
    RollbackFailed,
    RollbackUnavailable,
    VerificationFailed,
    WaveError,
)
from wave_sdk.models import HistoryRecord, Release, new_deploy_id, utcnow
from wave_sdk.run import approve, boundary, interrupts
from wave_sdk.run.journal import Journal
from wave_sdk.run.report import DeployReport
from wave_sdk.run.restore import restore
from wave_sdk.signals import Changes, Signal
from wave_sdk.state import CurrentRelease
from wave_sdk.verification import Outcome, Verifier

if TYPE_CHECKING:
    from wave_sdk.adapter import Adapter
    from wave_sdk.decisions import Decision
    from wave_sdk.migrations import MigrationRun
    from wave_sdk.run.context import RunContext
    from wave_sdk.run.plan import Plan
    from wave_sdk.state import LockInfo


class DeployRun:
    """The deploy of ``plan.release`` to ``plan.environment``; :meth:`run` does it all."""

    def __init__(
        self,
        ctx: RunContext,
        plan: Plan,
        *,
        lock_wait: float = 0.0,
        allow_no_rollback: bool = False,
    ) -> None:
        self.ctx = ctx
        self.plan = plan
        self.environment = plan.environment
        self.env = ctx.config.environment(plan.environment)
        self.lock_wait = lock_wait
        self.allow_no_rollback = allow_no_rollback
        self.report = DeployReport(
            deploy_id=new_deploy_id(),
            environment=plan.environment,
            release=plan.release.id,
            commit=plan.release.commit,
            plan=plan,
        )
        # Adapters label what they create with it, so a container or a host's revision log
        # can be traced back to this run's history entry.
        self.release: Release = plan.release.model_copy(
            update={"metadata": {**plan.release.metadata, "deploy_id": self.report.deploy_id}}
        )
        self.started = utcnow()
        self.last: CurrentRelease | None = None
        self.adapters: dict[str, Adapter] = {}
        self.attempted: list[str] = []
        self.migration: MigrationRun | None = None
        self.journal = Journal(ctx.store, environment=self.environment, deploy_id=self.deploy_id)
        self.lock: LockInfo | None = None

    @property
    def deploy_id(self) -> str:
        return self.report.deploy_id

    def emit(self, kind: str, step: str, message: str, **data: Any) -> None:
        self.ctx.emit(kind, step, message, **data)

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> DeployReport:
        """Every step; returns the report of a verified (or degraded) deploy, else raises.

        Raises :class:`~wave_sdk.errors.GateError`, :class:`~wave_sdk.errors.ApprovalRequired`
        or :class:`~wave_sdk.errors.LockHeld` before anything changes;
        :class:`~wave_sdk.errors.VerificationFailed` or :class:`~wave_sdk.errors.AdapterError`
        after rolling back (or leaving the release, as the decision tree advised);
        :class:`~wave_sdk.errors.RollbackFailed` when the way back failed;
        :class:`~wave_sdk.errors.Interrupted` after SIGINT or SIGTERM.
        """
        with interrupts.handling():
            self.emit(
                "step",
                "plan",
                f"deploy {self.release.id} to {self.environment}: "
                + " → ".join(t["name"] for t in self.plan.targets)
                + (
                    f" (rollback target {self.plan.rollback_to})"
                    if self.plan.rollback_to
                    else " (first deploy: no release to roll back to)"
                ),
            )
            self.gate()
            self.take_lock()
            assert self.lock is not None
            try:
                self.locked()
            finally:
                self.ctx.store.release_lock(self.lock)
        return self.report

    def gate(self) -> None:
        """The checks, then the approvals: refused runs are recorded, nothing changes."""
        from wave_sdk.run.gate import run_checks

        self.emit("step", "gate", "running checks")
        self.report.checks = run_checks(self.ctx, self.environment, self.release)
        for result in self.report.checks:
            self.emit(
                "ok" if result.ok else "fail",
                "gate",
                f"{result.name}: {result.detail} ({result.duration_s:.1f}s)",
            )
        failed = [r for r in self.report.checks if not r.ok]
        if failed:
            self.report.outcome = "blocked"
            self.report.reason = f"checks failed: {', '.join(r.name for r in failed)}"
            self.ctx.store.append_history(self.record())
            tail = failed[0].output_tail.splitlines()[-3:]
            raise GateError(
                f"{self.report.reason}"
                + (f"; {failed[0].name}: {' | '.join(tail)}" if tail else "")
                + self.ctx.contacts(),
                results=self.report.checks,
                hint="fix them and deploy again",
            )

    def take_lock(self) -> None:
        """Approvals, the lock, and the journal's first entry.

        Approvals are asked before the lock: a run without them stops at once.
        """
        try:
            self.emit("step", "approve", "checking approvals")
            self.report.approval = approve.require(
                self.ctx, self.environment, "deploy", self.release
            )
            if self.release.has_migrations:
                approve.require(self.ctx, self.environment, "migration", self.release)
            self.emit("step", "lock", f"locking {self.environment}")
            self.lock = self.ctx.store.acquire_lock(
                self.environment,
                owner=self.ctx.deployer,
                deploy_id=self.deploy_id,
                ttl=self.ctx.config.state.lock_ttl,
                wait=self.lock_wait,
            )
        except (ApprovalRequired, LockHeld) as exc:
            # Refused before anything changed; still a run someone asked for: on record.
            self.report.outcome, self.report.reason = "blocked", exc.message
            self.ctx.store.append_history(self.record())
            raise

    def begin(self) -> None:
        """The journal's first entry: what a recovery needs to know about this run."""
        assert self.lock is not None
        self.last = self.ctx.store.current(self.environment)
        self.journal.write(
            "begin",
            release=self.release.id,
            kind="deploy",
            commit=self.release.commit,
            targets=[t["name"] for t in self.plan.targets],
            last=self.last.model_dump(mode="json") if self.last else None,
            holder=self.lock.model_dump(mode="json"),
            deployer=self.ctx.deployer,
            started_at=self.started.isoformat(),
            approved_by=self.report.approval.approved_by if self.report.approval else None,
            stories=list(self.release.stories),
            has_migrations=self.release.has_migrations,
        )

    def locked(self) -> None:
        """The steps under the lock; every exit closes the journal with one record."""
        try:
            with ExitStack() as stack:
                try:
                    self.begin()
                    for name in self.env.targets:
                        self.adapters[name] = stack.enter_context(
                            self.ctx.open_target(name, self.environment)
                        )
                    self.check_rollback_targets()
                    self.migrate()
                    self.signal("deployment-starting", "in_progress")
                    failure = self.deploy_targets()
                    outcome = None if failure else self.verify()
                    if outcome is not None and outcome.ok:
                        self.finish()
                        return
                    self.after_failure(outcome, failure)
                except interrupts.Abandoned:
                    raise
                except interrupts.InterruptSignal as exc:
                    self.interrupted(exc)
        except WaveError as exc:
            if self.journal.entries and not self.journal.closed:
                # Stopped before anything changed (an adapter that cannot open, a missing
                # rollback target, a failed migration that restored its database).
                self.report.outcome = "failed" if self.report.migration else "blocked"
                self.report.reason = self.report.reason or exc.message
                self.journal.close(self.record())
            raise

    # -- steps -----------------------------------------------------------------------------

    def check_rollback_targets(self) -> None:
        """Each target still has the release a rollback would return to."""
        last = self.last
        if last is None:
            self.emit(
                "info", "deploy", "first deploy of this environment: no release to roll back to"
            )
            return
        for name, adapter in self.adapters.items():
            wanted = last.targets.get(name, last.release)
            # A target that cannot answer (daemon down, host unreachable) stops the deploy
            # with its own error: it says nothing about whether the release is still there.
            try:
                kept = adapter.releases()
            except WaveError:
                raise
            except Exception as exc:
                raise AdapterError(
                    f"{name}: adapter {adapter.name!r}: releases() failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if wanted in kept:
                self.emit("ok", "deploy", f"{name}: rollback target {wanted} is on the target")
            elif self.allow_no_rollback:
                self.emit(
                    "warn",
                    "deploy",
                    f"{name}: rollback target {wanted} is missing; "
                    "continuing because of --allow-no-rollback",
                )
            else:
                raise RollbackUnavailable(
                    f"{name}: the release to roll back to ({wanted}) is no longer on the target",
                    hint="redeploy it first, or pass --allow-no-rollback to go without a way back",
                )

    def migrate(self) -> None:
        """Back up, then migrate (staging first for production), before the code deploys."""
        if not self.release.has_migrations:
            return
        from wave_sdk.migrations import MigrationRun

        run = MigrationRun.for_deploy(self.ctx.config, self.environment, reporter=self.ctx.reporter)
        self.migration = run
        self.emit("step", "migrate", run.describe())
        self.journal.write("migrate", order=list(run.order))

        def approve_step(name: str) -> None:
            self.journal.write(
                "migrating", database=name, record=run.record.model_dump(mode="json")
            )
            # The deployed environment's migration approval was obtained before the lock;
            # staging's migration is a step of that same approved procedure.
            if name != self.environment:
                self.emit("info", "migrate", f"{name}: part of the approved {self.environment} run")

        try:
            run.execute(verify=self._verify_environment, approve=approve_step)
        except WaveError as exc:
            self.report.migration = run.record.model_dump(mode="json")
            self.report.reason = f"migration failed: {exc.message}"
            raise
        self.report.migrated = True
        self.report.migration = run.record.model_dump(mode="json")
        self.journal.write("migrated", record=self.report.migration)

    def _verify_environment(self, environment: str) -> None:
        """One health round of every target of ``environment`` (staging after migrating)."""
        from wave_sdk.verification import health_round

        bad = []
        config = self.ctx.config.health_for(environment)
        for target in self.ctx.config.environment(environment).targets:
            with self.ctx.open_target(target, environment) as adapter:
                status = boundary.status(self.ctx.plugins, adapter)
                for r in health_round(self.ctx.plugins, adapter, config.base_url or status.url):
                    if not r.ok:
                        bad.append(f"{target} {r.source} {r.name}: {r.detail}")
        if bad:
            raise VerificationFailed(f"{environment} failed verification: {'; '.join(bad)}")
        self.emit("ok", "migrate", f"{environment} verified after migrating")

    def deploy_targets(self) -> WaveError | None:
        """Deploy to each target in order; stop at the first failure and return it."""
        self.emit("step", "deploy", f"deploying {self.release.id}")
        for name, adapter in self.adapters.items():
            self.journal.write("deploy", target=name, release=self.release.id)
            self.attempted.append(name)  # a failed deploy may have changed the target
            try:
                result = boundary.deploy(self.ctx.plugins, adapter, self.release)
            except WaveError as exc:
                self.emit("fail", "deploy", f"{name}: {exc}")
                self.report.reason = f"deploy failed: {exc.message}"
                return exc
            self.journal.write("deployed", target=name, release=self.release.id, url=result.url)
            self.report.deployed.append(result)
            self.emit("ok", "deploy", f"{name}: {result.message or 'deployed'}")
        return None

    def verify(self) -> Outcome:
        """Health rounds, smoke test, bake window; the figures go into the report."""
        self.journal.write("verify", release=self.release.id)
        outcome = Verifier(
            config=self.ctx.config,
            plugins=self.ctx.plugins,
            reporter=self.ctx.reporter,
            environment=self.environment,
        ).run(self.adapters, self.release.id, {r.target: r.url for r in self.report.deployed})
        self.report.health = outcome.health
        self.report.response_time_ms = outcome.response_time_ms
        self.report.smoke = outcome.smoke
        self.report.bake = outcome.bake
        self.report.reason = outcome.reason
        self.journal.write("verified", ok=outcome.ok, passing_share=outcome.passing_share)
        self.verification = outcome
        return outcome

    verification: Outcome | None = None

    def finish(self, *, status: str = "success") -> None:
        """Make the release current (the commit point), signal, record."""
        if status == "success":
            self.report.outcome = "succeeded"
        self.journal.commit(
            CurrentRelease(
                environment=self.environment,
                release=self.release.id,
                commit=self.release.commit,
                targets={r.target: r.release for r in self.report.deployed},
                deploy_id=self.deploy_id,
                deployed_at=utcnow(),
            )
        )
        self.signal("deployment-complete", status)
        self.journal.close(self.record())
        self.emit("ok", "finish", f"{self.release.id} is live in {self.environment}")

    # -- failures --------------------------------------------------------------------------

    def decide(self, outcome: Outcome | None, failure: WaveError | None) -> Decision:
        """The runbook's decision tree, from the evidence (a failed deploy rolls back)."""
        from wave_sdk import changes
        from wave_sdk.decisions import Action, Decision, Evidence, decide

        last = self.last
        files = changes.changed_files(
            self.ctx.config.root, last.commit if last else None, self.release.commit
        )
        self.report.config_only = changes.is_config_only(
            files, self.ctx.config.decisions.config_paths
        )
        share = outcome.passing_share if outcome is not None else None
        self.report.passing_share = 0.0 if share is None else round(share, 4)
        evidence = Evidence(
            passing_share=self.report.passing_share,
            config_only=self.report.config_only,
            migrated=self.report.migrated,
            most_users=self.ctx.config.decisions.most_users,
        )
        decision = decide(evidence)
        if failure is not None:
            # The deploy itself failed: nothing is serving "most users", whatever a
            # configuration-only diff suggests; undo it.
            action = (
                Action.ROLLBACK_DATABASE_THEN_CODE
                if self.report.migrated
                else Action.QUICK_ROLLBACK
            )
            decision = Decision(action, f"the deploy itself failed: {failure.message}", evidence)
        self.report.decision = decision.to_dict()
        self.journal.write("decide", action=decision.action.value)
        self.emit(
            "info",
            "decide",
            f"decision: {decision.action.value} — {decision.reason}",
            decision=self.report.decision,
        )
        return decision

    def after_failure(self, outcome: Outcome | None, failure: WaveError | None) -> None:
        """Act on the decision tree where the environment allows it; report it otherwise."""
        from wave_sdk.decisions import Action

        decision = self.decide(outcome, failure)
        advice = decision.advice(self.environment)
        if decision.action is Action.MONITOR and self.env.auto_rollback and failure is None:
            self.report.outcome = "degraded"
            self.emit(
                "warn", "finish", f"{self.release.id} stays live: {decision.reason}; {advice}"
            )
            self.finish(status="degraded")
            return
        if not self.env.auto_rollback or decision.action is Action.FIX_CONFIG:
            self.report.outcome = "failed"
            self.signal("deployment-complete", "failed")
            self.journal.close(self.record())
            why = "auto_rollback = false" if not self.env.auto_rollback else decision.reason
            raise VerificationFailed(
                f"{self.report.reason}; left in place ({why}); recommended: "
                f"{decision.action.value}" + self.ctx.contacts(),
                report=self.report,
                hint=advice,
            )
        database = decision.action is Action.ROLLBACK_DATABASE_THEN_CODE
        with interrupts.rolling_back():  # a rollback is never stopped half way
            problem = self.roll_back(database=database)
        summary = self.report.rollback_summary()
        if problem:
            raise RollbackFailed(
                f"{self.report.reason}; {problem}{summary}" + self.ctx.contacts(),
                hint="the target needs a human: check `wave status`",
            )
        if failure is not None:
            raise AdapterError(
                f"{failure.message}"
                + (summary or "; nothing to roll back to")
                + self.ctx.contacts(),
                hint=failure.hint,
            ) from failure
        raise VerificationFailed(
            f"{self.report.reason}; "
            + (summary.lstrip("; ") or "nothing to roll back to (first deploy)")
            + self.ctx.contacts(),
            rollback=self.report.rollbacks[0] if self.report.rollbacks else None,
            report=self.report,
        )

    def roll_back(self, *, database: bool, outcome: str | None = None) -> str | None:
        """Undo the run: database, targets, verification, then signal and record.

        The database first (when asked and migrated), then every target this run touched,
        then verify the release returned to. Returns what went wrong, or ``None``.
        """
        problem = None
        if self.migration is not None and (database or outcome == "interrupted"):
            problem = self._roll_back_database()
        last = self.last
        restored = None
        if problem is None:
            if last is None:
                self.emit("warn", "rollback", "first deploy: no earlier release to roll back to")
            goals: dict[str, str | None] = (
                {t: last.targets.get(t, last.release) for t in self.attempted} if last else {}
            )
            restored = restore(
                self.ctx,
                self.journal,
                self.environment,
                self.adapters,
                goals,
                release_id=last.release if last else None,
            )
            self.report.rollbacks = restored.rollbacks
            self.report.unchanged = restored.unchanged
            if restored.verification is not None:
                self.report.rollback_verification = restored.verification.to_dict()
            if not restored.ok:
                problem = restored.problem()
        if outcome is not None:
            self.report.outcome = outcome
        elif problem is not None or not self.report.rollbacks:
            self.report.outcome = "failed"
        else:
            self.report.outcome = "rolled_back"
        if self.report.rollbacks or problem is not None:
            self.signal(
                "rollback-complete",
                "failed" if problem else "success",
                verification=restored.verification.signal()
                if restored and restored.verification
                else None,
            )
        else:
            self.signal("deployment-complete", "failed")
        self.journal.close(self.record())
        return problem

    def _roll_back_database(self) -> str | None:
        """Undo this run's migration (and restore one it was in the middle of)."""
        from wave_sdk.run.database import undo_recorded

        assert self.migration is not None
        record = self.migration.record.model_dump(mode="json")
        migrating = self.journal.last("migrating")
        partial = migrating.data.get("database") if migrating else None
        try:
            undo_recorded(self.ctx, record, partial=partial if not self.report.migrated else None)
        except WaveError as exc:
            self.report.migration = record
            return (
                f"database rollback failed, code left on {self.release.id}: {exc.message}; "
                "restore the database by hand (see the backup in `wave history --json`)"
            )
        record["rolled_back"] = [
            *record.get("rolled_back", []),
            {"environment": self.environment, "method": "recorded", "duration_s": 0.0},
        ]
        self.report.migration = record
        return None

    def interrupted(self, exc: interrupts.InterruptSignal) -> None:
        """SIGINT/SIGTERM: a failed run — roll back what changed, verify, record, raise."""
        name = signals_module.Signals(exc.signum).name
        self.report.reason = f"interrupted by {name}"
        self.emit("fail", "finish", f"{name}: stopping; rolling back what this run changed")
        with interrupts.rolling_back():
            changed = bool(self.attempted) or self.journal.last("migrate") is not None
            if changed:
                problem = self.roll_back(database=True, outcome="interrupted")
            else:
                problem = None
                self.report.outcome = "interrupted"
                self.journal.close(self.record())
        summary = self.report.rollback_summary() or "; nothing had changed"
        if problem:
            raise RollbackFailed(
                f"{self.report.reason}; {problem}{summary}" + self.ctx.contacts(),
                hint="the target needs a human: check `wave status`",
            )
        raise Interrupted(
            f"{self.report.reason}{summary}",
            exit_code=exc.exit_code,
            report=self.report,
        )

    # -- records ---------------------------------------------------------------------------

    def signal(self, kind: Any, status: str, **extra: Any) -> None:
        last = self.last
        fields: dict[str, Any] = {}
        if kind == "deployment-complete":
            fields["verification"] = self.verification.signal() if self.verification else None
        if kind == "rollback-complete":
            fields.update(
                rolled_back_from=self.release.commit,
                rolled_back_to=last.commit if last else None,
                rolled_back_from_release=self.release.id,
                rolled_back_to_release=last.release if last else None,
                reason=self.report.reason,
                rolled_back_targets=[r.target for r in self.report.rollbacks],
            )
        fields.update(extra)
        path = self.ctx.signal(
            Signal(
                signal_type=kind,
                environment=self.environment,
                commit=self.release.commit,
                status=status,
                deployer=self.ctx.deployer,
                changes=Changes(
                    stories=list(self.release.stories),
                    has_migrations=self.release.has_migrations,
                ),
                project=self.ctx.config.project.name,
                release=self.release.id,
                deploy_id=self.deploy_id,
                targets=[t["name"] for t in self.plan.targets],
                contacts=self.ctx.config.project.contacts,
                **fields,
            )
        )
        self.report.signals.append(str(path))

    def record(self) -> HistoryRecord:
        """The run's history record, as the report stands."""
        report = self.report
        rollback = report.rollbacks[0] if report.rollbacks else None
        return HistoryRecord(
            deploy_id=report.deploy_id,
            kind="deploy",
            environment=report.environment,
            targets=tuple(t["name"] for t in report.plan.targets),
            release=report.release,
            commit=report.commit,
            outcome=report.outcome,
            started_at=self.started,
            deployer=self.ctx.deployer,
            approved_by=report.approval.approved_by if report.approval else None,
            rolled_back_from=rollback.from_release if rollback else None,
            rolled_back_to=rollback.to_release if rollback else None,
            reason=(report.reason or "")
            + (
                f"; {', '.join(report.unchanged)} unchanged (the deploy changed nothing there)"
                if report.unchanged
                else ""
            )
            or None,
            verification={
                "response_time_ms": report.response_time_ms,
                "smoke_tests": report.smoke,
                "bake": report.bake,
                "passing_share": report.passing_share,
                "config_only": report.config_only,
                "migrated": report.migrated,
                "decision": report.decision,
                "rollback": report.rollback_verification,
                "changed": bool(report.rollbacks) or not report.unchanged,
            },
            migration=report.migration,
        )
