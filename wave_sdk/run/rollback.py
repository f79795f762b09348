"""``wave rollback``: return an environment to an earlier release, as a journaled run.

:class:`RollbackRun` picks the release (``--to``, else the last one that passed
verification before the current one, from the history), asks for the rollback approval,
takes the lock and opens its journal, rolls the database back first when the live release
migrated it (the runbook's order), returns every target (last first) and verifies the
release it returned to. Only a verified rollback makes that release current; one whose
verification fails exits 8 naming the contacts: a human is needed.

While it runs, a first SIGINT or SIGTERM is refused with a message (a rollback stopped
half way is the state a rollback exists to end); a second abandons it, leaving the journal
for ``wave recover``.
"""

from __future__ import annotations

from contextlib import ExitStack

from wave_sdk import ledger
from wave_sdk.errors import ReleaseNotFound, RollbackFailed, RollbackUnavailable, UsageError
from wave_sdk.models import (
    HistoryRecord,
    Release,
    RollbackResult,
    StatusReport,
    new_deploy_id,
    utcnow,
)
from wave_sdk.run import approve, interrupts
from wave_sdk.run.context import RunContext
from wave_sdk.run.journal import Journal
from wave_sdk.run.restore import Restored, restore
from wave_sdk.signals import Signal
from wave_sdk.state import CurrentRelease


