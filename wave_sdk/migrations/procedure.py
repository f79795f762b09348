"""The migration procedure: which release carries migrations, migrate, roll back, the run.

See :mod:`wave_sdk.migrations` for the order of the steps and what each failure undoes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, final

from wave_sdk import procs, secrets
from wave_sdk.config import MigrationsConfig
from wave_sdk.errors import ConfigError, GitError, MigrationError, RollbackFailed
from wave_sdk.migrations.postgres import (
    Connection,
    DatabaseUrl,
    backup,
    brief,
    command_env,
    restore,
    reveal,
    run_command,
    tail,
)
from wave_sdk.migrations.records import DatabaseRollback, MigrationRecord, MigrationResult
from wave_sdk.migrations.vault import BackupVault, obtain
from wave_sdk.reporting import Event, NullReporter

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.reporting import Reporter

# -- detection -----------------------------------------------------------------------


def carries_migrations(
    repo_root: Path, last_commit: str | None, head: str | None, detect: Sequence[str]
) -> bool:
    """Whether the release at ``head`` carries migrations the environment at ``last_commit`` lacks.

    True when :func:`migration_files` finds one, and when git cannot tell: backing up and
    running an idempotent migration command is the safe mistake.
    """
    files = migration_files(repo_root, last_commit, head, detect)
    return files is None or bool(files)


def migration_files(
    repo_root: Path, last_commit: str | None, head: str | None, detect: Sequence[str]
) -> list[str] | None:
    """The migration files of the release at ``head`` that the environment at ``last_commit`` lacks.

    Files under a path of ``detect`` (git pathspecs relative to ``repo_root``, such as
    ``migrations/``) added or modified between the two commits — deleted files do not
    count, so redeploying an older release is not a migration. Without a last commit (a
    first deploy) or without a head, every file under those paths. ``None`` when git
    cannot tell (not installed, a commit it does not know). They are what the runbook's
    "review migration files" reviews: ``wave plan`` and the approval prompt list them.
    """
    paths = [p for p in detect if p.strip()]
    if not paths:
        return []
    if not last_commit or not head:
        return sorted(
            str(f.relative_to(repo_root)) for p in paths for f in _files_under(repo_root / p)
        )
    from wave_sdk.git import changed_files

    try:
        return changed_files(repo_root, last_commit, head, paths=paths, deleted=False)
    except GitError:
        return None


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []


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
    conn = Connection.parse(database_url, environment)
    shown = procs.shown(config.command)
    done = _run_configured(config.command, config, conn, environment, root, backup)
    if not done.ok:
        raise MigrationError(
            f"migration of {environment} failed: `{shown}` {done.outcome()}"
            f"{brief(done.output, conn)}",
            hint="fix the migration and deploy again",
        )
    return MigrationResult(
        environment=environment,
        command=shown,
        duration_s=done.duration_s,
        output_tail=tail(done.output, conn),
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
    conn = Connection.parse(database_url, environment)
    note = ""
    if config.down is not None:
        shown = procs.shown(config.down)
        done = _run_configured(config.down, config, conn, environment, root, backup)
        if done.ok:
            return DatabaseRollback(
                environment=environment,
                method="down",
                duration_s=done.duration_s,
                output_tail=tail(done.output, conn),
            )
        note = f"`{shown}` {done.outcome()}{brief(done.output, conn)}"
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
        output = restore(conn, environment, backup, config.timeout)
    except RollbackFailed as exc:
        if note:
            exc.message = f"{exc.message} (after the down command failed: {note})"
        raise
    return DatabaseRollback(
        environment=environment,
        method="restore",
        backup=backup,
        duration_s=round(time.monotonic() - started, 3),
        output_tail=tail(output, conn),
        note=f"down failed: {note}" if note else "",
    )


def backup_dir(config: MigrationsConfig, root: Path) -> Path:
    """Where backups go (and fetched ones land): ``backup_dir``, relative to ``root``."""
    path = Path(config.backup_dir)
    return path if path.is_absolute() else root / path


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
        vault: where backups are kept beyond this machine (the state store, when it is a
            :class:`~wave_sdk.migrations.vault.BackupVault`), or ``None``.

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
        vault: BackupVault | None = None,
    ) -> None:
        if not order or order[-1] != environment:
            raise ValueError("order must end with the environment being deployed")
        self.settings = settings
        self.environment = environment
        self.order = tuple(order)
        self.root = root
        self.reporter: Reporter = reporter or NullReporter()
        self.vault = vault
        self._urls = {name: reveal(urls[name]) for name in self.order}
        for url in self._urls.values():
            secrets.register(url)
        self.record = MigrationRecord(environment=environment, order=list(self.order))

    @classmethod
    def for_deploy(
        cls,
        config: WaveConfig,
        environment: str,
        *,
        reporter: Reporter | None = None,
        vault: BackupVault | None = None,
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
            vault=vault,
        )

    @property
    def backup_dir(self) -> Path:
        """Where backups go: ``[migrations] backup_dir``, relative to the project."""
        return backup_dir(self.settings, self.root)

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

        With a :attr:`vault`, each backup is stored there too before the next one starts.
        Raises :class:`~wave_sdk.errors.BackupFailed` before anything is migrated.
        """
        for name in reversed(self.order):
            self._emit("info", "migrate", f"backing up the database of {name}")
            path = backup(self._urls[name], name, self.backup_dir, timeout=self.settings.timeout)
            self.record.backups[name] = path
            self._emit("ok", "migrate", f"backup of {name}: {path}", backup=str(path))
            if self.vault is not None:
                held = self.vault.put_backup(name, path)
                self.record.held[name] = held
                self._emit("ok", "migrate", f"backup of {name} stored at {held}", held=held)
        return dict(self.record.backups)

    def _backup_of(self, environment: str) -> Path | None:
        """The backup file of ``environment`` to restore, fetched from the vault if gone."""
        return obtain(
            self.record.backups.get(environment),
            self.record.held.get(environment),
            self.vault,
            self.backup_dir,
        )

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
                done = roll_back(
                    restore_only, environment, url, self.root, self._backup_of(environment)
                )
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
            if self.settings.test_down and name == self.settings.staging_environment:
                self.test_down(name)
            if name != self.environment and verify is not None:
                try:
                    verify(name)
                except Exception:
                    self._emit("fail", "migrate", f"{name} failed verification after migrating")
                    self.roll_back(self.record.migrated)
                    raise
        return self.record

    def test_down(self, environment: str) -> None:
        """Exercise the down migration on ``environment``, just migrated: down, then up again.

        The runbook tests the way back on staging before production is offered: a down
        step that fails there would fail in production when it is needed most.

        Raises:
            MigrationError: ``down`` failed — the database was restored from its backup —
                or the migration failed the second time (restored as :meth:`migrate` does).
            RollbackFailed: that restore failed as well.

        """
        self._emit("info", "migrate", f"testing the down migration on {environment}")
        url = self._urls[environment]
        taken = self.record.backups.get(environment)
        try:
            undone = roll_back(self.settings, environment, url, self.root, None)
        except RollbackFailed as exc:
            self._emit("fail", "migrate", str(exc))
            why = exc.message.removeprefix(f"database rollback of {environment} failed: ")
            why = why.removesuffix("; there is no backup to restore")
            failure = MigrationError(
                f"the down migration failed on {environment}: {why}",
                hint="fix the down migration: the way back must work before production",
            )
            if taken is None:
                raise failure from exc
            restore_only = self.settings.model_copy(update={"down": None})
            try:
                done = roll_back(
                    restore_only, environment, url, self.root, self._backup_of(environment)
                )
            except RollbackFailed as failed:
                failed.message = f"{failure.message}; then {failed.message}"
                raise failed from exc
            self.record.migrated.remove(environment)
            self._record_rollback(done.model_copy(update={"note": "the down migration failed"}))
            failure.message += f"; the database was restored from {taken}"
            raise failure from exc
        self.record.down_tested.append(undone)
        self.record.migrated.remove(environment)
        self._emit("ok", "migrate", f"down migration of {environment} works; migrating again")
        self.migrate(environment)

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
                    self.settings, name, self._urls[name], self.root, self._backup_of(name)
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


def _run_configured(
    command: str | Sequence[str],
    config: MigrationsConfig,
    conn: Connection,
    environment: str,
    root: Path,
    backup: Path | None,
) -> procs.Result:
    """A configured command (``command`` or ``down``) against ``environment``'s database.

    In ``root`` (or ``[migrations] cwd`` under it), with the connection in its environment.
    """
    return run_command(
        command,
        env=command_env(conn, environment, backup),
        cwd=root / config.cwd if config.cwd else root,
        timeout=config.timeout,
    )


def _env_var_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()
