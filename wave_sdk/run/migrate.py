"""The migrate step of a deploy: the runbook's database procedure, journaled.

Back up every database the run migrates, migrate staging first and verify it when
deploying to production, then migrate the environment's own database — before any code
moves. The journal gets ``migrate`` before the first backup and ``migrating`` (with the
migration record so far) before each database, so that recovery knows which database a
dead run was in the middle of and restores it from its backup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wave_sdk.errors import RollbackFailed, VerificationFailed, WaveError
from wave_sdk.run import boundary

if TYPE_CHECKING:
    from wave_sdk.contacts import Failure
    from wave_sdk.migrations import MigrationRun
    from wave_sdk.run.deploy import DeployRun


def migrate(run: DeployRun) -> MigrationRun:
    """Run the migrations of ``run``'s release; fill its report; return the migration run."""
    from wave_sdk.migrations import MigrationRun

    ctx, environment = run.ctx, run.environment
    from wave_sdk.migrations.vault import vault_of

    migration = MigrationRun.for_deploy(
        ctx.config, environment, reporter=ctx.reporter, vault=vault_of(ctx.store)
    )
    run.migration = migration
    ctx.emit("step", "migrate", migration.describe())
    run.journal.write("migrate", order=list(migration.order))

    def approve_step(name: str) -> None:
        run.journal.write(
            "migrating", database=name, record=migration.record.model_dump(mode="json")
        )
        # The deployed environment's migration approval was obtained before the lock;
        # staging's migration is a step of that same approved procedure.
        if name != environment:
            ctx.emit("info", "migrate", f"{name}: part of the approved {environment} run")

    try:
        migration.execute(verify=lambda name: verify_environment(run, name), approve=approve_step)
    except WaveError as exc:
        run.report.migration = migration.record.model_dump(mode="json")
        run.report.reason = f"migration failed: {exc.message}"
        kind: Failure = "rollback" if isinstance(exc, RollbackFailed) else "database"
        exc.message += ctx.contacts(kind, database=True)  # the people this needs, by role
        raise
    run.report.migrated = True
    run.report.migration = migration.record.model_dump(mode="json")
    run.journal.write("migrated", record=run.report.migration)
    return migration


def verify_environment(run: DeployRun, environment: str) -> None:
    """One health round of every target of ``environment`` (staging after migrating)."""
    from wave_sdk.verification import health_round

    ctx = run.ctx
    bad = []
    config = ctx.config.health_for(environment)
    for target in ctx.config.environment(environment).targets:
        with ctx.open_target(target, environment) as adapter:
            status = boundary.status(ctx.plugins, adapter, brief=True)
            for r in health_round(ctx.plugins, adapter, config.base_url or status.url):
                if not r.ok:
                    bad.append(f"{target} {r.source} {r.name}: {r.detail}")
    if bad:
        raise VerificationFailed(f"{environment} failed verification: {'; '.join(bad)}")
    ctx.emit("ok", "migrate", f"{environment} verified after migrating")
