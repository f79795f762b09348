"""Migration deployment on a real PostgreSQL server: backup first, staging first, undo.

Every test that touches a database uses the session's throwaway cluster (the ``postgres``
fixture, tests/postgres.py) and fresh databases holding schema v1 — ``users`` and
``orders`` with rows. The project's migration is a real one, run by a small script with
``psql``: it adds a column, a table, an enum type, a foreign key between the two old tables
and a bookkeeping table, as migration tools do. Its ``down`` script undoes it. The script
also writes down what it saw when it ran (its environment, the backup it was given and the
backups on disk), which is how the tests show the backup existed before the migration.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from postgres import V1_ROWS, Databases
from pydantic import SecretStr

from wave_sdk.config import MigrationsConfig, WaveConfig, parse_config
from wave_sdk.errors import BackupFailed, ConfigError, MigrationError, RollbackFailed
from wave_sdk.migrations import MigrationRun, backup, carries_migrations, migrate, roll_back
from wave_sdk.reporting import ListReporter

UP = """
CREATE TABLE schema_migrations (version text PRIMARY KEY);
INSERT INTO schema_migrations VALUES ('002_email_audit');
ALTER TABLE users ADD COLUMN email text;
UPDATE users SET email = name || '@example.com';
CREATE TYPE order_state AS ENUM ('open', 'paid');
ALTER TABLE orders ADD COLUMN state order_state NOT NULL DEFAULT 'open';
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
CREATE TABLE audit (id serial PRIMARY KEY, user_id int REFERENCES users (id), note text);
INSERT INTO audit (user_id, note) VALUES (1, 'migrated');
"""

DOWN = """
DROP TABLE audit;
ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
ALTER TABLE orders DROP COLUMN state;
DROP TYPE order_state;
ALTER TABLE users DROP COLUMN email;
DROP TABLE schema_migrations;
"""

# Statements commit one by one (no --single-transaction), so this leaves half a migration.
UP_BROKEN = """
CREATE TABLE half_done (id int);
ALTER TABLE users ADD COLUMN nickname text;
SELECT 1 / 0;
"""

MIGRATE_PY = """
import hashlib, json, os, subprocess, sys
from pathlib import Path

direction = sys.argv[1]
root = Path(__file__).resolve().parent
environment = os.environ["WAVE_ENVIRONMENT"]
given = os.environ.get("WAVE_BACKUP", "")
seen = {
    "direction": direction,
    "environment": environment,
    "backup": given,
    "backup_size": os.path.getsize(given) if given and os.path.isfile(given) else -1,
    "on_disk": sorted(p.name for p in (root / ".wave" / "backups").glob(environment + "-*.dump")),
    "url_sha256": hashlib.sha256(os.environ["DATABASE_URL"].encode()).hexdigest(),
}
with open(root / "migrations.log", "a") as log:
    log.write(json.dumps(seen) + "\\n")
if os.environ.get("DAMAGE_BACKUP"):  # what a full disk or a bad copy would do
    data = Path(given).read_bytes()
    Path(given).write_bytes(data[: len(data) - 60])
