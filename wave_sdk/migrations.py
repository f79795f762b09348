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
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal, final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from wave_sdk import procs, secrets
from wave_sdk.config import MigrationsConfig
from wave_sdk.errors import BackupFailed, ConfigError, GitError, MigrationError, RollbackFailed
from wave_sdk.reporting import Event, NullReporter

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.reporting import Reporter

__all__ = [
    "DatabaseRollback",
    "MigrationRecord",
    "MigrationResult",
    "MigrationRun",
    "MigrationsConfig",
    "backup",
    "carries_migrations",
    "migrate",
    "roll_back",
]

TAIL_LINES = 20
"""Lines of a command's output kept in results and shown (the last three) in errors."""

DatabaseUrl = str | SecretStr


# -- results -------------------------------------------------------------------------


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
        migrated: the environments migrated, in order.
        results: the migration commands' results.
        rolled_back: the database rollbacks, in the order they happened.

    """

    model_config = ConfigDict(extra="forbid")

    environment: str
    order: list[str]
    backups: dict[str, Path] = Field(default_factory=dict)
    migrated: list[str] = Field(default_factory=list)
    results: list[MigrationResult] = Field(default_factory=list)
    rolled_back: list[DatabaseRollback] = Field(default_factory=list)


# -- detection -----------------------------------------------------------------------


def carries_migrations(
    repo_root: Path, last_commit: str | None, head: str | None, detect: Sequence[str]
) -> bool:
    """Whether the release at ``head`` carries migrations the environment at ``last_commit`` lacks.

    True when a path of ``detect`` (git pathspecs relative to ``repo_root``, such as
    ``migrations/``) was added or modified between the two commits — deleted files do not
    count, so redeploying an older release is not a migration. Without a last commit (a
    first deploy) or without a head, true when one of the paths exists in ``repo_root``.
    When git cannot answer (not installed, a commit it does not know), true: backing up and
    running an idempotent migration command is the safe mistake.
    """
    paths = [p for p in detect if p.strip()]
    if not paths:
        return False
    if not last_commit or not head:
        return any(_has_files(repo_root / p) for p in paths)
    from wave_sdk.git import changed_files

    try:
        return bool(changed_files(repo_root, last_commit, head, paths=paths, deleted=False))
    except GitError:
        return True


def _has_files(path: Path) -> bool:
    if path.is_file():
        return True
    return path.is_dir() and any(p.is_file() for p in path.rglob("*"))


# -- the three operations ------------------------------------------------------------


def backup(
    database_url: DatabaseUrl,
    environment: str,
    backup_dir: Path,
    *,
    timeout: float = 1800.0,
) -> Path:
    """Dump the database to ``<backup_dir>/<environment>-<UTC time>.dump`` and return the path.

    ``pg_dump --format=custom`` writes to a hidden temporary name in ``backup_dir``; only a
    complete dump that ``pg_restore --list`` can read is fsync'd and linked under the real
    name (never replacing another file), so a backup file under that name is always whole.
    The directory is created ``0700`` and the file is ``0600``: it holds the data.

    Raises:
        BackupFailed: ``pg_dump`` is missing, fails or times out. The message is one line
            with the tail of its error output; the password never appears in it.

    """
    conn = _Connection.parse(database_url, environment)
    pg_dump = _tool("pg_dump", environment, BackupFailed)
    pg_restore = _tool("pg_restore", environment, BackupFailed)
    backup_dir = backup_dir.resolve()  # history records it; a relative path would drift
    backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{_file_part(environment)}-{stamp}"
    fd, tmp_name = tempfile.mkstemp(dir=backup_dir, prefix=f".{name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        done = _run(
            [pg_dump, *_NO_PROMPT, "--format=custom", f"--file={tmp}", conn.dbname],
            env=conn.env(),
            timeout=timeout,
        )
        if not done.ok:
            raise BackupFailed(
                f"backup of {environment} failed: pg_dump {done.outcome()}"
                f"{_brief(done.output, conn)}",
                hint=f"check environments.{environment}.database_url and that the server "
                "accepts connections from here",
            )
        check = _run([pg_restore, "--list", str(tmp)], env=conn.env(), timeout=timeout)
        if not check.ok:
            raise BackupFailed(
                f"backup of {environment} failed: pg_dump wrote a file pg_restore cannot "
                f"read{_brief(check.output, conn)}",
                hint="use a pg_dump at least as new as the server",
            )
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        path = _link_unique(tmp, backup_dir, name, ".dump")
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(backup_dir)
    return path


def migrate(
    config: MigrationsConfig,
    environment: str,
    database_url: DatabaseUrl,
    root: Path,
    *,
    backup: Path | None = None,
) -> MigrationResult:
    """Run the migration command against ``environment``'s database.

    The command runs in ``root`` (or ``[migrations] cwd`` under it) with ``DATABASE_URL``,
    the libpq variables, ``WAVE_ENVIRONMENT`` and — when given — ``WAVE_BACKUP`` (the
    backup taken for this migration) in its environment.

    Raises:
        MigrationError: the command failed or timed out; the message ends with the last
            lines of its output (secrets masked). The database is as the command left it:
            :meth:`MigrationRun.migrate` restores it, this function does not.

    """
    conn = _Connection.parse(database_url, environment)
    shown = procs.shown(config.command)
    done = _run(
        config.command,
        env=_command_env(conn, environment, backup),
        cwd=_cwd(config, root),
        timeout=config.timeout,
    )
    if not done.ok:
        raise MigrationError(
            f"migration of {environment} failed: `{shown}` {done.outcome()}"
            f"{_brief(done.output, conn)}",
            hint="fix the migration and deploy again",
        )
    return MigrationResult(
        environment=environment,
        command=shown,
        duration_s=done.duration_s,
        output_tail=_tail(done.output, conn),
    )


def roll_back(
    config: MigrationsConfig,
    environment: str,
    database_url: DatabaseUrl,
    root: Path,
    backup: Path | None,
) -> DatabaseRollback:
    """Undo the release's migrations on ``environment``'s database.

    The ``down`` command when configured; the restore of ``backup`` (see the module's
    docstring) when it is not, or when ``down`` fails and there is a backup.

    Raises:
        RollbackFailed: neither way worked, or there is neither a ``down`` command nor a
            backup. The database needs a human; the message says what was tried.

    """
    conn = _Connection.parse(database_url, environment)
    note = ""
    if config.down is not None:
        shown = procs.shown(config.down)
        done = _run(
            config.down,
            env=_command_env(conn, environment, backup),
            cwd=_cwd(config, root),
            timeout=config.timeout,
        )
        if done.ok:
            return DatabaseRollback(
                environment=environment,
                method="down",
                duration_s=done.duration_s,
                output_tail=_tail(done.output, conn),
            )
        note = f"`{shown}` {done.outcome()}{_brief(done.output, conn)}"
        if backup is None:
            raise RollbackFailed(
                f"database rollback of {environment} failed: {note}; there is no backup to restore",
                hint="the database needs a human: run the down migration by hand",
            )
    elif backup is None:
        raise RollbackFailed(
            f"database rollback of {environment} is impossible: no down command is "
            "configured and no backup was taken",
            hint="set [migrations] down, or restore a backup by hand with pg_restore",
        )
    assert backup is not None
    started = time.monotonic()
    try:
        output = _restore(conn, environment, backup, config.timeout)
    except RollbackFailed as exc:
        if note:
            exc.message = f"{exc.message} (after the down command failed: {note})"
        raise
    return DatabaseRollback(
        environment=environment,
        method="restore",
        backup=backup,
        duration_s=round(time.monotonic() - started, 3),
        output_tail=_tail(output, conn),
        note=f"down failed: {note}" if note else "",
    )


# -- the run ---------------------------------------------------------------------------


@final
class MigrationRun:
    """The migrations of one deploy: which databases, in what order, and what was done.

    Build it with :meth:`for_deploy`; call :meth:`execute` (or :meth:`backup` and
    :meth:`migrate` step by step) before the code is deployed, and :meth:`roll_back` first
    when the deploy fails. :attr:`record` is what the history keeps.

    Args:
        settings: the ``[migrations]`` table.
        environment: the environment being deployed.
        order: the environments whose databases are migrated, in order, ending with
            ``environment``.
        urls: each of those environments' database URL.
        root: the project directory (commands run there; ``backup_dir`` is under it).
        reporter: where progress goes (step ``migrate``, and ``rollback``).

    """

    def __init__(
        self,
        *,
        settings: MigrationsConfig,
        environment: str,
        order: Sequence[str],
        urls: Mapping[str, DatabaseUrl],
        root: Path,
        reporter: Reporter | None = None,
    ) -> None:
        if not order or order[-1] != environment:
            raise ValueError("order must end with the environment being deployed")
        self.settings = settings
        self.environment = environment
        self.order = tuple(order)
        self.root = root
        self.reporter: Reporter = reporter or NullReporter()
        self._urls = {name: _reveal(urls[name]) for name in self.order}
        for url in self._urls.values():
            secrets.register(url)
        self.record = MigrationRecord(environment=environment, order=list(self.order))

    @classmethod
    def for_deploy(
        cls, config: WaveConfig, environment: str, *, reporter: Reporter | None = None
    ) -> MigrationRun:
        """The run for a deploy of a release with migrations to ``environment``.

        With ``staging_first`` (the default), a deploy to a production environment (see
        ``environments.<name>.production``) migrates ``staging_environment`` first.

        Raises:
            ConfigError: ``[migrations]`` is missing, or an environment the run migrates
                has no ``database_url``.

        """
        settings = config.migrations
        if settings is None:
            raise ConfigError(
                "the release carries migrations but [migrations] is not configured",
                file=config.file_label,
                key="migrations",
                hint='add [migrations] with command = "…" (see docs/migrations.md)',
            )
        env = config.environment(environment)  # an unknown name fails here, with the known ones
        order = [environment]
        staging = settings.staging_environment
        if settings.staging_first and env.is_production(environment) and environment != staging:
            if staging not in config.environments:
                raise ConfigError(
                    f"staging_first migrates {staging!r} before {environment}, and there is "
                    "no such environment",
                    file=config.file_label,
                    key="migrations.staging_environment",
                    hint="name the staging environment, or set staging_first = false",
                )
            order.insert(0, staging)
        urls: dict[str, DatabaseUrl] = {}
        for name in order:
            url = config.environments[name].database_url
            if url is None:
                why = "its migrations need one" if name == environment else "staging_first"
                raise ConfigError(
                    f"no database_url ({why})",
                    file=config.file_label,
                    key=f"environments.{name}.database_url",
                    hint=f'add database_url = "${{DATABASE_URL_{_env_var_part(name)}}}"',
                )
            urls[name] = url
        return cls(
            settings=settings,
            environment=environment,
            order=order,
            urls=urls,
            root=config.root,
            reporter=reporter,
        )

    @property
    def backup_dir(self) -> Path:
        """Where backups go: ``[migrations] backup_dir``, relative to the project."""
        path = Path(self.settings.backup_dir)
        return path if path.is_absolute() else self.root / path

    @property
    def before(self) -> tuple[str, ...]:
        """The environments migrated (and verified) before the deploy's own one."""
        return self.order[:-1]

    def describe(self) -> str:
        """The run in one line, for a plan."""
        steps = [f"backup {', '.join(reversed(self.order))}"]
        for name in self.before:
            steps += [f"migrate {name}", f"verify {name}"]
        steps += ["approve", f"migrate {self.environment}"]
        return " → ".join(steps)

    def _emit(self, kind: str, step: str, message: str, **data: object) -> None:
        self.reporter.emit(Event(kind, step, message, dict(data)))

    # -- steps -------------------------------------------------------------------------

    def backup(self) -> dict[str, Path]:
        """Back up every database the run migrates, the deploy's own first.

        Raises :class:`~wave_sdk.errors.BackupFailed` before anything is migrated.
        """
        for name in reversed(self.order):
            self._emit("info", "migrate", f"backing up the database of {name}")
            path = backup(self._urls[name], name, self.backup_dir, timeout=self.settings.timeout)
            self.record.backups[name] = path
            self._emit("ok", "migrate", f"backup of {name}: {path}", backup=str(path))
        return dict(self.record.backups)

    def migrate(self, environment: str) -> MigrationResult:
        """Migrate ``environment``'s database; on failure restore it from its backup.

        Raises:
            MigrationError: the command failed; the database was restored (the message
                says so, and names the backup).
            RollbackFailed: the command failed and so did the restore.

        """
        self._check(environment)
        self._emit("info", "migrate", f"migrating the database of {environment}")
        taken = self.record.backups.get(environment)
        url = self._urls[environment]
        try:
            result = migrate(self.settings, environment, url, self.root, backup=taken)
        except MigrationError as exc:
            self._emit("fail", "migrate", str(exc))
            if taken is None:
                exc.message += "; no backup was taken: the database is as the command left it"
                raise
            # Not `down`: the command may have stopped half way. The backup is exact.
            self._emit("info", "rollback", f"restoring the database of {environment}")
            restore_only = self.settings.model_copy(update={"down": None})
            try:
                done = roll_back(restore_only, environment, url, self.root, taken)
            except RollbackFailed as failed:
                self._emit("fail", "rollback", str(failed))
                failed.message = f"{exc.message}; then {failed.message}"
                raise failed from exc
            self._record_rollback(done.model_copy(update={"note": "the migration failed"}))
            exc.message += f"; the database was restored from {taken}"
            raise
        self.record.migrated.append(environment)
        self.record.results.append(result)
        self._emit(
            "ok",
            "migrate",
            f"migrated {environment} ({result.duration_s:.1f}s)",
            command=result.command,
        )
        return result

    def execute(
        self,
        *,
        verify: Callable[[str], object] | None = None,
        approve: Callable[[str], object] | None = None,
    ) -> MigrationRecord:
        """Back up, then migrate each environment in order, verifying and approving between.

        ``approve(name)`` is called before each environment is migrated, ``verify(name)``
        after each one of :attr:`before`; either raises to stop. A failed verification
        rolls back every database migrated so far (newest first) and re-raises; a failed
        migration has restored its database (:meth:`migrate`); a failed approval leaves
        the verified ones migrated. Returns :attr:`record`.
        """
        self.backup()
        for name in self.order:
            if approve is not None:
                approve(name)
            self.migrate(name)
            if name != self.environment and verify is not None:
                try:
                    verify(name)
                except Exception:
                    self._emit("fail", "migrate", f"{name} failed verification after migrating")
                    self.roll_back(self.record.migrated)
                    raise
        return self.record

    def roll_back(self, environments: Iterable[str] | None = None) -> list[DatabaseRollback]:
        """Roll back databases this run migrated: the deploy's own by default.

        Environments not migrated (or already rolled back) are skipped; the others are
        rolled back newest first with :func:`roll_back`. Call it before the code's rollback.

        Raises:
            RollbackFailed: a database could not be rolled back (the others were tried).

        """
        wanted = set([self.environment] if environments is None else environments)
        undone = {r.environment for r in self.record.rolled_back}
        done: list[DatabaseRollback] = []
        errors: list[RollbackFailed] = []
        for name in reversed(self.record.migrated):
            if name not in wanted or name in undone:
                continue
            self._emit("info", "rollback", f"rolling back the database of {name}")
            try:
                result = roll_back(
                    self.settings,
                    name,
                    self._urls[name],
                    self.root,
                    self.record.backups.get(name),
                )
            except RollbackFailed as exc:
                self._emit("fail", "rollback", str(exc))
                errors.append(exc)
                continue
            self._record_rollback(result)
            done.append(result)
        if errors:
            raise RollbackFailed(
                "; ".join(e.message for e in errors), hint=errors[0].hint
            ) from errors[0]
        return done

    # -- internals ---------------------------------------------------------------------

    def _check(self, environment: str) -> None:
        if environment not in self.order:
            raise ValueError(f"{environment!r} is not migrated by this run ({self.order})")

    def _record_rollback(self, result: DatabaseRollback) -> None:
        self.record.rolled_back.append(result)
        how = "down command" if result.method == "down" else f"restore of {result.backup}"
        self._emit(
            "ok",
            "rollback",
            f"database of {result.environment} rolled back ({how})",
            method=result.method,
        )


