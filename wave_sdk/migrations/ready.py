"""The technical checklist's "Database migrations ready (if any)", before anything runs.

Ready means the procedure of :mod:`wave_sdk.migrations` can be carried out to its end for
the environment — including its undoing, which is when readiness matters:

* every database the run migrates (staging first, for production) has a ``database_url``;
* ``pg_dump`` and ``pg_restore`` are installed: the backup before each migration is the
  runbook's first step, and restoring it is the way back when there is no ``down``;
* an undo path exists: ``[migrations] down``, else the restore of that backup.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from wave_sdk.errors import ConfigError
from wave_sdk.models import CheckResult

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.models import Release

NAME = "migrations-ready"


def migrations_ready(config: WaveConfig, environment: str, release: Release | None) -> CheckResult:
    """Whether ``release``'s migrations can be run, and undone, in ``environment``."""
    from wave_sdk import procs
    from wave_sdk.migrations import MigrationRun

    def result(ok: bool, detail: str) -> CheckResult:
        return CheckResult(name=NAME, ok=ok, detail=detail, group="technical")

    settings = config.migrations
    if settings is None:
        return result(True, "no [migrations]: nothing to migrate")
    if release is None or not release.has_migrations:
        return result(True, "the release carries no migrations")
    files = len(release.migration_files)
    carries = f"{files} migration file{'s' if files != 1 else ''}" if files else "migrations"
    try:
        order = MigrationRun.for_deploy(config, environment).order
    except ConfigError as exc:
        return result(False, str(exc))
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        return result(
            False,
            f"{' and '.join(missing)} not installed: no backup before migrating "
            f"{', '.join(order)}, and no way back — install the PostgreSQL client tools "
            "(Debian: postgresql-client)",
        )
    undo = (
        f"undone by `{procs.shown(settings.down)}`"
        if settings.down is not None
        else "undone by restoring the backup (no [migrations] down)"
    )
    return result(True, f"{carries}: backed up, then migrated: {' → '.join(order)}; {undo}")
