"""Database migrations: backup first, staging first, and on failure the database first.

The runbook's *database migration deployment*, as a unit the pipeline calls. A release
*carries migrations* when files under ``[migrations] detect`` changed since the commit the
environment runs (:func:`carries_migrations`). Such a release is deployed in this order —
the steps marked *pipeline* are the pipeline's, the others :class:`MigrationRun`'s::

    run = MigrationRun.for_deploy(config, "production", reporter=reporter)
    run.execute(verify=verify_env, approve=approve_migration)
        1. backup      pg_dump of every database the run migrates, production first
        2. migrate     staging's database (``staging_first``, for a production deploy)
        3. verify      pipeline: staging still passes its health checks        (verify)
        4. approve     pipeline: the ``migration`` approval of the matrix       (approve)
        5. migrate     production's database
    6. deploy          pipeline: the code, as for any release
    7. verify          pipeline: health checks, smoke test
    8. on failure      pipeline: ``run.roll_back()`` — the database first —
                       then the adapters roll the code back
    history            pipeline: ``run.record`` (backups, migrated environments, rollbacks)

``approve`` and ``verify`` are called with an environment name: ``approve`` before each
environment is migrated (in order), ``verify`` after each environment migrated *before* the
deploy's own one (whose verification is the deploy's). When ``execute`` raises it has
already cleaned up what it did: a failed migration command restores that database from the
backup taken a moment before (the command may have stopped half way, so ``down`` is no
use); a failed staging verification rolls staging back. A missing approval leaves staging
migrated — it was verified, and migration commands are idempotent, so the next attempt
carries on.

Rolling a database back (:func:`roll_back`) runs the ``down`` command when one is
configured — nothing written since the migration is lost — and restores the backup
otherwise, or when ``down`` fails. A restore returns the database to the moment of the
backup in one transaction: whatever was created since (tables, views, sequences, types,
functions, schemas, extensions, foreign keys, column defaults) is dropped, then
``pg_restore --clean --if-exists`` replaces everything the backup holds. Roles and
settings outside the database are not part of a backup.

The connection never appears on a command line: tools get the URL without its password
(``--dbname``) and the password as ``PGPASSWORD``; the migration command gets
``DATABASE_URL`` and the libpq variables (``PGHOST``, ``PGPORT``, ``PGUSER``,
``PGDATABASE``, ``PGPASSWORD``, …) so that ``psql -f up.sql`` connects as it is.
Everything is synchronous; each command is killed (its whole process group) after
``[migrations] timeout`` seconds.

The package: :mod:`~wave_sdk.migrations.procedure` holds the procedure (detection, the
migration and rollback commands, :class:`MigrationRun`), :mod:`~wave_sdk.migrations.postgres`
the database-specific part (the connection, ``pg_dump``, the restore through ``pg_restore``
and ``psql``), :mod:`~wave_sdk.migrations.records` what the history keeps, and
:mod:`~wave_sdk.migrations.vault` how a state store keeps backups beyond this machine.
"""

from __future__ import annotations

from wave_sdk.config import MigrationsConfig
from wave_sdk.migrations.postgres import backup
from wave_sdk.migrations.procedure import (
    MigrationRun,
    backup_dir,
    carries_migrations,
    migrate,
    migration_files,
    roll_back,
)
from wave_sdk.migrations.records import DatabaseRollback, MigrationRecord, MigrationResult

__all__ = [
    "DatabaseRollback",
    "MigrationRecord",
    "MigrationResult",
    "MigrationRun",
    "MigrationsConfig",
    "backup",
    "backup_dir",
    "carries_migrations",
    "migrate",
    "migration_files",
    "roll_back",
]