# -- restore -----------------------------------------------------------------------------

_TOC_ENTRY = re.compile(r"^\d+; (\d+) (\d+) ", re.MULTILINE)

# Runs before the backup's own script, in the same transaction. Every object created since
# the backup (its catalog oid is not in the archive) is dropped: ``--clean`` only drops what
# the archive holds, so a new table would otherwise survive the "restore" — and a new
# foreign key between two old tables would make the archive's DROP TABLE fail. System
# objects have oids below 16384; extension members and internal objects (identity
# sequences, array and row types) go with their owners.
_DROP_ADDITIONS = r"""
DO $wave$
DECLARE
    kept text[] := %(kept)s;
    stmt text;
    stmts text[];
BEGIN
    SET LOCAL client_min_messages = warning;
    SELECT coalesce(array_agg(s ORDER BY pass, s), '{}') INTO stmts FROM (
        SELECT 1 AS pass,
               format('ALTER TABLE IF EXISTS %%I.%%I DROP CONSTRAINT IF EXISTS %%I CASCADE',
                      n.nspname, r.relname, c.conname) AS s
        FROM pg_constraint c
        JOIN pg_class r ON r.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE c.contype = 'f' AND c.oid >= 16384
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_constraint'::regclass::oid || ':' || c.oid) <> ALL (kept)
        UNION ALL
        SELECT 2, format('ALTER TABLE IF EXISTS %%I.%%I ALTER COLUMN %%I DROP DEFAULT',
                         n.nspname, r.relname, a.attname)
        FROM pg_attrdef d
        JOIN pg_class r ON r.oid = d.adrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE d.oid >= 16384 AND NOT a.attisdropped
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_attrdef'::regclass::oid || ':' || d.oid) <> ALL (kept)
        UNION ALL
        SELECT 3, format('DROP %%s IF EXISTS %%I.%%I CASCADE',
                         CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                        WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                        ELSE 'TABLE' END,
                         n.nspname, r.relname)
        FROM pg_class r
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE r.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND r.oid >= 16384
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_class'::regclass::oid || ':' || r.oid) <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = 'pg_class'::regclass AND e.objid = r.oid
                            AND e.deptype IN ('e', 'i'))
        UNION ALL
        SELECT 4, format('DROP %%s IF EXISTS %%I.%%I(%%s) CASCADE',
                         CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                                        ELSE 'FUNCTION' END,
                         n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.oid >= 16384
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_proc'::regclass::oid || ':' || p.oid) <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
                            AND e.deptype IN ('e', 'i'))
        UNION ALL
        SELECT 5, format('DROP %%s IF EXISTS %%I.%%I CASCADE',
                         CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                         n.nspname, t.typname)
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.oid >= 16384 AND t.typtype IN ('c', 'd', 'e', 'r')
          AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_type'::regclass::oid || ':' || t.oid) <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid
                            AND e.deptype IN ('e', 'i'))
        UNION ALL
        SELECT 6, format('DROP SCHEMA IF EXISTS %%I CASCADE', n.nspname)
        FROM pg_namespace n
        WHERE n.oid >= 16384 AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_namespace'::regclass::oid || ':' || n.oid) <> ALL (kept)
        UNION ALL
        SELECT 7, format('DROP EXTENSION IF EXISTS %%I CASCADE', x.extname)
        FROM pg_extension x
        WHERE x.oid >= 16384
          AND ('pg_extension'::regclass::oid || ':' || x.oid) <> ALL (kept)
    ) additions;
    FOREACH stmt IN ARRAY stmts LOOP
        BEGIN
            EXECUTE stmt;
        EXCEPTION
            WHEN undefined_column OR undefined_table OR undefined_object
                 OR invalid_schema_name THEN
            NULL;  -- already gone with something dropped before it
        END;
    END LOOP;
END
$wave$;
"""


