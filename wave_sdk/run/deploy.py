"""One deploy, as a journaled state machine.

:class:`DeployRun` carries out a :class:`~wave_sdk.run.plan.Plan`, one method per step::

    gate → approve → lock (journal begins) → migrate → signal → deploy each target
         → verify → finish                       (verified: the release is current)
                  ↘ decide → keep | leave | roll back (database first) → verify rollback

The migrate step is :mod:`wave_sdk.run.migrate`; what follows a failure (decide, keep,
leave or roll back, and SIGINT/SIGTERM) is :mod:`wave_sdk.run.failure`.

Each step that changes the world is written to the journal first
(:mod:`wave_sdk.run.journal`), and every way out of the locked part — success, a failure,
SIGINT or SIGTERM — closes the journal with exactly one history record. Only SIGKILL (or a
power cut) leaves it open, for :mod:`wave_sdk.run.recovery` to finish.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import (
    AdapterError,
    ApprovalRequired,
    GateError,
    LockHeld,
    RollbackUnavailable,
    WaveError,
    problem,
)
from wave_sdk.models import HistoryRecord, Release, new_deploy_id, utcnow
from wave_sdk.run import approve, boundary, interrupts
from wave_sdk.run.failure import Failure
from wave_sdk.run.heartbeat import Heartbeat
from wave_sdk.run.journal import Journal
from wave_sdk.run.report import DeployReport
from wave_sdk.signals import Changes, Signal, SignalType
from wave_sdk.state import CurrentRelease
from wave_sdk.verification import Outcome, Verifier

if TYPE_CHECKING:
    from wave_sdk.adapter import Adapter
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
            digest=plan.release.digest,
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
        self.heartbeat: Heartbeat | None = None

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
            heartbeat = self.heartbeat = Heartbeat(
                self.ctx.store,
                self.lock,
                self.ctx.config.state.lock_ttl,
                on_retry=lambda line: self.emit("warn", "lock", line),
            )
            try:
                with heartbeat:
                    self.locked()
            except interrupts.Abandoned as exc:
                exc.environment = self.environment
                raise
            finally:
                self.release_lock(heartbeat.lock)
        return self.report

    def release_lock(self, lock: LockInfo) -> None:
        """Release the run's lock; a store that fails now must not hide how the run ended."""
        try:
            self.ctx.store.release_lock(lock)
        except Exception as exc:  # the run's own outcome (or error) is what the user needs
            self.emit(
                "warn",
                "lock",
                f"could not release the lock ({problem(exc)}): it expires at "
                f"{lock.expires_at:%H:%M:%S}Z, or `wave unlock --env {self.environment}` "
                "breaks it",
            )

    def gate(self) -> None:
        """The checks; a failure is recorded as ``blocked`` and nothing changes."""
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
                + self.ctx.contacts("checks"),
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
            digest=self.release.digest,
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
                    outcome = None
                    if failure is None:
                        try:
                            outcome = self.verify()
                        except WaveError as exc:  # verification could not even run
                            failure = exc
                    if outcome is not None and outcome.ok:
                        self.finish()
                        return
                    Failure(self).act(outcome, failure)
                except interrupts.Abandoned:
                    raise
                except interrupts.InterruptSignal as exc:
                    Failure(self).interrupted(exc)
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
        if self.release.has_migrations:
            from wave_sdk.run.migrate import migrate

            migrate(self)

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
        ).run(
            self.adapters,
            self.release.id,
            {r.target: r.url for r in self.report.deployed},
            since=self.started,
        )
        self.report.health = outcome.health
        self.report.response_time_ms = outcome.response_time_ms
        self.report.smoke = outcome.smoke
        self.report.application_loads = outcome.page
        self.report.bake = outcome.bake
        self.report.reason = outcome.reason
        self.journal.write(
            "verified", ok=outcome.ok, passing_share=outcome.passing_share, reason=outcome.reason
        )
        self.verification = outcome
        return outcome

    verification: Outcome | None = None

    def finish(self, *, status: str = "success") -> None:
        """Make the release current (the commit point), signal, record.

        Past the ``commit`` entry nothing is undone: a signal that arrives now waits until
        the record is written (the run then ends as it would have).
        """
        if status == "success":
            self.report.outcome = "succeeded"
        with interrupts.shielded():
            self._finish(status)

    def _finish(self, status: str) -> None:
        self.journal.commit(
            CurrentRelease(
                environment=self.environment,
                release=self.release.id,
                commit=self.release.commit,
                digest=self.release.digest,
                targets={r.target: r.release for r in self.report.deployed},
                deploy_id=self.deploy_id,
                deployed_at=utcnow(),
            )
        )
        self.signal("deployment-complete", status)
        self.journal.close(self.record())
        self.emit("ok", "finish", f"{self.release.id} is live in {self.environment}")

    # -- records ---------------------------------------------------------------------------

    def signal(self, kind: SignalType, status: str, **extra: Any) -> None:
        last = self.last
        fields: dict[str, Any] = {}
        if kind == "deployment-complete":
            fields["verification"] = self.verification.signal() if self.verification else None
            if status != "success":  # a failed or degraded run says why, as a rollback does
                fields["reason"] = self.report.reason
        if kind == "rollback-complete":
            fields.update(
                rolled_back_from=self.release.commit,
                rolled_back_to=last.commit if last else None,
                rolled_back_from_release=self.release.id,
                rolled_back_to_release=last.release if last else None,
                reason=self.report.reason,
                rolled_back_targets=[r.target for r in self.report.rollbacks],
            )
        fields["url"] = self.ctx.config.health_for(self.environment).base_url or next(
            (r.url for r in self.report.deployed if r.url), None
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
                digest=self.release.digest,
                deploy_id=self.deploy_id,
                targets=[t["name"] for t in self.plan.targets],
                **self.ctx.config.project.contacts.for_signal(),
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
            digest=report.digest,
            outcome=report.outcome,
            started_at=self.started,
            deployer=self.ctx.deployer,
            approved_by=report.approval.approved_by if report.approval else None,
            rolled_back_from=rollback.from_release if rollback else None,
            rolled_back_to=rollback.to_release if rollback else None,
            reason=(report.reason or "")
            + (
                f"; {', '.join(report.unchanged)} already on the release before "
                "(nothing to roll back)"
                if report.unchanged
                else ""
            )
            or None,
            verification={
                "response_time_ms": report.response_time_ms,
                "smoke_tests": report.smoke,
                "application_loads": report.application_loads,
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