class RollbackRun:
    """One rollback of ``environment`` (to ``to``, or the release before the current)."""

    def __init__(
        self,
        ctx: RunContext,
        environment: str,
        *,
        to: str | None = None,
        reason: str | None = None,
        lock_wait: float = 0.0,
    ) -> None:
        self.ctx = ctx
        self.environment = environment
        self.env = ctx.config.environment(environment)
        self.to = to
        self.reason = reason or "manual rollback"
        self.lock_wait = lock_wait
        self.deploy_id = new_deploy_id()
        self.started = utcnow()
        self.journal = Journal(ctx.store, environment=environment, deploy_id=self.deploy_id)

    @classmethod
    def resume(cls, ctx: RunContext, journal: Journal, why: str) -> list[RollbackResult]:
        """Finish an interrupted rollback from its journal (recovery calls it, under the lock).

        The database step is not repeated when the journal shows it had started.
        """
        begin = journal.begin
        run = cls(ctx, begin.environment, reason=f"{begin.data.get('reason')}; {why}")
        run.deploy_id, run.journal = journal.deploy_id, journal
        live = begin.data.get("live")
        return run.locked(
            begin.release,
            str(live) if live else None,
            undo_database=journal.last("migrate") is None,
        )

    def run(self) -> list[RollbackResult]:
        """Roll back; return each target's result (last target first)."""
        from wave_sdk.config import validate_sections

        validate_sections(self.ctx.config, self.ctx.plugins)  # before anything changes
        store = self.ctx.store
        with interrupts.handling():
            last = store.current(self.environment)
            records = store.history(self.environment)
            live = ledger.live_release(records, last.release if last else None)
            if self.to is not None and self.to == live and self._everywhere(self.to):
                raise UsageError(
                    f"{self.to} is already the current release of {self.environment}",
                    hint="name an earlier release with --to (see `wave status`)",
                )
            current = last.release if last else None
            goal = self.to or ledger.rollback_goal(records, self.environment, current)[0]
            if goal is None and last is None and not records and self._nothing_deployed():
                # Before any approval is asked for: there is nothing it could cover.
                raise RollbackUnavailable(
                    f"nothing has been deployed to {self.environment} yet: there is no "
                    "release to roll back to",
                    hint=f"deploy one first (wave deploy --env {self.environment})",
                )
            approve.require(self.ctx, self.environment, "rollback", Release(id=goal or "previous"))
            lock = store.acquire_lock(
                self.environment,
                owner=self.ctx.deployer,
                deploy_id=self.deploy_id,
                ttl=self.ctx.config.state.lock_ttl,
                wait=self.lock_wait,
            )
            try:
                with interrupts.rolling_back():
                    self.journal.write(
                        "begin",
                        release=goal,
                        kind="rollback",
                        live=live,
                        targets=list(self.env.targets),
                        holder=lock.model_dump(mode="json"),
                        deployer=self.ctx.deployer,
                        started_at=self.started.isoformat(),
                        reason=self.reason,
                    )
                    return self.locked(goal, live)
            except interrupts.Abandoned as exc:
                exc.environment = self.environment
                raise
            finally:
                store.release_lock(lock)

    def _nothing_deployed(self) -> bool:
        """Whether no target runs or keeps any release (never deployed, by wave or by hand)."""
        return all(
            live is not None and live.current is None and not live.releases
            for live in self._lives()
        )

    def _everywhere(self, release: str) -> bool:
        """Whether every target runs ``release`` now (the record may say so wrongly)."""
        return all(
            live is not None and (live.current, live.state) == (release, "running")
            for live in self._lives()
        )

    def _lives(self) -> list[StatusReport | None]:
        """Each target's brief status (``None``: it cannot say)."""
        from wave_sdk.run import boundary

        lives = []
        for name in self.env.targets:
            with self.ctx.open_target(name, self.environment) as adapter:
                lives.append(boundary.live(self.ctx.plugins, adapter))
        return lives

    def locked(
        self, goal: str | None, live: str | None, *, undo_database: bool = True
    ) -> list[RollbackResult]:
        records = self.ctx.store.history(self.environment)
        why = self.reason
        migration = ledger.migration_to_undo(records, self.environment, live)
        if not undo_database:
            migration = None
        if migration is not None:
            from wave_sdk.run.database import undo_recorded

            self.journal.write("migrate", order=[self.environment], undo=True)
            try:
                done = undo_recorded(self.ctx, migration)
            except RollbackFailed as exc:
                self._close(None, Restored(errors=[exc.message]), why, live, goal)
                raise
            if done:
                why += f"; database rolled back first ({', '.join(done)})"
        with ExitStack() as stack:
            adapters = {
                name: stack.enter_context(self.ctx.open_target(name, self.environment))
                for name in self.env.targets
            }
            restored = restore(
                self.ctx,
                self.journal,
                self.environment,
                adapters,
                dict.fromkeys(self.env.targets, goal),
                release_id=goal,
                verify=True,  # also when every target already ran it: it becomes current
            )
        first = restored.rollbacks[0] if restored.rollbacks else None
        returned = first.to_release if first else goal
        self._close(returned, restored, why, live, goal)
        refused = [
            e for e in restored.exceptions if isinstance(e, ReleaseNotFound | RollbackUnavailable)
        ]
        if refused and not restored.rollbacks:
            raise refused[0]  # nothing changed: the release is not there to return to
        if not restored.ok:
            raise RollbackFailed(
                f"{self.environment}: {restored.problem()}" + self.ctx.contacts("rollback"),
                hint="the target needs a human: check `wave status`",
            )
        return restored.rollbacks

    def _close(
        self,
        returned: str | None,
        restored: Restored,
        why: str,
        live: str | None,
        goal: str | None,
    ) -> None:
        """Commit (only a verified rollback), signal, record: the journal's end."""
        records = self.ctx.store.history(self.environment)
        ok = restored.ok and returned is not None
        if ok:
            assert returned is not None
            self.journal.commit(
                CurrentRelease(
                    environment=self.environment,
                    release=returned,
                    commit=ledger.commit_of(records, returned),
                    targets={r.target: r.to_release for r in restored.rollbacks}
                    or dict.fromkeys(self.env.targets, returned),
                    deploy_id=self.deploy_id,
                    deployed_at=utcnow(),
                )
            )
        else:
            why += f"; {restored.problem()}"
        verification = restored.verification
        self.ctx.signal(
            Signal(
                signal_type="rollback-complete",
                environment=self.environment,
                commit=ledger.commit_of(records, returned),
                status="success" if ok else "failed",
                deployer=self.ctx.deployer,
                verification=verification.signal() if verification else None,
                rolled_back_from=ledger.commit_of(records, live),
                rolled_back_to=ledger.commit_of(records, returned),
                rolled_back_from_release=live,
                rolled_back_to_release=returned,
                reason=why,
                project=self.ctx.config.project.name,
                release=returned,
                deploy_id=self.deploy_id,
                targets=list(self.env.targets),
                rolled_back_targets=[r.target for r in restored.rollbacks],
                **self.ctx.config.project.contacts.for_signal(),
                url=self.ctx.config.health_for(self.environment).base_url,
            )
        )
        first = restored.rollbacks[0] if restored.rollbacks else None
        self.journal.close(
            HistoryRecord(
                deploy_id=self.deploy_id,
                kind="rollback",
                environment=self.environment,
                targets=tuple(r.target for r in restored.rollbacks) or tuple(self.env.targets),
                release=returned or goal,
                commit=ledger.commit_of(records, returned),
                outcome="succeeded" if ok else "failed",
                started_at=self.started,
                deployer=self.ctx.deployer,
                rolled_back_from=first.from_release if first else live,
                rolled_back_to=returned,
                reason=why,
                verification={"rollback": verification.to_dict() if verification else None},
            )
        )