def _restore(conn: _Connection, environment: str, backup: Path, timeout: float) -> str:
    """Return the database to ``backup`` in one transaction; the output of psql."""

    def fail(what: str) -> RollbackFailed:
        return RollbackFailed(
            f"database rollback of {environment} failed: {what}",
            hint=f"the database needs a human: restore {backup} with pg_restore",
        )

    if not backup.is_file():
        raise fail(f"the backup {backup} does not exist")
    pg_restore = _tool("pg_restore", environment, RollbackFailed)
    psql = _tool("psql", environment, RollbackFailed)
    listing = _run([pg_restore, "--list", str(backup)], env=conn.env(), timeout=timeout)
    if not listing.ok:
        raise fail(f"pg_restore cannot read {backup}{_brief(listing.output, conn)}")
    kept = sorted({f"{c}:{o}" for c, o in _TOC_ENTRY.findall(listing.output) if c != "0"})
    array = "ARRAY[" + ",".join(f"'{k}'" for k in kept) + "]::text[]"
    prelude = _DROP_ADDITIONS % {"kept": array}
    done = _run_restore(
        [pg_restore, "--clean", "--if-exists", "--file=-", str(backup)],
        [psql, *_NO_PROMPT, "-X", "-q", "-v", "ON_ERROR_STOP=1", conn.dbname],
        prelude=prelude,
        env=conn.env(),
        timeout=timeout,
    )
    if not done.ok:
        raise fail(f"restore from {backup} {done.outcome()}{_brief(done.output, conn)}")
    return done.output


