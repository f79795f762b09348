"""Finding and finishing runs that died: the journal's reader.

A run whose process was killed (SIGKILL, a crash, a power cut) leaves its journal open with
its holder gone. Every command that opens an environment calls :func:`find`; ``status``,
``health`` and ``history`` print :meth:`DeadRun.notice`, and ``deploy``, ``rollback``
and ``wave recover`` call :func:`recover` before doing anything else, which reconciles:

* the run had committed (the environment's current release is its own): only its history
  record and its last signal were missing — write them;
* an interrupted **deploy**: the database first when the journal shows a migration, then
  every target it touched back to the last verified release (a target that still runs it
  is left alone), verify, record the run as ``interrupted`` and signal ``rollback-complete``;
* an interrupted **rollback**: finish it — every target to the release it was returning
  to, verify, and only then make that release current.

A journal whose run already has its history record was closed by a crash between the two
writes: it is simply closed.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wave_sdk.errors import RollbackFailed, WaveError
from wave_sdk.models import HistoryRecord, JournalEntry, new_deploy_id
from wave_sdk.run import interrupts
from wave_sdk.run.context import RunContext
from wave_sdk.run.journal import Journal
from wave_sdk.run.restore import Restored, restore
from wave_sdk.signals import Changes, Signal, SignalType
from wave_sdk.state import CurrentRelease, LockInfo


@dataclass(frozen=True)
class DeadRun:
    """An open journal: a run that did not finish, and whether its holder is gone."""

    entries: tuple[JournalEntry, ...]
    dead: bool

    @property
    def begin(self) -> JournalEntry:
        return self.entries[0]

    @property
    def deploy_id(self) -> str:
        return self.begin.deploy_id

    @property
    def kind(self) -> str:
        return str(self.begin.data.get("kind", "deploy"))

    @property
    def holder(self) -> LockInfo:
        return LockInfo.model_validate(self.begin.data["holder"])

    def summary(self) -> dict[str, object]:
        """The run for ``--json``: what, which release, the step it died at, its holder."""
        last = self.entries[-1]
        return {
            "deploy_id": self.deploy_id,
            "kind": self.kind,
            "release": self.begin.release,
            "step": last.step,
            "target": last.target,
            "pid": self.holder.pid,
            "host": self.holder.host,
            "dead": self.dead,
        }

    def notice(self) -> str:
        """One line: what was interrupted, where, and what to do."""
        last = self.entries[-1]
        at = last.step + (f" {last.target}" if last.target else "")
        holder = self.holder
        where = f"pid {holder.pid}" + (
            f" on {holder.host}" if holder.host != socket.gethostname() else ""
        )
        return (
            f"{self.begin.environment}: {self.kind} {self.deploy_id} of "
            f"{self.begin.release or 'the previous release'} was interrupted at '{at}' "
            f"({where} is gone) — `wave recover --env {self.begin.environment}` reconciles it"
        )


@dataclass
class Recovered:
    """What :func:`recover` did for one interrupted run."""

    deploy_id: str
    kind: str
    release: str | None
    outcome: str
    message: str
    rollbacks: list[dict[str, Any]]
    step: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "deploy_id": self.deploy_id,
            "kind": self.kind,
            "release": self.release,
            "outcome": self.outcome,
            "message": self.message,
            "rollbacks": self.rollbacks,
            "interrupted_at": self.step,
        }


def find(ctx: RunContext, environment: str) -> list[DeadRun]:
    """The environment's open journals whose run is not recorded, oldest first.

    A journal already answered by a history record is closed on the way.
    """
    store = ctx.store
    journals = store.journals(environment)
    if not journals:
        return []
    recorded = {r.deploy_id for r in store.history(environment) if r.kind in ("deploy", "rollback")}
    found = []
    for deploy_id, entries in sorted(journals.items()):
        if deploy_id in recorded or entries[0].step != "begin":
            store.journal_close(environment, deploy_id)
            continue
        holder = LockInfo.model_validate(entries[0].data["holder"])
        found.append(DeadRun(tuple(entries), dead=store.is_stale(holder)))
    return found


def recover(ctx: RunContext, environment: str) -> list[Recovered]:
    """Reconcile every interrupted run of ``environment`` whose holder is gone.

    Raises :class:`~wave_sdk.errors.RollbackFailed` (exit 8) when a target could not be
    returned to the last verified release, after recording what happened.
    """
    done = []
    for run in find(ctx, environment):
        if not run.dead:
            continue  # still running elsewhere; its own lock keeps others out
        ctx.emit("warn", "recover", run.notice())
        lock = ctx.store.acquire_lock(
            environment,
            owner=ctx.deployer,
            deploy_id=new_deploy_id(),
            ttl=ctx.config.state.lock_ttl,
        )
        try:
            with interrupts.handling(), interrupts.rolling_back():
                recovered = _Reconcile(ctx, run).run()
                last = run.entries[-1]
                recovered.step = last.step + (f" {last.target}" if last.target else "")
                done.append(recovered)
        finally:
            ctx.store.release_lock(lock)
    return done


class _Reconcile:
    """One interrupted run, finished: see the module docstring."""

    def __init__(self, ctx: RunContext, run: DeadRun) -> None:
        self.ctx = ctx
        self.run_ = run
        self.begin = run.begin
        self.environment = run.begin.environment
        self.journal = Journal.resume(ctx.store, list(run.entries))
        self.last_step = run.entries[-1]
        self.why = (
            f"interrupted at '{self.last_step.step}"
            + (f" {self.last_step.target}" if self.last_step.target else "")
            + f"' (pid {run.holder.pid} gone); reconciled by {ctx.deployer}"
        )

    def run(self) -> Recovered:
        current = self.ctx.store.current(self.environment)
        if current is not None and current.deploy_id == self.run_.deploy_id:
            return self._committed()
        if self.run_.kind == "rollback":
            return self._finish_rollback()
        return self._undo_deploy(current)

    # -- the three cases -------------------------------------------------------------------

    def _committed(self) -> Recovered:
        """It had made its release current: write the signal and record it missed."""
        release = self.begin.release
        kind = self.run_.kind
        verified = self.journal.last("verified") or self.journal.last("verify_rollback")
        self._signal("deployment-complete" if kind == "deploy" else "rollback-complete", "success")
        why = f"{self.why}; it had passed verification and was current: recorded as is"
        self._close(
            kind, "succeeded", release, why, verification={"ok": bool(verified)}, rollback=None
        )
        self.ctx.emit("ok", "recover", f"{self.run_.deploy_id}: {release} was verified; recorded")
        return Recovered(self.run_.deploy_id, kind, release, "succeeded", why, [])

    def _undo_deploy(self, current: CurrentRelease | None) -> Recovered:
        """Database first, then every touched target back to the last verified release."""
        release = self.begin.release
        problems: list[str] = []
        if self.journal.last("migrate") is not None:
            problems += self._undo_database()
        attempted = list(
            dict.fromkeys(e.target for e in self.journal.entries if e.step == "deploy" and e.target)
        )
        restored = Restored()
        goal = current.release if current else None
        if not problems and current is not None and attempted:
            goals: dict[str, str | None] = {
                t: current.targets.get(t, current.release) for t in attempted
            }
            restored = self._restore(goals, current.release)
        elif current is None and attempted:
            problems.append("first deploy of the environment: nothing to return to, left in place")
        if not restored.ok:
            problems.append(restored.problem())
        # What the dead run had itself done before it died: its failure and its rollbacks.
        failed = self.journal.last("decide") or self.journal.last("verified")
        reason = failed.data.get("reason") if failed else None
        earlier = [e.target for e in self.journal.entries if e.step == "rolled_back" and e.target]
        back = list(dict.fromkeys([*earlier, *(r.target for r in restored.rollbacks)]))
        why = (f"{reason}; " if reason else "") + self.why
        why += f"; {'; '.join(problems)}" if problems else ""
        if back or not restored.ok:
            self._signal(
                "rollback-complete",
                "success" if not problems else "failed",
                verification=restored.verification.signal() if restored.verification else None,
                rolled_back_from=self.begin.data.get("commit"),
                rolled_back_to=current.commit if current else None,
                rolled_back_from_release=release,
                rolled_back_to_release=goal,
                reason=why,
                rolled_back_targets=back,
            )
        else:
            self._signal("deployment-complete", "interrupted", reason=why)
        self._close(
            "deploy",
            "interrupted",
            release,
            why,
            verification={
                "rollback": restored.verification.to_dict() if restored.verification else None,
                "changed": bool(back),
            },
            rollback=(release, goal) if back else None,
        )
        self._raise_if(problems and current is not None, why)
        left = current is None and attempted
        if back:
            what = f"{', '.join(back)} {release} → {goal}, verified"
        elif left:
            # Say what is live: the release the dead run started, never verified.
            what = (
                f"{release} is left running on {', '.join(attempted)}, unverified: it was the "
                "environment's first deploy, so there is nothing to return to — deploy a "
                "release that passes, or stop it"
            )
        else:
            what = f"nothing had changed; {goal or '-'} is live"
        message = f"{self.run_.deploy_id}: {what}"
        self.ctx.emit("warn" if left else "ok", "recover", message)
        return Recovered(
            self.run_.deploy_id,
            "deploy",
            release,
            "interrupted",
            message,
            [r.model_dump(mode="json") for r in restored.rollbacks],
        )

    def _finish_rollback(self) -> Recovered:
        """Complete the rollback it was doing (:meth:`RollbackRun.resume`)."""
        from wave_sdk.run.rollback import RollbackRun

        results = RollbackRun.resume(self.ctx, self.journal, self.why)
        goal = results[0].to_release if results else self.begin.release
        message = f"{self.run_.deploy_id}: rollback to {goal} completed"
        self.ctx.emit("ok", "recover", message)
        return Recovered(
            self.run_.deploy_id,
            "rollback",
            goal,
            "succeeded",
            message,
            [r.model_dump(mode="json") for r in results],
        )

    # -- helpers ---------------------------------------------------------------------------

    def _restore(self, goals: dict[str, str | None], release_id: str | None) -> Restored:
        with ExitStack() as stack:
            adapters = {
                name: stack.enter_context(self.ctx.open_target(name, self.environment))
                for name in self.ctx.config.environment(self.environment).targets
                if name in goals
            }
            return restore(
                self.ctx,
                self.journal,
                self.environment,
                adapters,
                goals,
                release_id=release_id,
                verify=True,
            )

    def _undo_database(self) -> list[str]:
        from wave_sdk.run.database import undo_recorded

        migrated = self.journal.last("migrated")
        migrating = self.journal.last("migrating")
        source = migrated or migrating
        if source is None:
            return []  # stopped before the first backup finished: nothing was migrated
        partial = None if migrated else migrating.data.get("database") if migrating else None
        try:
            undo_recorded(self.ctx, dict(source.data["record"]), partial=partial)
        except WaveError as exc:
            return [f"database rollback failed: {exc.message}"]
        return []

    def _signal(self, kind: SignalType, status: str, **extra: Any) -> None:
        data = self.begin.data
        self.ctx.signal(
            Signal(
                signal_type=kind,
                environment=self.environment,
                commit=data.get("commit"),
                status=status,
                deployer=str(data.get("deployer") or self.ctx.deployer),
                changes=Changes(
                    stories=list(data.get("stories") or []),
                    has_migrations=bool(data.get("has_migrations")),
                ),
                project=self.ctx.config.project.name,
                release=self.begin.release,
                digest=data.get("digest"),
                deploy_id=self.run_.deploy_id,
                targets=[str(t) for t in data.get("targets", [])],
                **self.ctx.config.project.contacts.for_signal(),
                **extra,
            )
        )

    def _close(
        self,
        kind: str,
        outcome: str,
        release: str | None,
        why: str,
        *,
        verification: dict[str, Any],
        rollback: tuple[str | None, str | None] | None,
    ) -> None:
        data = self.begin.data
        self.journal.close(
            HistoryRecord(
                deploy_id=self.run_.deploy_id,
                kind=kind,
                environment=self.environment,
                targets=tuple(str(t) for t in data.get("targets", [])),
                release=release,
                commit=data.get("commit"),
                digest=data.get("digest") if release == self.begin.release else None,
                outcome=outcome,
                started_at=datetime.fromisoformat(str(data.get("started_at")))
                if data.get("started_at")
                else self.begin.at,
                deployer=str(data.get("deployer") or ""),
                approved_by=data.get("approved_by"),
                rolled_back_from=rollback[0] if rollback else None,
                rolled_back_to=rollback[1] if rollback else None,
                reason=why,
                verification=verification,
            )
        )

    def _raise_if(self, failed: object, why: str) -> None:
        if failed:
            raise RollbackFailed(
                f"{self.environment}: {why}" + self.ctx.contacts("rollback"),
                hint="the target needs a human: check `wave status`",
            )
