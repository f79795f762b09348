"""The pipeline: plan → gate → approve → lock → deploy → verify → finish or roll back.

:class:`Wave` is the library's entry point and the only thing the CLI calls. Each method is
synchronous and returns when the work is done (an adapter that wants concurrency runs it
behind its own methods). Every step is reported through the :class:`~wave_sdk.reporting.
Reporter`; every run that got past planning lands in the state store's history.

Operations on a target go through :meth:`~wave_sdk.plugins.PluginManager.operation`, which
reaches the adapter the target's configuration names and no other, with wrappers from other
plugins around it.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import subprocess
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wave_sdk import approvals as approval_mod
from wave_sdk import ledger
from wave_sdk.adapter import Adapter, TargetContext
from wave_sdk.config import WaveConfig, load_config
from wave_sdk.errors import (
    AdapterError,
    ApprovalRequired,
    GateError,
    LockHeld,
    ReleaseNotFound,
    RollbackFailed,
    RollbackUnavailable,
    UsageError,
    VerificationFailed,
    WaveError,
)
from wave_sdk.models import (
    Approval,
    CheckResult,
    DeployResult,
    HealthResult,
    HistoryRecord,
    Release,
    RollbackResult,
    StatusReport,
    new_deploy_id,
    utcnow,
)
from wave_sdk.plugins import PluginManager, get_plugin_manager
from wave_sdk.reporting import Event, NullReporter, Reporter
from wave_sdk.signals import Changes, Signal, Verification, write_signal
from wave_sdk.state import CurrentRelease, StateStore, open_state_store
from wave_sdk.verification import Verifier, health_round

if TYPE_CHECKING:
    from wave_sdk.decisions import Decision
    from wave_sdk.migrations import MigrationRun


class PlanStep(BaseModel):
    """One step of a plan, with the approval level it needs and whether that is met."""

    model_config = ConfigDict(frozen=True)

    step: str
    detail: str
    level: int | None = None
    satisfied: bool | None = None


class Plan(BaseModel):
    """What :meth:`Wave.deploy` would do, computed without changing anything."""

    model_config = ConfigDict(frozen=True)

    environment: str
    release: Release
    targets: list[dict[str, str]]
    rollback_to: str | None
    checks: list[str]
    steps: list[PlanStep]


class DeployReport(BaseModel):
    """The record of one :meth:`Wave.deploy` run, returned on success and attached to errors."""

    deploy_id: str
    environment: str
    release: str
    commit: str | None = None
    outcome: str = "planned"
    plan: Plan
    checks: list[CheckResult] = Field(default_factory=list)
    approval: Approval | None = None
    deployed: list[DeployResult] = Field(default_factory=list)
    health: dict[str, list[HealthResult]] = Field(default_factory=dict)
    response_time_ms: dict[str, float] = Field(default_factory=dict)
    smoke: str = "skipped"
    bake: dict[str, Any] | None = None
    passing_share: float | None = None
    config_only: bool = False
    migrated: bool = False
    migration: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    rollbacks: list[RollbackResult] = Field(default_factory=list)
    signals: list[str] = Field(default_factory=list)
    reason: str | None = None


class Wave:
    """A project's runbook, ready to run.

    Args:
        config: a :class:`~wave_sdk.config.WaveConfig`, a path to the file or its directory,
            or ``None`` to search from the current directory.
        reporter: where progress goes (default: nowhere).
        interactive: whether a person can answer prompts; only then is the approval prompt
            offered. The CLI sets it from the terminal.
        plugins: a plugin manager (default: the process's, with entry points loaded).
        deployer: the name recorded as deployer (default ``$WAVE_DEPLOYER`` or the user).
        wave: the WAVE framework's wave being deployed (``--wave N``); overrides
            ``[gate] wave`` for the Gate 7 checks and approval signals.

    """

    def __init__(
        self,
        config: WaveConfig | str | os.PathLike[str] | None = None,
        *,
        reporter: Reporter | None = None,
        interactive: bool = False,
        plugins: PluginManager | None = None,
        deployer: str | None = None,
        wave: int | None = None,
    ) -> None:
        self.config = config if isinstance(config, WaveConfig) else load_config(config)
        if wave is not None:
            gate = self.config.gate.model_copy(update={"wave": wave})
            self.config = self.config.model_copy(update={"gate": gate})
        self.reporter: Reporter = reporter or NullReporter()
        self.interactive = interactive
        self.plugins = plugins or get_plugin_manager()
        self.deployer = deployer or os.environ.get("WAVE_DEPLOYER") or _user()
        self._store: StateStore | None = None

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = open_state_store(self.config, self.plugins)
        return self._store

    # -- helpers -----------------------------------------------------------------------

    def _emit(self, kind: str, step: str, message: str, **data: Any) -> None:
        self.reporter.emit(Event(kind, step, message, data))

    def _signals_dir(self) -> Path:
        path = Path(self.config.signals.dir)
        return path if path.is_absolute() else self.config.root / path

    def _signal(self, signal: Signal, report: DeployReport | None = None) -> None:
        path = write_signal(signal, self._signals_dir())
        if report is not None:
            report.signals.append(str(path))
        self._emit("info", "signal", f"signal {signal.signal_type} → {path}")
        arguments = {"signal": signal}
        # Called one by one rather than through pm.hook so that one failing observer neither
        # fails the deploy nor silences the observers after it.
        for impl in self.plugins.pm.hook.wave_signal.get_hookimpls():
            if impl.wrapper or impl.hookwrapper:
                continue
            try:
                impl.function(*(arguments[name] for name in impl.argnames))
            except Exception as exc:  # observers never fail a deploy
                name = self.plugins.pm.get_name(impl.plugin)
                self._emit("warn", "signal", f"signal observer {name} failed: {exc}")

    def _context(self, target: str, environment: str) -> TargetContext:
        state_dir = self.config.root / ".wave" / "targets" / target
        return TargetContext(
            target=target,
            environment=environment,
            project=self.config.project.name,
            root=self.config.root,
            state_dir=state_dir,
            reporter=self.reporter,
            config=self.config,
        )

    @contextmanager
    def open_target(self, target: str, environment: str) -> Iterator[Adapter]:
        """The adapter instance of ``target``, registered for the duration of the block."""
        spec, settings = self.config.target_settings(target, self.plugins)
        with self.plugins.open_adapter(
            spec, config=settings, context=self._context(target, environment)
        ) as adapter:
            yield adapter

    def _call(self, hook: str, adapter: Adapter, **kwargs: Any) -> Any:
        try:
            result = self.plugins.operation(hook, adapter)(target=adapter.context, **kwargs)
        except WaveError:
            raise
        except Exception as exc:
            # An adapter that let a platform exception escape: still one line for the user.
            raise AdapterError(
                f"{adapter.context.target}: {hook.removeprefix('wave_')} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        target = adapter.context.target
        if result is None:
            raise AdapterError(f"{target}: the adapter returned nothing for {hook}")
        if getattr(result, "ok", True) is False:  # a result may report failure instead of raising
            operation = hook.removeprefix("wave_")
            raise AdapterError(
                f"{target}: {operation} failed: {result.message or 'no reason given'}"
            )
        return result

    def _contacts(self) -> str:
        contacts = self.config.project.contacts
        return f"; emergency contacts: {', '.join(contacts)}" if contacts else ""

    # -- releases ----------------------------------------------------------------------

    def release(
        self,
        release_id: str | None = None,
        *,
        source: str | os.PathLike[str] | None = None,
        commit: str | None = None,
    ) -> Release:
        """Describe a release: explicit id, else the git commit, else a hash of ``source``."""
        commit = commit or _git_head(self.config.root)
        src = Path(source).resolve() if source else None
        if src is not None and not src.is_dir():
            raise UsageError(f"--source {source}: not a directory")
        if release_id is None:
            if commit:
                release_id = commit[:12]
            elif src is not None:
                release_id = "src-" + _tree_hash(src)[:12]
            else:
                raise UsageError(
                    "cannot name the release: not a git repository and no --source",
                    hint="pass --release ID",
                )
        try:
            return Release(id=release_id, commit=commit, source=src)
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise UsageError(message, hint="pass --release with a plain id") from None

    # -- plan, check, approve ----------------------------------------------------------

    def plan(self, environment: str, *, release: Release | None = None) -> Plan:
        """What a deploy would do, with each step's approval level and whether it is met."""
        env = self.config.environment(environment)
        release = release or self.release()
        targets = [{"name": t, "adapter": self.config.targets[t].adapter} for t in env.targets]
        for t in env.targets:
            self.config.target_settings(t, self.plugins)  # validate before promising anything
        last = self.store.current(environment)
        level = self.config.required_level("deploy", environment)
        approved = (
            self._find_approval(environment, "deploy", level, release) is not None
            if level < 5
            else True
        )
        steps = [
            PlanStep(step="gate", detail=self._gate_detail(environment)),
            PlanStep(
                step="approve",
                detail=f"deploy needs {approval_mod.level_name(level)}"
                + (
                    " — production lowered below L1 by allow_lower_approvals"
                    if env.is_production(environment) and level > 1
                    else ""
                ),
                level=level,
                satisfied=approved,
            ),
            PlanStep(step="lock", detail=f"environment {environment}"),
            PlanStep(
                step="deploy", detail=" → ".join(f"{t['name']} ({t['adapter']})" for t in targets)
            ),
            PlanStep(step="verify", detail=self._verify_detail(environment)),
            PlanStep(
                step="finish",
                detail="on failure roll back to "
                + (last.release if last else "nothing (first deploy)"),
                level=self.config.required_level("rollback", environment),
            ),
        ]
        return Plan(
            environment=environment,
            release=release,
            targets=targets,
            rollback_to=last.release if last else None,
            checks=list(env.checks),
            steps=steps,
        )

    def _gate_detail(self, environment: str) -> str:
        from wave_sdk.gate import gate_enabled

        env = self.config.environment(environment)
        parts = [f"checks: {', '.join(env.checks) or 'none configured'}"]
        if gate_enabled(self.config, environment):
            parts.append(f"Gate 7: {', '.join(self.config.gate.checks)}")
        return "; ".join(parts) + " (plus plugins' checks)"

    def _verify_detail(self, environment: str) -> str:
        health = self.config.health_for(environment)
        env = self.config.environment(environment)
        paths = ", ".join(e.path for e in health.endpoints) or "no endpoints"
        detail = (
            f"adapter health + {paths}; {health.consecutive} passing rounds in a row, "
            f"deadline {health.deadline:g}s"
        )
        if env.smoke is not None:
            detail += "; smoke test"
        if env.bake is not None:
            detail += f"; bake {env.bake.duration:g}s"
        if not env.auto_rollback:
            detail += "; on failure: recommend only (auto_rollback = false)"
        return detail

    def check(
        self,
        environment: str,
        *,
        release: Release | None = None,
        report: bool = False,
        groups: Collection[str] | None = None,
    ) -> list[CheckResult]:
        """Run the gate's checks for ``environment``; return every result.

        The environment's commands (and those they need), then every plugin's checks —
        the built-in plugin's Gate 7, documentation and communication checks among them.
        ``release`` defaults to the git checkout (``None`` outside git). With ``report``
        (``wave check``), ``[gate] report`` is written as the checks start and when they end.
        ``groups`` keeps only checks of those checklist sections: validating a merge wants
        ``{"technical"}``, since Gate 7 is what allowed the merge in the first place.
        """
        from wave_sdk import validation
        from wave_sdk.checks import command_checks, run_checks

        env = self.config.environment(environment)
        if release is None:
            with suppress(UsageError):
                release = self.release()
        specs = command_checks(self.config, env.checks)
        for announced in self.plugins.pm.hook.wave_checks(
            environment=environment, config=self.config, release=release, store=self.store
        ):
            specs.extend(announced or ())
        if groups is not None:
            specs = [s for s in specs if s.group in groups]
        path = validation.report_path(self.config) if report else None
        write = partial(
            validation.write_report,
            config=self.config,
            environment=environment,
            release=release,
        )
        if path is not None:
            write(path, validation.pending(specs), status="in progress")
        results = run_checks(specs)
        if path is not None:
            write(path, results, status="passed" if all(r.ok for r in results) else "failed")
        return results

    def _providers(self) -> list[approval_mod.ApprovalProviderSpec]:
        providers = [
            approval_mod.ApprovalProviderSpec(
                name="records", find=approval_mod.from_records(self.store)
            )
        ]
        for announced in self.plugins.pm.hook.wave_approval(config=self.config):
            providers.extend(announced or ())
        providers.append(approval_mod.ApprovalProviderSpec(name="prompt", find=approval_mod.prompt))
        return providers

    def _find_approval(
        self, environment: str, action: str, level: int, release: Release
    ) -> Approval | None:
        request = approval_mod.ApprovalRequest(
            environment=environment, action=action, level=level, release=release, interactive=False
        )
        for provider in self._providers():
            found = provider.find(request)
            if found is not None:
                return found
        return None

    def _require_approval(self, environment: str, action: str, release: Release) -> Approval | None:
        level = self.config.required_level(action, environment)
        request = approval_mod.ApprovalRequest(
            environment=environment,
            action=action,
            level=level,
            release=release,
            interactive=self.interactive,
        )
        approval = approval_mod.obtain(request, self._providers())
        if approval is None:
            self._emit(
                "ok",
                "approve",
                f"{action} to {environment}: {approval_mod.level_name(level)}, no approval needed",
            )
        else:
            if approval.source == "prompt":
                self.store.add_approval(approval)
            self._emit(
                "ok",
                "approve",
                f"{action} to {environment} approved by "
                f"{approval.approved_by} (L{approval.level}, {approval.source})",
            )
        return approval

    def approve(
        self,
        environment: str,
        action: str = "deploy",
        *,
        level: int = 1,
        release: str | None = None,
        commit: str | None = None,
        approved_by: str | None = None,
        expires_in: float | None = None,
    ) -> Approval:
        """Record an approval (what ``wave approve`` does)."""
        from datetime import timedelta

        self.config.environment(environment)
        approval = Approval(
            environment=environment,
            action=action,
            level=level,
            approved_by=approved_by or self.deployer,
            release=release,
            commit=commit,
            expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
        )
        self.store.add_approval(approval)
        return approval

    # -- deploy ------------------------------------------------------------------------

    def deploy(
        self,
        environment: str,
        *,
        release: Release | str | None = None,
        source: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
        lock_wait: float = 0.0,
        allow_no_rollback: bool = False,
        migrations: bool | None = None,
    ) -> DeployReport:
        """Run the whole pipeline for ``environment``.

        ``migrations`` says whether the release carries database migrations; ``None``
        detects it (``[migrations] detect`` paths changed since the environment's release).

        Returns the :class:`DeployReport` of a verified deploy (or of the plan, with
        ``dry_run``). Raises :class:`~wave_sdk.errors.GateError`,
        :class:`~wave_sdk.errors.ApprovalRequired` or :class:`~wave_sdk.errors.LockHeld`
        before anything changes; :class:`~wave_sdk.errors.VerificationFailed` (or
        :class:`~wave_sdk.errors.AdapterError`) after rolling back;
        :class:`~wave_sdk.errors.RollbackFailed` when the rollback itself failed.
        """
        self.config.environment(environment)  # an unknown name fails before anything else
        if not isinstance(release, Release):
            release = self.release(release, source=source)
        if not release.stories:
            release = release.model_copy(update={"stories": self._stories(environment, release)})
        carries = (
            self._carries_migrations(environment, release) if migrations is None else migrations
        )
        if carries != release.has_migrations:
            release = release.model_copy(update={"has_migrations": carries})
        plan = self.plan(environment, release=release)
        report = DeployReport(
            deploy_id=new_deploy_id(),
            environment=environment,
            release=release.id,
            commit=release.commit,
            plan=plan,
        )
        # Adapters label what they create with it, so a container or a host's revision log
        # can be traced back to this run's history entry.
        release = release.model_copy(
            update={"metadata": {**release.metadata, "deploy_id": report.deploy_id}}
        )
        self._emit(
            "step",
            "plan",
            f"deploy {release.id} to {environment}: "
            + " → ".join(t["name"] for t in plan.targets)
            + (
                f" (rollback target {plan.rollback_to})"
                if plan.rollback_to
                else " (first deploy: no release to roll back to)"
            ),
        )
        if dry_run:
            for step in plan.steps:
                self._emit("info", "plan", f"{step.step}: {step.detail}")
            return report
        started = utcnow()

        self._emit("step", "gate", "running checks")
        report.checks = self.check(environment, release=release)
        for result in report.checks:
            self._emit(
                "ok" if result.ok else "fail",
                "gate",
                f"{result.name}: {result.detail} ({result.duration_s:.1f}s)",
            )
        failed = [r for r in report.checks if not r.ok]
        if failed:
            report.outcome, report.reason = (
                "blocked",
                f"checks failed: {', '.join(r.name for r in failed)}",
            )
            self._record(report, started)
            tail = failed[0].output_tail.splitlines()[-3:]
            raise GateError(
                f"{report.reason}"
                + (f"; {failed[0].name}: {' | '.join(tail)}" if tail else "")
                + self._contacts(),
                results=report.checks,
                hint="fix them and deploy again",
            )

        try:
            self._emit("step", "approve", "checking approvals")
            report.approval = self._require_approval(environment, "deploy", release)
            if release.has_migrations:
                # Asked before the lock and the backup: a run without it stops at once.
                self._require_approval(environment, "migration", release)
            self._emit("step", "lock", f"locking {environment}")
            lock = self.store.acquire_lock(
                environment,
                owner=self.deployer,
                deploy_id=report.deploy_id,
                ttl=self.config.state.lock_ttl,
                wait=lock_wait,
            )
        except (ApprovalRequired, LockHeld) as exc:
            # Refused before anything changed; still a run someone asked for: on record.
            report.outcome, report.reason = "blocked", exc.message
            self._record(report, started)
            raise
        try:
            self._run_locked(environment, release, report, started, allow_no_rollback)
        finally:
            self.store.release_lock(lock)
        return report

    def _run_locked(
        self,
        environment: str,
        release: Release,
        report: DeployReport,
        started: Any,
        allow_no_rollback: bool,
    ) -> None:
        env = self.config.environment(environment)
        last = self.store.current(environment)
        with ExitStack() as stack:
            adapters = {
                t: stack.enter_context(self.open_target(t, environment)) for t in env.targets
            }
            self._check_rollback_targets(adapters, last, allow_no_rollback)
            migration = self._migrate(environment, release, report, started)
            self._signal(
                self._make_signal(
                    "deployment-starting", "in_progress", environment, release, report
                ),
                report,
            )
            deployed, failure = self._deploy_targets(adapters, release, report)
            share = (
                None
                if failure
                else Verifier(
                    config=self.config,
                    plugins=self.plugins,
                    reporter=self.reporter,
                    environment=environment,
                ).run(adapters, release, report)
            )
            if failure is None and share is None:
                self._finish(environment, release, report, started)
                return
            if failure is not None:
                report.reason = f"deploy failed: {failure}"
            self._after_failure(
                environment,
                release,
                report,
                started,
                adapters,
                deployed,
                last,
                share,
                failure,
                migration,
            )

    def _deploy_targets(
        self, adapters: dict[str, Adapter], release: Release, report: DeployReport
    ) -> tuple[list[str], WaveError | None]:
        """Deploy to each target in order; stop at the first failure."""
        self._emit("step", "deploy", f"deploying {release.id}")
        deployed: list[str] = []
        for name, adapter in adapters.items():
            deployed.append(name)  # a failed deploy may have changed the target: roll it back
            try:
                result: DeployResult = self._call("wave_deploy", adapter, release=release)
            except WaveError as exc:
                self._emit("fail", "deploy", f"{name}: {exc}")
                return deployed, exc
            report.deployed.append(result)
            self._emit("ok", "deploy", f"{name}: {result.message or 'deployed'}")
        return deployed, None

    def _decide(
        self,
        environment: str,
        release: Release,
        report: DeployReport,
        last: CurrentRelease | None,
        share: float | None,
        failure: WaveError | None,
    ) -> Decision:
        from wave_sdk import changes
        from wave_sdk.decisions import Action, Decision, Evidence, decide

        files = changes.changed_files(
            self.config.root, last.commit if last else None, release.commit
        )
        report.config_only = changes.is_config_only(files, self.config.decisions.config_paths)
        report.passing_share = 0.0 if share is None else round(share, 4)
        evidence = Evidence(
            passing_share=report.passing_share,
            config_only=report.config_only,
            migrated=report.migrated,
            most_users=self.config.decisions.most_users,
        )
        decision = decide(evidence)
        if failure is not None:
            # The deploy itself failed: nothing is serving "most users", whatever a
            # configuration-only diff suggests; undo it.
            action = (
                Action.ROLLBACK_DATABASE_THEN_CODE if report.migrated else Action.QUICK_ROLLBACK
            )
            decision = Decision(action, f"the deploy itself failed: {failure.message}", evidence)
        report.decision = decision.to_dict()
        self._emit(
            "info",
            "decide",
            f"decision: {decision.action.value} — {decision.reason}",
            decision=report.decision,
        )
        return decision

    def _after_failure(
        self,
        environment: str,
        release: Release,
        report: DeployReport,
        started: Any,
        adapters: dict[str, Adapter],
        deployed: list[str],
        last: CurrentRelease | None,
        share: float | None,
        failure: WaveError | None,
        migration: MigrationRun | None = None,
    ) -> None:
        """Act on the decision tree where the environment allows it; report it otherwise."""
        from wave_sdk.decisions import Action

        env = self.config.environment(environment)
        decision = self._decide(environment, release, report, last, share, failure)
        advice = decision.advice(environment)
        if decision.action is Action.MONITOR and env.auto_rollback and failure is None:
            report.outcome = "degraded"
            self._emit("warn", "finish", f"{release.id} stays live: {decision.reason}; {advice}")
            self._finish(environment, release, report, started, status="degraded")
            return
        if not env.auto_rollback or decision.action is Action.FIX_CONFIG:
            report.outcome = "failed"
            self._record(report, started)
            why = "auto_rollback = false" if not env.auto_rollback else decision.reason
            raise VerificationFailed(
                f"{report.reason}; left in place ({why}); recommended: {decision.action.value}"
                + self._contacts(),
                report=report,
                hint=advice,
            )
        if decision.action is Action.ROLLBACK_DATABASE_THEN_CODE and migration is not None:
            self._roll_back_database(report, migration, started)
        self._roll_back_run(environment, release, report, started, adapters, deployed, last)
        summary = self._rollback_summary(report)
        if failure is not None:
            raise AdapterError(
                f"{failure.message}" + (summary or "; nothing to roll back to") + self._contacts(),
                hint=failure.hint,
            ) from failure
        raise VerificationFailed(
            f"{report.reason}; "
            + (summary.lstrip("; ") or "nothing to roll back to (first deploy)")
            + self._contacts(),
            rollback=report.rollbacks[0] if report.rollbacks else None,
            report=report,
        )

    def _carries_migrations(self, environment: str, release: Release) -> bool:
        settings = self.config.migrations
        if settings is None or release.has_migrations:
            return release.has_migrations
        from wave_sdk.migrations import carries_migrations

        last = self.store.current(environment)
        return carries_migrations(
            self.config.root, last.commit if last else None, release.commit, settings.detect
        )

    def _migrate(
        self, environment: str, release: Release, report: DeployReport, started: Any
    ) -> MigrationRun | None:
        """Back up, then migrate (staging first for production), before the code deploys."""
        if not release.has_migrations:
            return None
        from wave_sdk.migrations import MigrationRun

        run = MigrationRun.for_deploy(self.config, environment, reporter=self.reporter)
        self._emit("step", "migrate", run.describe())

        def approve(name: str) -> None:
            # The deployed environment's migration approval was obtained before the lock;
            # staging's migration is a step of that same approved procedure.
            if name != environment:
                self._emit("info", "migrate", f"{name}: part of the approved {environment} run")

        try:
            run.execute(verify=self._verify_environment, approve=approve)
        except WaveError as exc:
            report.migration = run.record.model_dump(mode="json")
            report.outcome, report.reason = "failed", f"migration failed: {exc.message}"
            self._record(report, started)
            raise
        report.migrated = True
        report.migration = run.record.model_dump(mode="json")
        return run

    def _verify_environment(self, environment: str) -> None:
        """One health round of every target of ``environment`` (staging after migrating)."""
        results = self.health(environment)
        bad = [
            f"{t} {r.source} {r.name}: {r.detail}"
            for t, rs in results.items()
            for r in rs
            if not r.ok
        ]
        if bad:
            raise VerificationFailed(f"{environment} failed verification: {'; '.join(bad)}")
        self._emit("ok", "migrate", f"{environment} verified after migrating")

    def _roll_back_database(
        self, report: DeployReport, migration: MigrationRun, started: Any
    ) -> None:
        """Undo this run's migration before the code, as the runbook orders."""
        self._emit("step", "rollback", "rolling back the database first")
        try:
            migration.roll_back()
        except WaveError as exc:
            report.migration = migration.record.model_dump(mode="json")
            report.outcome = "failed"
            self._record(report, started)
            raise RollbackFailed(
                f"database rollback failed, code left on {report.release}: {exc.message}"
                + self._contacts(),
                hint="restore the database by hand (see the backup in `wave history --json`)",
            ) from exc
        report.migration = migration.record.model_dump(mode="json")

    def _rollback_summary(self, report: DeployReport) -> str:
        if not report.rollbacks:
            return ""
        return "; rolled back " + ", ".join(
            f"{r.target} {r.from_release} → {r.to_release}" for r in report.rollbacks
        )

    def _check_rollback_targets(
        self, adapters: dict[str, Adapter], last: CurrentRelease | None, allow_no_rollback: bool
    ) -> None:
        if last is None:
            self._emit(
                "info", "deploy", "first deploy of this environment: no release to roll back to"
            )
            return
        for name, adapter in adapters.items():
            wanted = last.targets.get(name, last.release)
            # A target that cannot answer (daemon down, host unreachable) stops the deploy
            # with its own error: it says nothing about whether the release is still there.
            kept = adapter.releases()
            if wanted in kept:
                self._emit("ok", "deploy", f"{name}: rollback target {wanted} is on the target")
            elif allow_no_rollback:
                self._emit(
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

    def _finish(
        self,
        environment: str,
        release: Release,
        report: DeployReport,
        started: Any,
        *,
        status: str = "success",
    ) -> None:
        if status == "success":
            report.outcome = "succeeded"
        self.store.set_current(
            CurrentRelease(
                environment=environment,
                release=release.id,
                commit=release.commit,
                targets={r.target: r.release for r in report.deployed},
                deploy_id=report.deploy_id,
                deployed_at=utcnow(),
            )
        )
        self._record(report, started)
        self._signal(
            self._make_signal("deployment-complete", status, environment, release, report),
            report,
        )
        self._emit("ok", "finish", f"{release.id} is live in {environment}")

    def _roll_back_run(
        self,
        environment: str,
        release: Release,
        report: DeployReport,
        started: Any,
        adapters: dict[str, Adapter],
        deployed: list[str],
        last: CurrentRelease | None,
    ) -> None:
        self._emit("step", "rollback", f"rolling back {', '.join(reversed(deployed))}")
        errors = []
        for name in reversed(deployed):
            if last is None:
                self._emit("warn", "rollback", f"{name}: no earlier release to roll back to")
                continue
            to = last.targets.get(name, last.release)
            try:
                result: RollbackResult = self._call("wave_rollback", adapters[name], to=to)
            except WaveError as exc:
                errors.append(f"{name}: {exc}")
                self._emit("fail", "rollback", f"{name}: {exc}")
                continue
            report.rollbacks.append(result)
            self._emit("ok", "rollback", f"{name}: back on {result.to_release}")
        report.outcome = "rolled_back" if report.rollbacks and not errors else "failed"
        self._record(report, started)
        if last is not None:
            self._signal(
                self._make_signal(
                    "rollback-complete",
                    "failed" if errors else "success",
                    environment,
                    release,
                    report,
                    rolled_back_from=release.id,
                    rolled_back_to=last.release,
                    reason=report.reason,
                    rolled_back_targets=[r.target for r in report.rollbacks],
                ),
                report,
            )
        if errors:
            raise RollbackFailed(
                "rollback failed: " + "; ".join(errors) + self._contacts(),
                hint="the target needs a human: check `wave status`",
            )

    def _make_signal(
        self,
        kind: Any,
        status: str,
        environment: str,
        release: Release,
        report: DeployReport,
        **extra: Any,
    ) -> Signal:
        verification = None
        if kind != "deployment-starting":
            checked = [r for results in report.health.values() for r in results]
            verification = Verification(
                smoke_tests=report.smoke,
                health_check=(
                    "passed"
                    if checked and all(r.ok for r in checked)
                    else "failed"
                    if checked
                    else "skipped"
                ),
                response_time_ms=report.response_time_ms,
            )
        return Signal(
            signal_type=kind,
            environment=environment,
            commit=release.commit,
            status=status,
            deployer=self.deployer,
            changes=Changes(stories=list(release.stories), has_migrations=release.has_migrations),
            verification=verification,
            project=self.config.project.name,
            release=release.id,
            deploy_id=report.deploy_id,
            targets=[t["name"] for t in report.plan.targets],
            contacts=self.config.project.contacts,
            **extra,
        )

    def _record(self, report: DeployReport, started: Any) -> None:
        rollback = report.rollbacks[0] if report.rollbacks else None
        self.store.append_history(
            HistoryRecord(
                deploy_id=report.deploy_id,
                kind="deploy",
                environment=report.environment,
                targets=tuple(t["name"] for t in report.plan.targets),
                release=report.release,
                commit=report.commit,
                outcome=report.outcome,
                started_at=started,
                deployer=self.deployer,
                approved_by=report.approval.approved_by if report.approval else None,
                rolled_back_from=rollback.from_release if rollback else None,
                rolled_back_to=rollback.to_release if rollback else None,
                reason=report.reason,
                verification={
                    "response_time_ms": report.response_time_ms,
                    "smoke_tests": report.smoke,
                    "bake": report.bake,
                    "passing_share": report.passing_share,
                    "config_only": report.config_only,
                    "migrated": report.migrated,
                    "decision": report.decision,
                },
                migration=report.migration,
            )
        )

    # -- rollback, status, health, history ---------------------------------------------

    def rollback(
        self,
        environment: str,
        *,
        to: str | None = None,
        reason: str | None = None,
        lock_wait: float = 0.0,
    ) -> list[RollbackResult]:
        """Roll every target of ``environment`` back, last target first.

        ``to`` names the release; without it, the last release that succeeded *before* the
        current one (from history, so a release that failed verification and was rolled back
        automatically is never chosen), or else the adapter's idea of "previous".
        """
        env = self.config.environment(environment)
        last = self.store.current(environment)
        records = self.store.history(environment)
        live = ledger.live_release(records, last.release if last else None)
        if to is not None and to == live:
            raise UsageError(
                f"{to} is already the current release of {environment}",
                hint="name an earlier release with --to (see `wave status`)",
            )
        goal = to or ledger.rollback_goal(records, environment, last.release if last else None)[0]
        self._require_approval(environment, "rollback", Release(id=goal or "previous"))
        deploy_id = new_deploy_id()
        started = utcnow()
        lock = self.store.acquire_lock(
            environment,
            owner=self.deployer,
            deploy_id=deploy_id,
            ttl=self.config.state.lock_ttl,
            wait=lock_wait,
        )
        results: list[RollbackResult] = []
        try:
            database = self._roll_back_recorded_migration(environment, live)
            with ExitStack() as stack:
                for name in reversed(env.targets):
                    adapter = stack.enter_context(self.open_target(name, environment))
                    self._emit(
                        "step",
                        "rollback",
                        f"{name}: rolling back to {goal or 'the previous release'}",
                    )
                    try:
                        result = self._call("wave_rollback", adapter, to=goal)
                    except (ReleaseNotFound, RollbackUnavailable):
                        raise
                    except WaveError as exc:
                        raise RollbackFailed(f"{name}: {exc}" + self._contacts()) from exc
                    results.append(result)
                    self._emit(
                        "ok", "rollback", f"{name}: {result.from_release} → {result.to_release}"
                    )
            first = results[0]
            self.store.set_current(
                CurrentRelease(
                    environment=environment,
                    release=first.to_release,
                    targets={r.target: r.to_release for r in results},
                    deploy_id=deploy_id,
                    deployed_at=utcnow(),
                )
            )
            why = (reason or "manual rollback") + (
                f"; database rolled back first ({database})" if database else ""
            )
            self.store.append_history(
                HistoryRecord(
                    deploy_id=deploy_id,
                    kind="rollback",
                    environment=environment,
                    targets=tuple(r.target for r in results),
                    release=first.to_release,
                    outcome="succeeded",
                    started_at=started,
                    deployer=self.deployer,
                    rolled_back_from=first.from_release,
                    rolled_back_to=first.to_release,
                    reason=why,
                )
            )
            self._signal(
                Signal(
                    signal_type="rollback-complete",
                    environment=environment,
                    status="success",
                    deployer=self.deployer,
                    rolled_back_from=first.from_release,
                    rolled_back_to=first.to_release,
                    reason=why,
                    project=self.config.project.name,
                    release=first.to_release,
                    deploy_id=deploy_id,
                    targets=[r.target for r in results],
                    rolled_back_targets=[r.target for r in results],
                    contacts=self.config.project.contacts,
                )
            )
        finally:
            self.store.release_lock(lock)
        return results

    def _stories(self, environment: str, release: Release) -> tuple[str, ...]:
        from wave_sdk import changes

        last = self.store.current(environment)
        return tuple(
            changes.stories(
                self.config.root,
                last.commit if last else None,
                release.commit,
                pattern=self.config.signals.story_pattern,
                signals_dir=self._signals_dir(),
            )
        )

    def rollback_plan(self, environment: str) -> dict[str, Any]:
        """What ``wave rollback`` would do and what the decision tree says, without acting.

        The decision is the one recorded for the last deploy of ``environment`` (a failed
        verification records its evidence); after a clean deploy it is "monitor".
        """
        from wave_sdk.decisions import Evidence, decide

        self.config.environment(environment)
        last = self.store.current(environment)
        deploys = [r for r in self.store.history(environment) if r.kind == "deploy"]
        recorded = deploys[-1].verification.get("decision") if deploys else None
        if recorded is None:
            decision = decide(
                Evidence(passing_share=1.0, most_users=self.config.decisions.most_users)
            )
            recorded = decision.to_dict()
        try:
            target, why = ledger.rollback_goal(
                self.store.history(environment), environment, last.release if last else None
            )
        except RollbackUnavailable as exc:
            target, why = None, exc.message
        from wave_sdk.decisions import Action, advice

        return {
            "environment": environment,
            "current": last.release if last else None,
            "rollback_to": target,
            "rollback_to_reason": why,
            "last_deploy": deploys[-1].model_dump(mode="json") if deploys else None,
            "decision": recorded,
            "advice": advice(Action(recorded["action"]), environment),
        }

    def _roll_back_recorded_migration(self, environment: str, live: str | None) -> str | None:
        """Undo the live release's migration of this environment's database, if it had one.

        The runbook rolls the database back before the code. What to undo comes from the
        history: the deploy of ``live`` recorded which databases it migrated and where their
        backups are. Returns how it was undone (for the history), or ``None``.
        """
        settings = self.config.migrations
        migration = ledger.migration_to_undo(self.store.history(environment), environment, live)
        if settings is None or migration is None:
            return None
        url = self.config.environment(environment).database_url
        if url is None:
            raise RollbackFailed(
                f"{live} migrated the {environment} database, and it has no database_url now",
                hint=f"add database_url to [environments.{environment}] to roll it back",
            )
        from wave_sdk.migrations import roll_back

        backup = migration.get("backups", {}).get(environment)
        self._emit("step", "rollback", f"rolling back the {environment} database first")
        result = roll_back(
            settings, environment, url, self.config.root, Path(backup) if backup else None
        )
        how = "down command" if result.method == "down" else f"restore of {result.backup}"
        self._emit("ok", "rollback", f"{environment} database rolled back ({how})")
        return how

    def status(self, environment: str | None = None) -> list[StatusReport]:
        """Status of every target of ``environment`` (or of every environment), once each."""
        names = [environment] if environment else list(self.config.environments)
        reports = []
        seen: set[str] = set()
        for env_name in names:
            for target in self.config.environment(env_name).targets:
                if target in seen:
                    continue
                seen.add(target)
                with self.open_target(target, env_name) as adapter:
                    reports.append(self._call("wave_status", adapter))
        return reports

    def health(self, environment: str) -> dict[str, list[HealthResult]]:
        """One round of every health contributor for each target of ``environment``."""
        out: dict[str, list[HealthResult]] = {}
        config = self.config.health_for(environment)
        for target in self.config.environment(environment).targets:
            with self.open_target(target, environment) as adapter:
                status: StatusReport = self._call("wave_status", adapter)
                url = config.base_url or status.url
                out[target] = health_round(self.plugins, adapter, url)
        return out

    def history(self, environment: str | None = None) -> list[HistoryRecord]:
        if environment:
            self.config.environment(environment)
        return self.store.history(environment)

    def unlock(self, environment: str, *, reason: str) -> dict[str, Any] | None:
        """Break the lock of ``environment``; the override is recorded in history."""
        if not reason.strip():
            raise UsageError("a reason is required to break a lock", hint='--reason "…"')
        self.config.environment(environment)
        held = self.store.break_lock(environment)
        self.store.append_history(
            HistoryRecord(
                deploy_id=new_deploy_id(),
                kind="unlock",
                environment=environment,
                outcome="recorded",
                started_at=utcnow(),
                deployer=self.deployer,
                reason=f"{reason} (held by {held.describe() if held else 'nobody'})",
            )
        )
        return held.public() if held else None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def _git_head(root: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _tree_hash(root: Path) -> str:
    """A content hash of a directory (paths and bytes), for naming releases without git."""
    digest = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()