script = root / "migrations" / (os.environ.get("UP_SCRIPT", "up") if direction == "up" else "down")
# psql connects with the PG* variables wave sets: no URL, no password on a command line.
psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", f"{script}.sql"]
sys.exit(subprocess.run(psql).returncode)
"""


# -- fixtures ------------------------------------------------------------------------


@dataclass
class Project:
    root: Path
    dbs: Databases

    def config(self, **migrations: Any) -> WaveConfig:
        settings: dict[str, Any] = {
            "command": [sys.executable, "migrate.py", "up"],
            "down": [sys.executable, "migrate.py", "down"],
            **migrations,
        }
        settings = {k: v for k, v in settings.items() if v is not None}
        return parse_config(
            {
                "environments": {
                    "staging": {"target": "web", "database_url": "${WAVE_TEST_STAGING_DB}"},
                    "production": {"target": "web", "database_url": "${WAVE_TEST_PRODUCTION_DB}"},
                },
                "targets": {"web": {"adapter": "local"}},
                "migrations": settings,
            },
            file=self.root / "wave.toml",
        )

    def log(self) -> list[dict[str, Any]]:
        path = self.root / "migrations.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def backups(self) -> list[Path]:
        return sorted((self.root / ".wave" / "backups").iterdir())


@pytest.fixture
def project(tmp_path: Path, dbs: Databases, monkeypatch: pytest.MonkeyPatch) -> Project:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    (root / "migrations" / "up.sql").write_text(UP)
    (root / "migrations" / "down.sql").write_text(DOWN)
    (root / "migrations" / "broken.sql").write_text(UP_BROKEN)
    (root / "migrate.py").write_text(MIGRATE_PY)
    monkeypatch.setenv("WAVE_TEST_STAGING_DB", dbs.url("staging"))
    monkeypatch.setenv("WAVE_TEST_PRODUCTION_DB", dbs.url("production"))
    return Project(root, dbs)


def assert_v1(dbs: Databases, env: str) -> None:
    assert dbs.tables(env) == {"users", "orders"}
    assert dbs.columns(env, "users") == ["id", "name"]
    assert dbs.columns(env, "orders") == ["id", "user_id", "total"]
    assert dbs.rows(env) == V1_ROWS


def assert_v2(dbs: Databases, env: str) -> None:
    assert dbs.tables(env) == {"users", "orders", "audit", "schema_migrations"}
    assert dbs.columns(env, "users") == ["id", "name", "email"]
    assert dbs.rows(env) == V1_ROWS


def no_secret_in(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


# -- the procedure -------------------------------------------------------------------


def test_backups_first_then_staging_verified_approved_then_production(project: Project) -> None:
    dbs = project.dbs
    reporter = ListReporter()
    run = MigrationRun.for_deploy(project.config(), "production", reporter=reporter)
    assert run.order == ("staging", "production")
    assert run.describe() == (
        "backup production, staging → migrate staging → verify staging → approve → "
        "migrate production"
    )
    calls: list[tuple[str, str]] = []

    def verify(env: str) -> None:
        calls.append(("verify", env))
        assert_v2(dbs, "staging")  # staging is migrated and checked …
        assert_v1(dbs, "production")  # … while production is untouched

    def approve(env: str) -> None:
        calls.append(("approve", env))
        if env == "production":
            assert_v1(dbs, "production")

    record = run.execute(verify=verify, approve=approve)

    assert calls == [("approve", "staging"), ("verify", "staging"), ("approve", "production")]
    assert record.migrated == ["staging", "production"]
    assert_v2(dbs, "staging")
    assert_v2(dbs, "production")
    assert dbs.sql("production", "SELECT email FROM users ORDER BY id;").split() == [
        "ada@example.com",
        "grace@example.com",
        "linus@example.com",
    ]

    # The backups were taken before anything ran, production's first …
    messages = [e.message for e in reporter.events if e.step == "migrate"]
    assert messages.index("backing up the database of production") < messages.index(
        "backing up the database of staging"
    )
    assert max(i for i, m in enumerate(messages) if m.startswith("backup of")) < messages.index(
        "migrating the database of staging"
    )
    # … and each migration saw its own backup, complete, in the backup directory.
    log = project.log()
    assert [(e["environment"], e["direction"]) for e in log] == [
        ("staging", "up"),
        ("production", "up"),
    ]
    for entry in log:
        path = record.backups[entry["environment"]]
        assert entry["backup"] == str(path)
        assert entry["backup_size"] > 0
        assert entry["on_disk"] == [path.name]
        url = dbs.url(entry["environment"])
        assert entry["url_sha256"] == hashlib.sha256(url.encode()).hexdigest()

    # The backups are whole pg_dump archives, private, and nothing half-written remains.
    assert project.backups() == sorted(record.backups.values())
    for path in record.backups.values():
        assert path.name.endswith(".dump")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        listing = subprocess.run(
            ["pg_restore", "--list", str(path)], capture_output=True, text=True, check=True
        )
        assert "TABLE DATA public users" in listing.stdout
    assert stat.S_IMODE(run.backup_dir.stat().st_mode) == 0o700

    # What history keeps: JSON, with the backups and the environments — and no password.
    history = json.dumps(record.model_dump(mode="json"))
    assert json.loads(history)["backups"]["production"] == str(record.backups["production"])
    no_secret_in(history, dbs.cluster.password)
    no_secret_in(" ".join(e.message for e in reporter.events), dbs.cluster.password)


def test_a_deploy_to_staging_migrates_only_staging(project: Project) -> None:
    config = project.config()
    assert MigrationRun.for_deploy(config, "staging").order == ("staging",)
    assert MigrationRun.for_deploy(project.config(staging_first=False), "production").order == (
        "production",
    )
    MigrationRun.for_deploy(config, "staging").execute()
    assert_v2(project.dbs, "staging")
    assert_v1(project.dbs, "production")


def test_roll_back_with_down_undoes_the_change_and_keeps_the_rows(project: Project) -> None:
    dbs = project.dbs
    run = MigrationRun.for_deploy(project.config(), "production")
    run.execute()
    # Written after the migration: `down` keeps it (a restore would not).
    dbs.sql("production", "INSERT INTO users (name, email) VALUES ('new', 'new@example.com');")

    [undone] = run.roll_back()

    assert (undone.environment, undone.method, undone.backup) == ("production", "down", None)
    assert dbs.tables("production") == {"users", "orders"}
    assert dbs.columns("production", "users") == ["id", "name"]
    assert dbs.columns("production", "orders") == ["id", "user_id", "total"]
    assert dbs.rows("production") == V1_ROWS
    assert dbs.sql("production", "SELECT name FROM users ORDER BY id;").split()[-1] == "new"
    assert_v2(dbs, "staging")  # verified on staging and not part of the failed deploy
    assert [e["direction"] for e in project.log()] == ["up", "up", "down"]
    assert run.roll_back() == []  # already done: nothing twice
    assert run.record.rolled_back == [undone]


def test_roll_back_without_down_restores_the_backup_exactly(project: Project) -> None:
    dbs = project.dbs
    before = dbs.dump("production")
    # A shell line, as a user writes it; psql finds the database through PG* variables.
    config = project.config(command="psql -X -q -v ON_ERROR_STOP=1 -f migrations/up.sql", down=None)
    run = MigrationRun.for_deploy(config, "production")
    run.execute()
    assert_v2(dbs, "production")

    [undone] = run.roll_back()

    assert undone.method == "restore"
    assert undone.backup == run.record.backups["production"]
    assert_v1(dbs, "production")
    # Not only the table change: the new table, type, foreign key and bookkeeping table
    # are gone too, and the sequences are where they were — the database is the backup.
    assert dbs.dump("production") == before
    assert (
        dbs.sql("production", "SELECT count(*) FROM pg_type WHERE typname = 'order_state';")
        == "0\n"
    )


def test_a_failing_down_command_falls_back_to_the_backup(project: Project) -> None:
    dbs = project.dbs
    before = dbs.dump("production")
    run = MigrationRun.for_deploy(
        project.config(down="echo cannot undo this >&2; exit 4", staging_first=False), "production"
    )
    run.execute()

    [undone] = run.roll_back()

    assert undone.method == "restore"
    assert "exited 4" in undone.note and "cannot undo this" in undone.note
    assert dbs.dump("production") == before


def test_without_down_or_backup_a_rollback_is_refused(project: Project) -> None:
    settings = MigrationsConfig(command="true")
    with pytest.raises(RollbackFailed) as info:
        roll_back(settings, "production", project.dbs.url("production"), project.root, None)
    assert info.value.exit_code == 8
    assert str(info.value) == (
        "database rollback of production is impossible: no down command is configured and "
        "no backup was taken — set [migrations] down, or restore a backup by hand with "
        "pg_restore"
    )


def test_a_failed_migration_restores_its_database(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    dbs = project.dbs
    before = dbs.dump("production")
    monkeypatch.setenv("UP_SCRIPT", "broken")
    run = MigrationRun.for_deploy(project.config(staging_first=False), "production")

    with pytest.raises(MigrationError) as info:
        run.execute()

    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("migration of production failed: ")
    assert "exited 3" in message and "division by zero" in message
    assert f"the database was restored from {run.record.backups['production']}" in message
    assert dbs.dump("production") == before  # half_done and nickname are gone
    assert run.record.migrated == []
    assert [r.method for r in run.record.rolled_back] == ["restore"]


def test_a_failed_staging_verification_rolls_staging_back(project: Project) -> None:
    dbs = project.dbs
    approved: list[str] = []

    def verify(env: str) -> None:
        raise RuntimeError(f"{env} answers 503 on /api/health/db")

    run = MigrationRun.for_deploy(project.config(), "production")
    with pytest.raises(RuntimeError, match="staging answers 503"):
        run.execute(verify=verify, approve=approved.append)

    assert approved == ["staging"]  # production was never asked for
    assert_v1(dbs, "staging")
    assert_v1(dbs, "production")
    assert [(e["environment"], e["direction"]) for e in project.log()] == [
        ("staging", "up"),
        ("staging", "down"),
    ]
    assert [r.environment for r in run.record.rolled_back] == ["staging"]


# -- backups -----------------------------------------------------------------------


def test_backup_is_a_complete_private_file_with_a_unique_name(
    dbs: Databases, tmp_path: Path
) -> None:
    target = tmp_path / "backups"
    first = backup(dbs.url("production"), "production", target)
    second = backup(SecretStr(dbs.url("production")), "production", target)
    assert first != second and first.is_file() and second.is_file()
    for path in (first, second):  # the same second gets -2 rather than replacing the first
        assert re.fullmatch(r"production-\d{8}T\d{6}Z(-2)?\.dump", path.name), path.name
    assert sorted(p.name for p in target.iterdir()) == sorted([first.name, second.name])
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


@pytest.mark.parametrize("problem", ["closed port", "wrong password"])
def test_a_failed_backup_is_one_line_without_the_password(
    dbs: Databases, tmp_path: Path, free_port: int, problem: str
) -> None:
    if problem == "closed port":
        secret = "s3cret-" + os.urandom(6).hex()
        url = f"postgresql://{dbs.cluster.role}:{secret}@127.0.0.1:{free_port}/nope"
        expected = "Connection refused"
    else:
        secret = "not-" + dbs.cluster.password
        url = dbs.cluster.url(dbs.production, password=secret)
        expected = "password authentication failed"
    target = tmp_path / "backups"

    with pytest.raises(BackupFailed) as info:
        backup(url, "production", target)

    error = info.value
    assert str(error).startswith("backup of production failed: pg_dump exited 1: ")
    assert expected in str(error)
    assert "\n" not in str(error)
    assert "check environments.production.database_url" in str(error)
    for text in (error.message, str(error), repr(error.args), error.hint or ""):
        no_secret_in(text, secret, url)
    assert list(target.iterdir()) == []  # no half backup, under any name


def test_a_missing_pg_dump_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(BackupFailed) as info:
        backup("postgresql://u:p4ssw0rd@127.0.0.1:1/db", "staging", tmp_path / "backups")
    assert str(info.value) == (
        "pg_dump is not installed: cannot back up or restore the database of staging — install "
        "the PostgreSQL client tools, at least the server's version (Debian: apt-get install "
        "postgresql-client)"
    )


# -- the command -------------------------------------------------------------------


def test_a_failing_command_shows_its_output_with_secrets_masked(
    dbs: Databases, tmp_path: Path
) -> None:
    url = dbs.url("production")
    settings = MigrationsConfig(
        command='echo "connecting to $DATABASE_URL with $PGPASSWORD"; echo boom >&2; exit 3'
    )
    with pytest.raises(MigrationError) as info:
        migrate(settings, "production", url, tmp_path)
    error = info.value
    assert error.exit_code == 6
    assert "exited 3" in error.message and "boom" in error.message
    assert "connecting to *** with ***" in error.message
    no_secret_in(error.message + repr(error.args), dbs.cluster.password, url)


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    settings = MigrationsConfig(command="sleep 60 & echo $! > child.pid; wait", timeout=1)
    started = time.monotonic()
    with pytest.raises(MigrationError, match=r"timed out after 1s \(killed\)"):
        migrate(settings, "staging", "postgresql://u@127.0.0.1:1/db", tmp_path)
    assert time.monotonic() - started < 30
    child = int((tmp_path / "child.pid").read_text())
    assert wait_gone(child, deadline=10), "the command's background child survived"


def wait_gone(pid: int, *, deadline: float) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            return True
        if state == "Z":  # dead; only its new parent has not reaped it
            return True
        time.sleep(0.02)
    return False


# -- detection ---------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit(repo: Path, message: str, change: Callable[[], None]) -> str:
    change()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_carries_migrations_reads_the_real_history(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    detect = ["migrations/", "prisma/migrations/"]
    app = repo / "app.py"
    a = commit(repo, "app", lambda: app.write_text("v1\n"))
    b = commit(
        repo,
        "migration",
        lambda: (repo / "migrations").mkdir() or (repo / "migrations" / "002.sql").write_text("x"),
    )
    c = commit(repo, "code only", lambda: app.write_text("v2\n"))
    d = commit(repo, "drop the file", lambda: (repo / "migrations" / "002.sql").unlink())

    assert carries_migrations(repo, a, b, detect) is True
    assert carries_migrations(repo, a, c, detect) is True  # the release spans the migration
    assert carries_migrations(repo, b, c, detect) is False
    assert carries_migrations(repo, c, d, detect) is False  # a deleted file migrates nothing
    assert carries_migrations(repo, b, a, detect) is False  # redeploying older code
    assert carries_migrations(repo, a, b, ["prisma/migrations/"]) is False
    assert carries_migrations(repo, a, b, []) is False
    assert carries_migrations(repo, "0" * 40, c, detect) is True  # git cannot tell: be safe
    # No last deployed commit (a first deploy): whatever is there now.
    assert carries_migrations(repo, None, d, detect) is False
    git(repo, "checkout", "-q", c)
    assert carries_migrations(repo, None, c, detect) is True


# -- configuration -----------------------------------------------------------------


def _config(tmp_path: Path, **overrides: Any) -> WaveConfig:
    data: dict[str, Any] = {
        "environments": {
            "staging": {"target": "web", "database_url": "${WAVE_TEST_DB}"},
            "production": {"target": "web", "database_url": "${WAVE_TEST_DB}"},
        },
        "targets": {"web": {"adapter": "local"}},
        "migrations": {"command": "alembic upgrade head"},
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    return parse_config(data, file=tmp_path / "wave.toml")


def test_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://app:hunter2-secret@db.internal:5432/app"
    monkeypatch.setenv("WAVE_TEST_DB", url)
    config = _config(tmp_path)
    assert config.migrations is not None
    assert config.migrations.backup_dir == ".wave/backups"
    assert config.migrations.staging_first is True
    assert isinstance(config.environments["production"].database_url, SecretStr)
    assert url not in repr(config) and url not in config.model_dump_json()

    def invalid(migrations: dict[str, Any]) -> str:
        with pytest.raises(ConfigError) as info:
            _config(tmp_path, migrations=migrations)
        return str(info.value)

    assert invalid({"command": "alembic upgrade head", "stagign_first": False}) == (
        "wave.toml: migrations.stagign_first: unknown key 'stagign_first' — "
        "did you mean 'staging_first'?"
    )
    assert invalid({"down": "alembic downgrade -1"}) == (
        "wave.toml: migrations.command: required key is missing — add command = …"
    )
    assert invalid({"command": "x", "timeout": 0}).startswith("wave.toml: migrations.timeout: ")


def test_a_run_needs_every_database_it_migrates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVE_TEST_DB", "postgresql://app:pw-secret@127.0.0.1:1/app")
    config = _config(
        tmp_path,
        environments={
            "staging": {"target": "web"},
            "production": {"target": "web", "database_url": "${WAVE_TEST_DB}"},
        },
    )
    with pytest.raises(ConfigError) as info:
        MigrationRun.for_deploy(config, "production")
    assert str(info.value) == (
        "wave.toml: environments.staging.database_url: no database_url (staging_first) — "
        'add database_url = "${DATABASE_URL_STAGING}"'
    )

    no_migrations = _config(tmp_path, migrations=None)
    with pytest.raises(ConfigError, match=r"migrations: the release carries migrations but"):
        MigrationRun.for_deploy(no_migrations, "production")


def test_a_restore_that_fails_half_way_changes_nothing(project: Project) -> None:
    dbs = project.dbs
    run = MigrationRun.for_deploy(project.config(down=None, staging_first=False), "production")
    run.execute()
    migrated = dbs.dump("production")
    archive = run.record.backups["production"]
    # Cut the archive inside its data: the table of contents still reads, the data does not,
    # so pg_restore fails after its script has already dropped every table.
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) - 60])
    assert (
        subprocess.run(["pg_restore", "--list", str(archive)], capture_output=True).returncode == 0
    )

    with pytest.raises(RollbackFailed) as info:
        run.roll_back()

    assert info.value.exit_code == 8
    assert str(info.value).startswith(
        f"database rollback of production failed: restore from {archive}"
    )
    assert "\n" not in str(info.value)
    assert dbs.dump("production") == migrated  # one transaction: all of it or nothing
    assert run.record.rolled_back == []


@pytest.mark.parametrize("producer_exit", [0, 1])
def test_the_restore_commits_only_when_pg_restore_succeeded(
    dbs: Databases, producer_exit: int
) -> None:
    # The guard behind the test above, at the seam where it lives: psql reads complete
    # statements from a producer that then fails. psql alone would commit them at the end
    # of its input; wave sends COMMIT only for a producer that exited 0.
    from wave_sdk.migrations.postgres import _run_restore

    producer = [
        sys.executable,
        "-c",
        f"print('CREATE TABLE guard (x int);', flush=True); raise SystemExit({producer_exit})",
    ]
    consumer = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
    consumer += ["-p", str(dbs.cluster.port), "-U", dbs.cluster.role, dbs.production]
    env = {**os.environ, "PGPASSWORD": dbs.cluster.password}
    done = _run_restore(producer, consumer, prelude="", env=env, timeout=60)
    assert done.ok is (producer_exit == 0)
    assert ("guard" in dbs.tables("production")) is (producer_exit == 0)


def test_a_failed_migration_whose_restore_fails_needs_a_human(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    dbs = project.dbs
    monkeypatch.setenv("UP_SCRIPT", "broken")
    monkeypatch.setenv("DAMAGE_BACKUP", "1")
    run = MigrationRun.for_deploy(project.config(staging_first=False), "production")

    with pytest.raises(RollbackFailed) as info:
        run.execute()

    message = str(info.value)
    assert info.value.exit_code == 8
    assert "\n" not in message
    assert message.startswith("migration of production failed: ")
    assert "division by zero" in message
    archive = run.record.backups["production"]
    assert f"; then database rollback of production failed: restore from {archive}" in message
    assert message.endswith(f"the database needs a human: restore {archive} with pg_restore")
    assert isinstance(info.value.__cause__, MigrationError)
    # Left as the command left it, and said so: nothing pretends to have been undone.
    assert "half_done" in dbs.tables("production")
    assert run.record.rolled_back == []


def test_test_down_exercises_the_way_back_on_staging_first(project: Project) -> None:
    """[migrations] test_down: staging goes up, down and up again before production."""
    dbs = project.dbs
    run = MigrationRun.for_deploy(project.config(test_down=True), "production")
    record = run.execute()
    directions = [(e["environment"], e["direction"]) for e in project.log()]
    assert directions == [
        ("staging", "up"),
        ("staging", "down"),
        ("staging", "up"),
        ("production", "up"),
    ]
    assert [(r.environment, r.method) for r in record.down_tested] == [("staging", "down")]
    assert record.migrated == ["staging", "production"]
    for env in ("staging", "production"):
        assert "email" in dbs.columns(env, "users")
    assert dbs.rows("staging") == dbs.rows("production"), "up, down, up lost no row"


def test_a_down_migration_that_fails_on_staging_stops_before_production(
    project: Project,
) -> None:
    dbs = project.dbs
    (project.root / "migrations" / "down.sql").write_text("SELECT 1/0;\n")
    run = MigrationRun.for_deploy(project.config(test_down=True), "production")
    with pytest.raises(MigrationError) as info:
        run.execute()
    message = str(info.value)
    assert message.startswith("the down migration failed on staging: ")
    assert "division by zero" in message
    assert "the database was restored from" in message
    assert "email" not in dbs.columns("staging", "users"), "staging restored from its backup"
    assert "email" not in dbs.columns("production", "users"), "production never migrated"
    assert [e["environment"] for e in project.log()] == ["staging", "staging"]


def test_test_down_needs_a_down_command(project: Project) -> None:
    with pytest.raises(ConfigError) as info:
        project.config(test_down=True, down=None)
    assert "migrations: test_down exercises the down migration, and none is configured" in str(
        info.value
    )