# -- connections -----------------------------------------------------------------------

_LIBPQ_PARAMS = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
"""URL query parameters and the libpq environment variables that mean the same."""

_NO_PROMPT = ("--no-password",)
"""A missing or wrong password fails at once rather than waiting for someone to type it."""

_SERVER_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
"""Inherited variables dropped first: they must not point a command at another server."""


@dataclass(frozen=True)
class _Connection:
    """A database URL split into what may be shown and what may not."""

    url: str
    safe_url: str
    password: str | None
    libpq: dict[str, str]
    masked: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never the URL, whatever prints this
        return f"_Connection({self.safe_url!r})"

    @classmethod
    def parse(cls, database_url: DatabaseUrl, environment: str) -> _Connection:
        url = _reveal(database_url)
        secrets.register(url)
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ConfigError(
                f"the database URL of {environment} is not a postgresql:// URL",
                key=f"environments.{environment}.database_url",
                hint="write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
            )
        userinfo, at, hostinfo = parts.netloc.rpartition("@")
        password: str | None = None
        user, raw = userinfo, ""
        if ":" in userinfo:
            user, _, raw = userinfo.partition(":")
            password = unquote(raw)
        query: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "password":
                password = value
            else:
                query.append((key, value))
        masked = tuple(v for v in (url, raw, password) if v)
        for value in masked:
            secrets.register(value)
        netloc = f"{user}@{hostinfo}" if at else hostinfo
        safe = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
        libpq: dict[str, str] = {}
        hosts, ports = [], []
        for item in hostinfo.split(",") if hostinfo else []:
            if item.startswith("["):  # [v6 address]:port
                host, _, rest = item[1:].partition("]")
                port = rest.removeprefix(":")
            else:
                host, _, port = item.partition(":")
            hosts.append(unquote(host))
            ports.append(port)
        if any(hosts):
            libpq["PGHOST"] = ",".join(hosts)
        if any(ports):
            libpq["PGPORT"] = ",".join(ports)
        if user:
            libpq["PGUSER"] = unquote(user)
        if parts.path.strip("/"):
            libpq["PGDATABASE"] = unquote(parts.path.lstrip("/"))
        for key, value in query:
            if key in _LIBPQ_PARAMS:
                libpq[_LIBPQ_PARAMS[key]] = value
        if password is not None:
            libpq["PGPASSWORD"] = password
        return cls(url=url, safe_url=safe, password=password, libpq=libpq, masked=masked)

    @property
    def dbname(self) -> str:
        """The ``--dbname`` argument of a client: the URL without its password."""
        return f"--dbname={self.safe_url}"

    def env(self) -> dict[str, str]:
        """The process environment for a client of this database."""
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_VARS}
        env.update(self.libpq)
        return env

    def scrub(self, text: str) -> str:
        """``text`` with the URL and the password masked (and every registered secret)."""
        for value in sorted(self.masked, key=len, reverse=True):
            text = text.replace(value, secrets.MASK)
        return secrets.redact(text)


