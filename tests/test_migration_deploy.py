"""A release with migrations through the whole pipeline, on real PostgreSQL and real processes.

The runbook's procedure: back up first, migrate staging, verify it, require the migration
approval, migrate production, deploy, verify — and when that verification fails, roll the
database back first (the table change undone, the rows intact), then the code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from postgres import V1_ROWS, Databases
from projects import HEALTH_FAST, Project, toml_value
from test_migrations import DOWN, MIGRATE_PY, UP

from wave_sdk.errors import ApprovalRequired, VerificationFailed, WaveError


def setup(project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVE_TEST_STAGING_DB", dbs.url("staging"))
    monkeypatch.setenv("WAVE_TEST_PRODUCTION_DB", dbs.url("production"))
    (project.root / "migrate.py").write_text(MIGRATE_PY)
    (project.root / "migrations").mkdir()
    (project.root / "migrations/up.sql").write_text(UP)
    (project.root / "migrations/down.sql").write_text(DOWN)
    from wave_sdk.testing import free_port

    project.write(f"""
[environments.staging]
target = "web-staging"
database_url = "${{WAVE_TEST_STAGING_DB}}"
allow_lower_approvals = true

[environments.production]
target = "web-production"
database_url = "${{WAVE_TEST_PRODUCTION_DB}}"

{project.local_target("web-staging")}
{project.local_target("web-production", port=free_port())}

[approvals]
deploy = {{ staging = "L5" }}

