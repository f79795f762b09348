"""The facade users import: ``Wave(project).deploy("staging")``.

:class:`Wave` opens a project (its configuration, plugins and state store) and hands each
piece of work to the module that holds it: a deploy is a :class:`~wave_sdk.run.deploy.
DeployRun`, a rollback a :class:`~wave_sdk.run.rollback.RollbackRun`, both journaled and
recovered by :mod:`wave_sdk.run.recovery`; the plan is :func:`~wave_sdk.run.plan.make_plan`,
the checks :func:`~wave_sdk.run.gate.run_checks`. Every method is synchronous and returns
when the work is done; the CLI calls nothing else.

Any method that opens an environment looks for runs that died first: ``deploy``,
``rollback`` and ``recover`` reconcile them before doing anything else, ``status``,
``health`` and ``history`` say so in one line.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from wave_sdk import ledger
from wave_sdk.adapter import Adapter
from wave_sdk.config import WaveConfig, load_config
from wave_sdk.errors import RollbackUnavailable, UsageError, WaveError
from wave_sdk.models import (
    MAX_VALIDITY_S,
    Approval,
    CheckResult,
    HealthResult,
    HistoryRecord,
    Release,
    RollbackPlan,
    RollbackResult,
    StatusReport,
    TargetRollback,
    check_release_id,
    new_deploy_id,
    utcnow,
)
from wave_sdk.plugins import PluginManager, get_plugin_manager
from wave_sdk.reporting import NullReporter, Reporter
from wave_sdk.run import boundary, recovery
from wave_sdk.run.context import RunContext
from wave_sdk.run.plan import Plan, make_plan
from wave_sdk.run.report import DeployReport
from wave_sdk.state import StateStore

if TYPE_CHECKING:
    from wave_sdk.autodeploy import AutoDeployReport
    from wave_sdk.git import HotfixFinished

__all__ = ["DeployReport", "Plan", "Wave"]


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
        self.ctx = RunContext(
            config=self.config,
            plugins=self.plugins,
            reporter=self.reporter,
            deployer=self.deployer,
            interactive=interactive,
        )

    @property
    def store(self) -> StateStore:
        return self.ctx.store

    @contextmanager
    def open_target(self, target: str, environment: str) -> Iterator[Adapter]:
        """The adapter instance of ``target``, registered for the duration of the block."""
        with self.ctx.open_target(target, environment) as adapter:
            yield adapter

    # -- releases and plans ----------------------------------------------------------------

    def release(
        self,
        release_id: str | None = None,
        *,
        source: str | os.PathLike[str] | None = None,
        commit: str | None = None,
    ) -> Release:
        """Describe a release of ``source`` (default: the project), bound to its content.

        Its commit when ``source`` is a clean checkout, else the digest of its files (see
        :mod:`wave_sdk.content`). It is named ``release_id``, else after the commit's
        first 12 digits, else ``src-`` and the digest's. ``commit`` is for callers that
        build the release themselves and assert which commit it is (the CLI never does).
        """
        from wave_sdk import content

        src = Path(source).resolve() if source else None
        if src is not None and not src.is_dir():
            raise UsageError(f"--source {source}: not a directory")
        if commit is not None:
            found = content.Content(content.resolve_commit(self.config, commit), None)
        else:
            found = content.identify(self.config, src)
        if release_id is None:
            release_id = (
                found.commit[:12]
                if found.commit
                else "src-" + (found.digest or "").removeprefix(content.DIGEST_PREFIX)[:12]
            )
        metadata = {"why_not_commit": found.why_not_commit} if found.why_not_commit else {}
        try:
            return Release(
                id=release_id,
                commit=found.commit,
                digest=found.digest,
                source=src,
                metadata=metadata,
            )
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise UsageError(message, hint="pass --release with a plain id") from None

    def release_for(
        self,
        environment: str,
        release: Release | str | None = None,
        *,
        source: str | os.PathLike[str] | None = None,
        migrations: bool | None = None,
    ) -> Release:
        """The release as a deploy to ``environment`` sees it: stories and migrations known.

        ``release`` is a :class:`Release`, or an id for :meth:`release` (with ``source``);
        its ``stories`` are filled in when empty, and whether it carries migrations (and
        which files) is detected unless ``migrations`` says. :meth:`deploy`, :meth:`plan`
        and :meth:`check` all use it, so they agree on what needs what.
        """
        self.config.environment(environment)  # an unknown name fails before anything else
        if not isinstance(release, Release):
            release = self.release(release, source=source)
        if not release.stories:
            release = release.model_copy(update={"stories": self._stories(environment, release)})
        return self._with_migrations(environment, release, migrations)

    def plan(self, environment: str, *, release: Release | str | None = None) -> Plan:
        """What a deploy would do, with each step's approval level and whether it is met."""
        return make_plan(self.ctx, environment, self.release_for(environment, release))

    def check(
        self,
        environment: str,
        *,
        release: Release | str | None = None,
        report: bool = False,
        groups: Collection[str] | None = None,
    ) -> list[CheckResult]:
        """Run the gate's checks for ``environment``; see :func:`wave_sdk.run.gate.run_checks`.

        ``release`` defaults to the git checkout as :meth:`release_for` sees it (``None``
        outside git); a release given is checked as it is, an id as :meth:`release` makes it.
        """
        from wave_sdk.run.gate import run_checks

        self.config.environment(environment)
        if isinstance(release, str):
            release = self.release_for(environment, release)
        elif release is None:
            with suppress(UsageError):
                release = self.release_for(environment)
        return run_checks(self.ctx, environment, release, report=report, groups=groups)

    def approve(
        self,
        environment: str,
        action: str = "deploy",
        *,
        level: int | str = 1,
        release: str | None = None,
        commit: str | None = None,
        digest: str | None = None,
        source: str | os.PathLike[str] | None = None,
        approved_by: str | None = None,
        expires_in: float | None = None,
    ) -> Approval:
        """Record an approval (what ``wave approve`` does), bound to the code it names.

        ``commit`` is resolved to its full SHA (an unknown one is refused); ``digest`` is
        taken as given. With neither, the approval names what ``source`` (default: the
        project) is now — its commit if it is a clean checkout, else its digest — unless
        ``release`` alone is given. It is signed when ``[approvals] key`` is set. ``level``
        is 1 to 5 or ``"L1"`` to ``"L5"``; ``action`` one of
        :data:`~wave_sdk.config.ACTIONS` (``deploy``, ``migration``, ``config``, ``rollback``).
        """
        from datetime import timedelta

        from wave_sdk import content, signing
        from wave_sdk.config.errors import Invalid
        from wave_sdk.config.levels import ACTIONS, check_level

        self.config.environment(environment)
        try:
            number = check_level(level)
        except Invalid as exc:
            raise UsageError(str(exc), hint=exc.hint) from None
        if action not in ACTIONS:
            raise UsageError(
                f"action {action!r} is not one an approval covers", hint=f"use {', '.join(ACTIONS)}"
            )
        if expires_in is not None and not 0 < expires_in <= MAX_VALIDITY_S:  # NaN too
            raise UsageError(
                f"an approval valid for {expires_in!r} seconds",
                hint=f"give a validity above 0 and up to {MAX_VALIDITY_S:.0f} seconds (a year), "
                "or none: an approval without one never expires",
            )
        if commit is not None:
            commit = content.resolve_commit(self.config, commit)
        if digest is not None:
            digest = content.check_digest(digest)
        if commit is None and digest is None and (release is None or source is not None):
            current = self.release(release, source=source)
            commit, digest = current.commit, current.digest
        approval = Approval(
            environment=environment,
            action=action,
            level=number,
            approved_by=approved_by or self.deployer,
            release=release,
            commit=commit,
            digest=digest,
            expires_at=None if expires_in is None else utcnow() + timedelta(seconds=expires_in),
        )
        key = self.config.approvals.key
        if key is not None:
            approval = signing.sign_approval(approval, key.get_secret_value())
        self.store.add_approval(approval)
        return approval

    def hotfix_finish(
        self, name: str, *, environment: str | None = None, deploy: bool = True
    ) -> tuple[HotfixFinished, DeployReport | None]:
        """Finish ``hotfix/<name>``: checks, approval, merge, push, deploy, backport, cleanup.

        See :func:`wave_sdk.git.finish_hotfix`.
        """
        from wave_sdk.git import finish_hotfix

        return finish_hotfix(self, name, environment=environment, deploy=deploy)

    # -- runs ------------------------------------------------------------------------------

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
        """Run the whole pipeline for ``environment`` (see :class:`~wave_sdk.run.deploy.DeployRun`).

        ``migrations`` says whether the release carries database migrations; ``None``
        detects it (``[migrations] detect`` paths changed since the environment's release).
        Returns the report of a verified deploy (or of the plan, with ``dry_run``); raises
        as :meth:`DeployRun.run <wave_sdk.run.deploy.DeployRun.run>` documents.
        """
        from wave_sdk.run.deploy import DeployRun

        release = self.release_for(environment, release, source=source, migrations=migrations)
        if dry_run:
            run = DeployRun(self.ctx, make_plan(self.ctx, environment, release))
            for step in run.plan.steps:
                self.ctx.emit("info", "plan", f"{step.step}: {step.detail}")
            return run.report
        self.recover(environment)
        run = DeployRun(
            self.ctx,
            make_plan(self.ctx, environment, release),
            lock_wait=lock_wait,
            allow_no_rollback=allow_no_rollback,
        )
        return run.run()

    def auto_deploy(
        self,
        *,
        branch: str | None = None,
        dry_run: bool = False,
        lock_wait: float = 0.0,
    ) -> AutoDeployReport:
        """Deploy the current commit wherever a push to ``branch`` auto-deploys.

        ``branch`` defaults to the one the CI job runs for, else the one checked out
        (:func:`~wave_sdk.autodeploy.pushed_branch`). Each environment whose ``branch``
        matches and whose ``auto_deploy`` is true gets :meth:`deploy`, in the order of the
        file; the first that fails stops the rest and raises as :meth:`deploy` does, with
        the reports of those deployed before it in history. The report lists every other
        environment with the reason it was left alone.
        """
        from wave_sdk.autodeploy import AutoDeployReport, environments_for, pushed_branch

        origin = "--branch"
        if branch is None:
            branch, origin = pushed_branch(self.config.root)
        chosen, skipped = environments_for(self.config, branch)
        report = AutoDeployReport(branch=branch, branch_from=origin, skipped=skipped)
        for skip in skipped:
            self.ctx.emit("info", "plan", f"not deploying to {skip.environment}: {skip.reason}")
        if not chosen:
            self.ctx.emit("ok", "plan", f"a push to {branch} deploys nowhere")
            return report
        release = self.release()
        for environment in chosen:
            report.deployed.append(
                self.deploy(environment, release=release, dry_run=dry_run, lock_wait=lock_wait)
            )
        return report

    def rollback(
        self,
        environment: str,
        *,
        to: str | None = None,
        reason: str | None = None,
        lock_wait: float = 0.0,
    ) -> list[RollbackResult]:
        """Roll every target of ``environment`` back, last target first, and verify.

        ``to`` names the release; without it, the last release that succeeded *before* the
        current one (from history, so a release that failed verification and was rolled back
        automatically is never chosen), or else the adapter's idea of "previous".
        """
        from wave_sdk.run.rollback import RollbackRun

        self.config.environment(environment)
        if to is not None:
            try:
                check_release_id(to)
            except ValueError as exc:
                raise UsageError(str(exc), hint="name a release `wave status` lists") from None
        self.recover(environment)
        return RollbackRun(self.ctx, environment, to=to, reason=reason, lock_wait=lock_wait).run()

    def recover(self, environment: str) -> list[recovery.Recovered]:
        """Reconcile runs of ``environment`` that died (what ``wave recover`` does)."""
        self.config.environment(environment)
        return recovery.recover(self.ctx, environment)

    def interrupted(
        self, environment: str | None = None, *, quiet: bool = False
    ) -> list[recovery.DeadRun]:
        """Runs that died and are not reconciled yet; each is reported in one line.

        ``quiet`` skips the report (the caller already made it, or shows them itself).
        """
        names = [environment] if environment else list(self.config.environments)
        found = [run for name in names for run in recovery.find(self.ctx, name) if run.dead]
        for run in [] if quiet else found:
            self.ctx.emit("warn", "recover", run.notice())
        return found

    def rollback_plan(self, environment: str) -> RollbackPlan:
        """What ``wave rollback`` would do and what the decision tree says, without acting.

        The decision is the one recorded for the last deploy of ``environment`` (a failed
        verification records its evidence); after a clean deploy it is "monitor".
        """
        from wave_sdk.decisions import Action, Evidence, advice, decide

        self.config.environment(environment)
        self.interrupted(environment)
        last = self.store.current(environment)
        runs = [r for r in self.store.history(environment) if r.kind in ("deploy", "rollback")]
        deploys = [r for r in runs if r.kind == "deploy"]
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
        targets = self._rollback_targets(environment, target)
        if last is None and not runs and all(t.state == "absent" for t in targets.values()):
            why = f"nothing has been deployed to {environment} yet"
        return RollbackPlan(
            environment=environment,
            current=last.release if last else None,
            rollback_to=target,
            rollback_to_reason=why,
            last_deploy=deploys[-1] if deploys else None,
            last_run=runs[-1] if runs else None,
            decision=recorded,
            advice=advice(Action(recorded["action"]), environment),
            targets=targets,
        )

    def _rollback_targets(self, environment: str, goal: str | None) -> dict[str, TargetRollback]:
        """Per target: what is live, and whether ``goal`` is still there to return to."""
        found: dict[str, TargetRollback] = {}
        for name in self.config.environment(environment).targets:
            try:
                with self.open_target(name, environment) as adapter:
                    live = boundary.live(self.plugins, adapter)
            except WaveError as exc:  # a plan informs: an unusable target is a finding
                found[name] = TargetRollback(
                    live=None, state="unknown", goal_kept=None, error=str(exc)
                )
                continue
            found[name] = TargetRollback(
                live=live.current if live else None,
                state=live.state if live else "unknown",
                goal_kept=goal in live.releases if live and goal else None,
            )
        return found

    # -- reading ---------------------------------------------------------------------------

    def status(self, environment: str | None = None) -> list[StatusReport]:
        """Status of every target of ``environment`` (or of every environment), once each."""
        names = [environment] if environment else list(self.config.environments)
        for name in names:
            self.config.environment(name)
        self.interrupted(environment)
        reports = []
        seen: set[str] = set()
        for env_name in names:
            for target in self.config.environment(env_name).targets:
                if target in seen:
                    continue
                seen.add(target)
                with self.open_target(target, env_name) as adapter:
                    reports.append(boundary.status(self.plugins, adapter))
        return reports

    def health(self, environment: str) -> dict[str, list[HealthResult]]:
        """One round of every health contributor for each target of ``environment``."""
        from wave_sdk.verification import health_round

        config = self.config.health_for(environment)
        self.interrupted(environment)
        out: dict[str, list[HealthResult]] = {}
        for target in self.config.environment(environment).targets:
            with self.open_target(target, environment) as adapter:
                status = boundary.status(self.plugins, adapter, brief=True)
                out[target] = health_round(self.plugins, adapter, config.base_url or status.url)
        return out

    def history(self, environment: str | None = None) -> list[HistoryRecord]:
        if environment:
            self.config.environment(environment)
        self.interrupted(environment)
        return self.store.history(environment)

    def confirm(
        self, environment: str, item: str, *, release: Release | None = None
    ) -> HistoryRecord:
        """Record that the manual checklist ``item`` is done for ``release`` (the checkout).

        The runbook has items no tool can check ("stakeholders aware"): the checklist shows
        them □ until a person confirms them, for this release, by the deployer's name.
        """
        self.config.environment(environment)
        release = release or self.release()
        record = HistoryRecord(
            deploy_id=new_deploy_id(),
            kind="confirm",
            environment=environment,
            release=release.id,
            commit=release.commit,
            digest=release.digest,
            outcome="recorded",
            started_at=utcnow(),
            deployer=self.deployer,
            reason=item,
        )
        self.store.append_history(record)
        return record

    def unlock(self, environment: str, *, reason: str, live: bool = False) -> dict[str, Any] | None:
        """Break the lock of ``environment``; the override is recorded in history.

        A holder that is alive on this machine is refused unless ``live`` says to break it
        anyway (``--force`` twice): two deploys at once is what the lock prevents.
        """
        from wave_sdk.errors import StateError

        if not reason.strip():
            raise UsageError("a reason is required to break a lock", hint='--reason "…"')
        self.config.environment(environment)
        with suppress(StateError):  # an unreadable lock is broken like any other
            current = self.store.read_lock(environment)
            if current is not None and not live and not self.store.is_stale(current):
                raise UsageError(
                    f"the lock of {environment} is held by a live deployment: {current.describe()}",
                    hint="wait for it (`wave deploy --lock-wait`), stop it, or pass --force "
                    "twice to break it anyway",
                )
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

    # -- what a release carries ------------------------------------------------------------

    def _stories(self, environment: str, release: Release) -> tuple[str, ...]:
        from wave_sdk import changes

        last = self.store.current(environment)
        return tuple(
            changes.stories(
                self.config.root,
                last.commit if last else None,
                release.commit,
                pattern=self.config.signals.story_pattern,
                signals_dir=self.ctx.signals_dir,
            )
        )

    def _with_migrations(
        self, environment: str, release: Release, carries: bool | None = None
    ) -> Release:
        """``release`` with ``has_migrations`` and ``migration_files`` for ``environment``.

        ``carries`` (``wave deploy --migrations``) overrides the detection; the files are
        listed either way, for the plan and the approval prompt to show.
        """
        settings = self.config.migrations
        if settings is None:
            return release
        from wave_sdk.migrations import migration_files

        last = self.store.current(environment)
        files = migration_files(
            self.config.root, last.commit if last else None, release.commit, settings.detect
        )
        if carries is None:
            carries = release.has_migrations or files is None or bool(files)
        return release.model_copy(
            update={
                "has_migrations": carries,
                "migration_files": tuple(files or ()) if carries else (),
            }
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"
