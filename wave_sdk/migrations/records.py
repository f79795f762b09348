"""What a migration run did, as the history keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class MigrationResult(_Result):
    """One environment's database migrated.

    Attributes:
        environment: whose database.
        command: the command as run (the configured text; never the URL).
        duration_s: how long it took.
        output_tail: its last lines of output, secrets masked.

    """

    environment: str
    command: str
    duration_s: float
    output_tail: str = ""


class DatabaseRollback(_Result):
    """One environment's database rolled back.

    Attributes:
        environment: whose database.
        method: ``down`` (the configured command ran) or ``restore`` (the backup was
            restored).
        backup: the backup restored, for ``restore``.
        duration_s: how long it took.
        output_tail: the last lines of output, secrets masked.
        note: why the method is not the configured one (``down`` failed), else empty.

    """

    environment: str
    method: Literal["down", "restore"]
    backup: Path | None = None
    duration_s: float
    output_tail: str = ""
    note: str = ""


class MigrationRecord(BaseModel):
    """What a :class:`MigrationRun` did, for the history: ``model_dump(mode="json")``.

    Attributes:
        environment: the environment being deployed.
        order: the environments whose databases the run migrates, in order.
        backups: each environment's backup file, taken before anything was migrated.
        held: where the state store's backup vault holds each backup, when it is one
            (see :mod:`wave_sdk.migrations.vault`); a rollback fetches it from there
            when the file of ``backups`` is gone.
        migrated: the environments migrated, in order.
        results: the migration commands' results.
        rolled_back: the database rollbacks, in the order they happened.
        down_tested: the environments whose down migration was exercised (up, down, up:
            ``[migrations] test_down``), with the down command's result.

    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    environment: str
    order: list[str]
    backups: dict[str, Path] = Field(default_factory=dict)
    down_tested: list[DatabaseRollback] = Field(default_factory=list)
    held: dict[str, str] = Field(default_factory=dict)
    migrated: list[str] = Field(default_factory=list)
    results: list[MigrationResult] = Field(default_factory=list)
    rolled_back: list[DatabaseRollback] = Field(default_factory=list)