[migrations]
command = {toml_value([sys.executable, "migrate.py", "up"])}
down = {toml_value([sys.executable, "migrate.py", "down"])}
detect = ["migrations/"]
{HEALTH_FAST}
""")


def test_migration_deploy_rolls_back_database_then_code(
    project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(project, dbs, monkeypatch)
    wave = project.wave()
    v1 = project.release("v1")
    wave.deploy("staging", release="v1", source=v1, migrations=False)
    wave.approve("production", "deploy", source=v1, approved_by="alice")
    wave.deploy("production", release="v1", source=v1, migrations=False)

    # v2 carries the migration; its code fails verification in production.
    v2 = project.release("v2", healthy=False)
    wave.approve("production", "deploy", source=v2, approved_by="alice")
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy(
            "production", release="v2", source=project.release("v2", healthy=False), migrations=True
        )
    assert "migration" in str(info.value) and "--action migration" in info.value.command
    assert "email" not in dbs.columns("production", "users"), "nothing may run unapproved"
    assert not (project.root / ".wave" / "backups").exists()

    wave.approve("production", "migration", source=v2, approved_by="cto")
    wave.approve("staging", "migration", level=2, source=v2, approved_by="cto")
    with pytest.raises(VerificationFailed) as failed:
        wave.deploy(
            "production", release="v2", source=project.release("v2", healthy=False), migrations=True
        )
    assert "rolled back web-production v2 → v1" in str(failed.value)

    # Backups existed before each migration ran; staging was migrated before production.
    runs = [r for r in _log(project) if r["direction"] == "up"]
    assert [r["environment"] for r in runs] == ["staging", "production"]
    for run in runs:
        assert run["backup_size"] > 0 and run["on_disk"], run
    downs = [r["environment"] for r in _log(project) if r["direction"] == "down"]
    assert downs == ["production"]

    # The database went back first: the table change is undone and the rows are intact …
    assert "email" not in dbs.columns("production", "users")
    assert "audit" not in dbs.tables("production")
    assert dbs.rows("production") == V1_ROWS
    # … staging, verified, keeps its migration for the next attempt.
    assert "email" in dbs.columns("staging", "users")
    # … and then the code.
    statuses = {s.target: s.current for s in wave.status("production")}
    assert statuses == {"web-production": "v1"}

    [record] = [
        r for r in wave.history("production") if r.release == "v2" and r.outcome != "blocked"
    ]
    assert record.outcome == "rolled_back"
    assert record.verification["decision"]["action"] == "rollback_database_then_code"
    migration: dict[str, Any] = record.migration or {}
    assert migration["migrated"] == ["staging", "production"]
    assert [d["environment"] for d in migration["rolled_back"]] == ["production"]
    assert set(migration["backups"]) == {"staging", "production"}


def test_manual_rollback_of_a_migrated_release_undoes_the_database_first(
    project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(project, dbs, monkeypatch)
    wave = project.wave()
    v1 = project.release("v1")
    wave.deploy("staging", release="v1", source=v1, migrations=False)
    v2 = project.release("v2")
    wave.approve("staging", "migration", level=2, source=v2, approved_by="cto")
    report = wave.deploy("staging", release="v2", source=v2, migrations=True)
    assert report.migrated and "email" in dbs.columns("staging", "users")

    wave.approve("staging", "rollback", level=3, release="v1", approved_by="pm")
    wave.rollback("staging")
    assert "email" not in dbs.columns("staging", "users")
    assert dbs.rows("staging") == V1_ROWS
    assert wave.status("staging")[0].current == "v1"
    last = wave.history("staging")[-1]
    assert last.kind == "rollback" and "database rolled back first" in (last.reason or "")


def _log(project: Project) -> list[dict[str, Any]]:
    import json

    path = project.root / "migrations.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("step", ["migrating", "verify"])
def test_a_killed_migration_deploy_is_recovered_database_first(
    project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """SIGKILL before the migration command (backups taken) and after it (code deployed):
    `wave recover` puts the database back — from the backup, or with `down` — then the code."""
    setup(project, dbs, monkeypatch)
    wave = project.wave()
    wave.deploy("staging", release="v1", source=project.release("v1"), migrations=False)
    wave.approve("staging", "migration", level=2, source=project.release("v2"), approved_by="cto")
    killed = project.cli(
        "deploy", "--env", "staging", "--release", "v2",
        "--source", str(project.release("v2")), "--migrations",
        env={"WAVE_TEST_KILL_AT": f"{step}:KILL"},
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    if step == "verify":
        assert "email" in dbs.columns("staging", "users"), "it died after migrating"

    recovered = project.cli("recover", "--env", "staging")
    assert recovered.returncode == 0, recovered.stderr
    assert "email" not in dbs.columns("staging", "users")
    assert "audit" not in dbs.tables("staging")
    assert dbs.rows("staging") == V1_ROWS
    assert wave.status("staging")[0].current == "v1"
    [record] = [r for r in wave.history("staging") if r.release == "v2"]
    assert record.outcome == "interrupted"


def test_plan_shows_the_migrate_step_and_approval_that_deploy_then_needs(
    project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runbook's "review migration files": plan and deploy agree on what needs what.

    A git project: the first release carries `migrations/`, the next only code (no migrate
    step), the third one new migration file (listed alone).
    """
    import json

    from projects import commit_all, git

    setup(project, dbs, monkeypatch)
    path = project.root / "wave.toml"
    text = path.read_text()
    path.write_text(
        text.replace(
            project.local_target("web-staging"), project.local_target("web-staging", source="app")
        )
    )
    from wave_sdk.testing.healthapp import write_app

    write_app(project.root / "app", "v1")
    (project.root / ".gitignore").write_text(".wave/\nmigrations.log\n")
    git(project.root, "init", "-q", "-b", "main")
    head = commit_all(project.root, "v1 with its migrations")

    def plan() -> dict[str, Any]:
        done = project.cli("plan", "--env", "staging", "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    steps = [(s["step"], s["detail"], s["satisfied"]) for s in plan()["steps"]]
    [migration] = [(d, ok) for s, d, ok in steps if d.startswith("migration needs")]
    assert migration == (f"migration needs L2 (CTO) for commit {head}", False)
    [migrate] = [d for s, d, _ in steps if s == "migrate"]
    assert migrate.endswith("review 2 migration files: migrations/down.sql, migrations/up.sql")
    checked = project.cli("check", "--env", "staging", "--json")
    [ready] = [c for c in json.loads(checked.stdout)["checks"] if c["name"] == "migrations-ready"]
    assert ready["ok"] and ready["detail"].startswith("2 migration files: backed up")
    refused = project.cli("deploy", "--env", "staging")
    assert refused.returncode == 4, refused.stderr
    assert "migration" in refused.stderr
    assert "email" not in dbs.columns("staging", "users")

    approved = project.cli(
        "approve", "--env", "staging", "--action", "migration", "--level", "L2", "--by", "cto"
    )
    assert approved.returncode == 0, approved.stderr
    done = project.cli("deploy", "--env", "staging")
    assert done.returncode == 0, done.stderr
    assert "email" in dbs.columns("staging", "users")

    write_app(project.root / "app", "v2")
    commit_all(project.root, "v2: code only")
    assert [s["step"] for s in plan()["steps"]].count("migrate") == 0
    assert [s["detail"].split(" ")[0] for s in plan()["steps"] if s["step"] == "approve"] == [
        "deploy"
    ]

    (project.root / "migrations" / "002_index.sql").write_text("-- an index\n")
    commit_all(project.root, "v3: one more migration")
    [migrate] = [s["detail"] for s in plan()["steps"] if s["step"] == "migrate"]
    assert migrate.endswith("review 1 migration file: migrations/002_index.sql")


def test_a_failed_migration_names_the_database_admin(
    project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup(project, dbs, monkeypatch)
    path = project.root / "wave.toml"
    path.write_text(
        path.read_text()
        + '\n[project.contacts]\non_call = ["Dana"]\ndatabase_admin = ["dba@example.com"]\n'
    )
    (project.root / "migrations" / "broken.sql").write_text("SELECT 1/0;\n")
    monkeypatch.setenv("UP_SCRIPT", "broken")
    wave = project.wave()
    v1 = project.release("v1")
    wave.approve("staging", "migration", level=2, source=v1, approved_by="cto")
    with pytest.raises(WaveError) as failed:
        wave.deploy("staging", release="v1", source=v1, migrations=True)
    message = str(failed.value)
    assert "migration of staging failed" in message
    assert "emergency contacts: On-Call Engineer: Dana; Database Admin: dba@example.com" in message


def test_migrations_ready_before_anything_runs(
    project: Project, dbs: Databases, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The technical checklist's "Database migrations ready (if any)"."""
    import os
    import shutil

    setup(project, dbs, monkeypatch)
    wave = project.wave()
    source = project.release("v2")

    def ready(**kw: Any) -> Any:
        carried = ("migrations/down.sql", "migrations/up.sql")
        release = wave.release("v2", source=source).model_copy(
            update={"has_migrations": True, "migration_files": carried, **kw}
        )
        [check] = [
            r for r in wave.check("production", release=release) if r.name == "migrations-ready"
        ]
        return check

    check = ready()
    assert check.ok and check.detail.endswith(
        "backed up, then migrated: staging → production; undone by "
        f"`{sys.executable} migrate.py down`"
    )
    assert check.detail.startswith("2 migration files: ")

    # Without pg_dump and pg_restore there is no backup, and so no way back.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "psql"):
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bin_dir / tool)
    everywhere = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(bin_dir))
    check = ready()
    assert not check.ok and check.detail.startswith("pg_dump and pg_restore not installed")

    monkeypatch.setenv("PATH", everywhere)
    path = project.root / "wave.toml"
    path.write_text(path.read_text().replace('database_url = "${WAVE_TEST_STAGING_DB}"\n', ""))
    wave = project.wave()
    check = ready()
    assert not check.ok and "staging" in check.detail and "database_url" in check.detail
    assert ready(has_migrations=False, migration_files=()).detail == (
        "the release carries no migrations"
    )
