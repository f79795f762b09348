"""Where migration backups are kept beyond this machine: the optional backup vault.

A backup is always taken to a local file first (``pg_dump`` writes a file, and the
migration command gets it as ``WAVE_BACKUP``). When the state store is also a
:class:`BackupVault` — a remote store shared by a team, such as ``contrib/s3`` — the file is
then handed to it, and the migration record keeps where the vault holds it
(:attr:`~wave_sdk.migrations.MigrationRecord.held`). A database rollback uses the local file
when it is still there and fetches the vault's copy otherwise: on another machine of the
team, on a fresh CI runner, or after the local copy was cleaned up.

The core knows no vault by name: any state store that implements the two methods below
holds backups, and one that does not (the built-in ``local`` store) leaves them on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from wave_sdk.errors import RollbackFailed


@runtime_checkable
class BackupVault(Protocol):
    """What a state store implements to hold migration backups."""

    def put_backup(self, environment: str, path: Path) -> str:
        """Store the backup file ``path`` of ``environment``; return where it is held.

        The returned location is opaque to the core (``s3://bucket/key`` for S3); it is
        written in the migration record and given back to :meth:`fetch_backup`. Raise
        :class:`~wave_sdk.errors.BackupFailed` when the backup could not be stored: the
        migration then does not start.
        """
        ...

    def fetch_backup(self, location: str, directory: Path) -> Path:
        """Copy the backup held at ``location`` into ``directory``; return the file.

        Raise :class:`~wave_sdk.errors.RollbackFailed` when it cannot be fetched.
        """
        ...


def vault_of(store: object) -> BackupVault | None:
    """``store`` as a backup vault, or ``None`` when it keeps no backups."""
    return store if isinstance(store, BackupVault) else None


def obtain(
    local: Path | None, location: str | None, vault: BackupVault | None, directory: Path
) -> Path | None:
    """The backup file to restore: the local one if present, else the vault's copy.

    ``None`` when there is neither (the caller says what that means); a held location
    without a vault to fetch it from (the state store changed since) is a
    :class:`~wave_sdk.errors.RollbackFailed` naming the location.
    """
    if local is not None and local.is_file():
        return local
    if location is None:
        return local
    if vault is None:
        raise RollbackFailed(
            f"the backup is held at {location}, and the state store cannot fetch it",
            hint="configure the state store that took it ([state] store), or fetch it by hand",
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return vault.fetch_backup(location, directory)