def _reveal(value: DatabaseUrl) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _command_env(conn: _Connection, environment: str, backup: Path | None) -> dict[str, str]:
    env = conn.env()
    env["DATABASE_URL"] = conn.url
    env["WAVE_ENVIRONMENT"] = environment
    env.pop("WAVE_BACKUP", None)
    if backup is not None:
        env["WAVE_BACKUP"] = str(backup)
    return env


# -- processes -----------------------------------------------------------------------


def _run(
    command: str | Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path | None = None,
) -> procs.Result:
    """Run ``command`` (a string through the shell), its output and error output merged."""
    argv = procs.command_argv(command)
    try:
        return procs.run(argv, timeout=timeout, cwd=cwd, env=env, merge_stderr=True)
    except OSError as exc:
        # An argv whose program does not exist: a failed run, reported like a shell would.
        return _failed(argv, 127, f"{argv[0]}: {exc.strerror}", timeout)


def _failed(argv: Sequence[str], code: int, output: str, timeout: float) -> procs.Result:
    return procs.Result(
        argv=tuple(argv),
        returncode=code,
        stdout=output,
        stderr="",
        timed_out=False,
        timeout=timeout,
        duration_s=0.0,
    )


def _run_restore(
    producer: Sequence[str],
    consumer: Sequence[str],
    *,
    prelude: str,
    env: Mapping[str, str],
    timeout: float,
) -> procs.Result:
    """``producer | consumer`` inside ``BEGIN`` … ``COMMIT``, committed only if both succeed.

    Python relays the bytes rather than a pipe between the two because the end of the
    script must depend on the producer: were pg_restore to die half way through, psql would
    reach the end of a truncated script and commit it. Here it gets ``COMMIT`` only after
    pg_restore exited 0; otherwise its input just ends, and the server rolls back. At the
    deadline a timer ends both process groups, which ends the relay.
    """
    started = time.monotonic()
    expired = threading.Event()
    bound = timeout + procs.GRACE_S + 10  # the timer has ended both by then
    with contextlib.ExitStack() as stack:
        err1 = stack.enter_context(tempfile.TemporaryFile())
        out2 = stack.enter_context(tempfile.TemporaryFile())
        sink = stack.enter_context(
            procs.start(
                consumer, env=env, stdin=subprocess.PIPE, stdout=out2, stderr=subprocess.STDOUT
            )
        )
        source = stack.enter_context(
            procs.start(producer, env=env, stdout=subprocess.PIPE, stderr=err1)
        )
        into, out_of = sink.popen.stdin, source.popen.stdout
        assert into is not None and out_of is not None

        def expire() -> None:
            expired.set()
            source.end()
            sink.end()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        stack.callback(timer.cancel)
        timer.start()
        try:
            into.write(b"BEGIN;\n" + prelude.encode())
            shutil.copyfileobj(out_of, into, 1 << 20)
            if source.wait(bound) == 0 and not expired.is_set():
                into.write(b"\nCOMMIT;\n")
        except (BrokenPipeError, ValueError):
            pass  # psql stopped (an error, or the deadline): its exit status says which
        finally:
            out_of.close()
            with contextlib.suppress(BrokenPipeError):
                into.close()
        codes = [sink.wait(bound), source.wait(bound)]
        output = "\n".join(t for t in (_read(err1), _read(out2)) if t.strip())
    failed = next((c for c in codes if c != 0), 0)
    return procs.Result(
        argv=(*producer, "|", *consumer),
        returncode=-signal.SIGKILL if failed is None else failed,
        stdout=output,
        stderr="",
        timed_out=expired.is_set(),
        timeout=timeout,
        duration_s=round(time.monotonic() - started, 3),
    )


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


