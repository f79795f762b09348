"""Rolling a database back from what was written down, not from a live migration run.

An interrupted run (and ``wave rollback``) no longer has its
:class:`~wave_sdk.migrations.MigrationRun`; what it has is the migration record — in the
history, or in the journal's ``migrating``/``migrated`` entries. The runbook rolls the
database back before the code: :func:`undo_recorded` does that for the deployed
environment's database, and restores from its backup any database the run was migrating
when it stopped (a half-run migration has no trustworthy down step; the backup is exact).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import RollbackFailed

if TYPE_CHECKING:
    from wave_sdk.run.context import RunContext


def undo_recorded(
    ctx: RunContext, record: dict[str, Any], *, partial: str | None = None
) -> list[str]:
    """Undo ``record``'s migrations still standing; return what was done, one line each.

    ``record`` is a :class:`~wave_sdk.migrations.MigrationRecord` as JSON. The deployed
    environment's database is rolled back if it was migrated and not yet rolled back;
    ``partial`` names a database whose migration was under way (restored from its backup).

    Raises:
        RollbackFailed: a database could not be rolled back (the message names it).

    """
    settings = ctx.config.migrations
    if settings is None:
        return []
    from wave_sdk.migrations import backup_dir, roll_back
    from wave_sdk.migrations.vault import obtain, vault_of

    undone = {d.get("environment") for d in record.get("rolled_back", [])}
    backups = record.get("backups", {})
    todo: list[tuple[str, bool]] = []
    if partial and partial not in record.get("migrated", []) and partial not in undone:
        todo.append((partial, True))
    deployed = str(record.get("environment"))
    if deployed in record.get("migrated", []) and deployed not in undone:
        todo.append((deployed, False))
    done = []
    for name, restore_only in todo:
        url = (
            ctx.config.environments[name].database_url if name in ctx.config.environments else None
        )
        if url is None:
            raise RollbackFailed(
                f"the {name} database was migrated, and it has no database_url now",
                hint=f"add database_url to [environments.{name}] to roll it back",
            )
        ctx.emit("step", "rollback", f"rolling back the {name} database first")
        backup = obtain(
            Path(backups[name]) if backups.get(name) else None,
            record.get("held", {}).get(name),
            vault_of(ctx.store),
            backup_dir(settings, ctx.config.root),
        )
        use = settings.model_copy(update={"down": None}) if restore_only else settings
        result = roll_back(use, name, url, ctx.config.root, backup)
        how = "down command" if result.method == "down" else f"restore of {result.backup}"
        ctx.emit("ok", "rollback", f"{name} database rolled back ({how})")
        done.append(f"{name} database rolled back ({how})")
    return done