# -- small helpers ---------------------------------------------------------------------


def _tool(name: str, environment: str, error: type[MigrationError | RollbackFailed]) -> str:
    path = shutil.which(name)
    if path is None:
        raise error(
            f"{name} is not installed: cannot back up or restore the database of {environment}",
            hint="install the PostgreSQL client tools, at least the server's version "
            "(Debian: apt-get install postgresql-client)",
        )
    return path


def _cwd(config: MigrationsConfig, root: Path) -> Path:
    return root / config.cwd if config.cwd else root


def _tail(output: str, conn: _Connection, lines: int = TAIL_LINES) -> str:
    return conn.scrub("\n".join(output.strip().splitlines()[-lines:]))


def _brief(output: str, conn: _Connection) -> str:
    """The gist of ``output`` on one line, for an error message.

    From the last line that reports an error (psql's ``ERROR:`` and its ``DETAIL``, a
    tool's ``error:``), else the last three lines.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    marked = [i for i, line in enumerate(lines) if _ERROR_LINE.search(line)]
    shown = lines[marked[-1] : marked[-1] + 3] if marked else lines[-3:]
    return f": {conn.scrub(' | '.join(shown))}" if shown else ""


_ERROR_LINE = re.compile(r"(?i)\b(error|fatal|panic)\b")


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "database"


def _env_var_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _link_unique(tmp: Path, directory: Path, name: str, suffix: str) -> Path:
    """Give ``tmp`` the first free name ``name[-N]suffix``; never replaces a file."""
    for n in range(1, 1000):
        path = directory / f"{name}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            os.link(tmp, path)
        except FileExistsError:
            continue
        return path
    raise BackupFailed(f"no free backup name for {name} in {directory}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
