"""A team sharing one bucket: real ``wave`` processes, moto's S3 server, real PostgreSQL.

What this file proves:

* two ``wave deploy`` processes of one environment through the S3 store: exactly one
  deploys, the other exits 5 naming the holder; both runs are in the bucket's history and
  the lock is released;
* a deploy killed with SIGKILL leaves its lock and journal in the bucket; the next deploy
  takes the lock over (recorded), recovers the dead run from its journal, and deploys;
* ``wave state migrate --to s3`` copies history, current releases and approvals: ``wave
  history`` and ``wave status`` show the same from the bucket as from the local store; it
  refuses while a lock is held; running it again copies nothing twice; and back to a new
  local store the history is the same again;
* a migration's backup lands in the bucket (encrypted, under the backup prefix), and a
  database rollback on a machine without the local file restores it from there.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from projects import HEALTH_FAST, Project
from wave_sdk_s3.settings import S3Settings
from wave_sdk_s3.store import S3StateStore

from wave_sdk.state import LocalStateStore
from wave_sdk.testing import run_wave
from wave_sdk.testing.healthapp import write_app

WAVE = str(Path(sys.executable).parent / "wave")
ENV = "development"


def s3_table(bucket: Any, url: str, **extra: str) -> str:
    lines = [f"bucket = {json.dumps(bucket.name)}", f"endpoint_url = {json.dumps(url)}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines)


def wave_cli(root: Path, *args: str, deployer: str = "tester") -> subprocess.CompletedProcess[str]:
    return run_wave(
        *args,
        "--config",
        str(root),
        env={"WAVE_DEPLOYER": deployer},
        unset=["WAVE_DISABLE_PLUGINS"],
    )


@pytest.fixture
def team_project(tmp_path: Path, bucket: Any, moto_server: Any) -> Iterator[Path]:
    """A local target whose start command sleeps ``$WAVE_TEST_DELAY``; state in the bucket."""
    proj = Project(tmp_path / "project")
    root = proj.root
    write_app(root / "app", "v1")
    command = f"sleep ${{WAVE_TEST_DELAY:-0}}; exec {shlex.quote(sys.executable)} server.py"
    target = proj.local_target("web", command=["sh", "-c", command], source="app")
    proj.write(
        f'[environments.{ENV}]\ntarget = "web"\n\n{target}\n[signals]\ndir = "signals"\n\n'
        f'[state]\nstore = "s3"\n\n[state.s3]\n{s3_table(bucket, moto_server.url)}\n' + HEALTH_FAST
    )
    yield root
    proj.stop_all()


def test_two_deploys_through_the_bucket_one_holds_the_lock(
    team_project: Path, bucket: Any, moto_server: Any
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WAVE_DISABLE_PLUGINS", "CI")}
    procs = {
        name: subprocess.Popen(
            [WAVE, "deploy", "--env", ENV, "--release", release, "--config", str(team_project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "WAVE_DEPLOYER": name, "WAVE_TEST_DELAY": "3"},
            start_new_session=True,
        )
        for name, release in (("alice", "r1"), ("bob", "r2"))
    }
    results = {name: (p.wait(timeout=120), *p.communicate(timeout=30)) for name, p in procs.items()}
    assert sorted(code for code, _, _ in results.values()) == [0, 5], results
    [winner] = [name for name, (code, _, _) in results.items() if code == 0]
    [loser] = [name for name in results if name != winner]
    assert f"locked by {winner}" in results[loser][2] and "Traceback" not in results[loser][2]

    store = S3StateStore(S3Settings(bucket=bucket.name, endpoint_url=moto_server.url))
    records = {r.deployer: r for r in store.history(ENV)}
    assert (records[winner].outcome, records[loser].outcome) == ("succeeded", "blocked")
    assert store.read_lock(ENV) is None
    current = store.current(ENV)
    assert current is not None and current.release == records[winner].release
    assert store.journals(ENV) == {}
    # Nothing of the state was written on this machine.
    assert not (team_project / ".wave" / "state").exists()


def test_a_deploy_killed_mid_run_is_recovered_from_the_bucket_by_the_next_one(
    team_project: Path, bucket: Any, moto_server: Any
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("WAVE_DISABLE_PLUGINS", "CI")}
    victim = subprocess.Popen(
        [WAVE, "deploy", "--env", ENV, "--release", "r1", "--config", str(team_project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "WAVE_DEPLOYER": "alice", "WAVE_TEST_DELAY": "60"},
        start_new_session=True,
    )
    store = S3StateStore(S3Settings(bucket=bucket.name, endpoint_url=moto_server.url))
    try:
        app_pid = team_project / ".wave" / "local" / "web" / "app.pid"
        deadline = time.monotonic() + 60
        while not (app_pid.exists() and store.journals(ENV)):
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "the deploy never reached its start command"
            time.sleep(0.1)
    finally:
        os.killpg(victim.pid, signal.SIGKILL)  # no finally block, no lock release
        victim.communicate(timeout=30)
    held = store.read_lock(ENV)
    assert held is not None and held.owner == "alice" and store.is_stale(held)
    [journal] = store.journals(ENV).values()  # the dead run's write-ahead journal, in S3
    assert journal[0].step == "begin" and journal[0].data.get("deployer") == "alice"

    proc = wave_cli(team_project, "deploy", "--env", ENV, "--release", "r2", deployer="bob")
    assert proc.returncode == 0, proc.stderr
    assert [(r.kind, r.deployer, r.outcome) for r in store.history(ENV)] == [
        ("unlock", "bob", "recorded"),
        ("deploy", "alice", "interrupted"),
        ("deploy", "bob", "succeeded"),
    ]
    assert store.journals(ENV) == {} and store.read_lock(ENV) is None


# -- wave state migrate ----------------------------------------------------------------------


def set_store(root: Path, store: str) -> None:
    text = (root / "wave.toml").read_text()
    changed = re.sub(r'(?m)^store = ".*"$', f'store = "{store}"', text)
    assert changed.count(f'store = "{store}"') == 1
    (root / "wave.toml").write_text(changed)


def test_state_migrate_to_s3_and_back_keeps_history_current_and_approvals(
    team_project: Path, bucket: Any, moto_server: Any
) -> None:
    set_store(team_project, "local")
    for release in ("r1", "r2"):
        done = wave_cli(team_project, "deploy", "--env", ENV, "--release", release)
        assert done.returncode == 0, done.stderr
    approved = wave_cli(
        team_project,
        "approve",
        "--env",
        ENV,
        "--action",
        "deploy",
        "--level",
        "L3",
        "--release",
        "r2",
        "--by",
        "pm",
    )
    assert approved.returncode == 0, approved.stderr
    local_history = json.loads(wave_cli(team_project, "history", "--json").stdout)
    local_status = json.loads(wave_cli(team_project, "status", "--env", ENV, "--json").stdout)
    local = LocalStateStore(team_project / ".wave" / "state")
    local_approvals, local_current = local.approvals(ENV), local.current(ENV)
    assert len(local_history) == 2 and len(local_approvals) == 1 and local_current is not None

    same = wave_cli(team_project, "state", "migrate", "--to", "local")
    assert same.returncode == 2 and "already the configured store" in same.stderr
    unknown = wave_cli(team_project, "state", "migrate", "--to", "s4")
    assert unknown.returncode == 2 and "choose one of: local, s3" in unknown.stderr

    # Refused while a lock is held, and nothing is copied.
    lock = local.acquire_lock(ENV, owner="carol", deploy_id="d-carol", ttl=60)
    refused = wave_cli(team_project, "state", "migrate", "--to", "s3")
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "locked by carol" in refused.stderr and len(refused.stderr.splitlines()) == 1
    local.release_lock(lock)
    assert list(bucket.objects.filter(Prefix="wave/history/")) == []

    moved = wave_cli(team_project, "state", "migrate", "--to", "s3", "--json")
    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert (report["history"], report["approvals"], report["current"]) == (2, 1, {ENV: "r2"})

    set_store(team_project, "s3")
    shutil.rmtree(team_project / ".wave" / "state")  # from now on only the bucket has it
    assert json.loads(wave_cli(team_project, "history", "--json").stdout) == local_history
    s3_status = json.loads(wave_cli(team_project, "status", "--env", ENV, "--json").stdout)
    assert s3_status[ENV]["current"] == local_status[ENV]["current"]
    s3 = S3StateStore(S3Settings(bucket=bucket.name, endpoint_url=moto_server.url))
    assert s3.approvals(ENV) == local_approvals and s3.current(ENV) == local_current

    # Back to local, into a fresh directory: the same history (the s3 store is now the source).
    text = (team_project / "wave.toml").read_text()
    (team_project / "wave.toml").write_text(text.replace("[state]\n", '[state]\npath = "state2"\n'))
    back = wave_cli(team_project, "state", "migrate", "--to", "local", "--json")
    assert back.returncode == 0, back.stderr
    again = wave_cli(team_project, "state", "migrate", "--to", "local", "--json")
    assert json.loads(again.stdout)["history"] == 0  # idempotent: nothing copied twice
    assert json.loads(again.stdout)["history_kept"] == 2
    fresh = LocalStateStore(team_project / "state2")
    assert [r.model_dump(mode="json") for r in fresh.history()] == local_history
    assert fresh.current(ENV) == local_current
    assert fresh.approvals(ENV) == local_approvals


# -- migration backups in the bucket ----------------------------------------------------------


@pytest.fixture
def dbs(postgres: Any) -> Any:
    from postgres import fresh_databases

    return fresh_databases(postgres)


@pytest.fixture
def project(
    tmp_path: Path, dbs: Any, bucket: Any, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    """The core's migration project (tests/test_migration_deploy.py), its state in the bucket."""
    from test_migration_deploy import setup as migration_project

    (tmp_path / "project").mkdir()
    made = Project(tmp_path / "project")
    migration_project(made, dbs, monkeypatch)
    toml = made.root / "wave.toml"
    # No down command: a database rollback can only restore the backup.
    kept = [line for line in toml.read_text().splitlines() if not line.startswith("down = ")]
    tables = s3_table(bucket, moto_server.url, backup_prefix="db-backups/team")
    toml.write_text("\n".join(kept) + f'\n[state]\nstore = "s3"\n\n[state.s3]\n{tables}\n')
    yield made
    made.stop_all()


def test_migration_backup_lands_in_the_bucket_and_a_rollback_restores_from_it(
    project: Project, dbs: Any, bucket: Any
) -> None:
    from postgres import V1_ROWS

    wave = project.wave()
    wave.deploy("staging", release="v1", source=project.release("v1"), migrations=False)
    v2 = project.release("v2")
    wave.approve("staging", "migration", level=2, source=v2, approved_by="cto")
    report = wave.deploy("staging", release="v2", source=v2, migrations=True)
    assert report.migrated and "email" in dbs.columns("staging", "users")

    # The backup is in the bucket, under the backup prefix, encrypted, whole.
    [held] = list(bucket.objects.filter(Prefix="db-backups/team/staging/"))
    obj = bucket.Object(held.key)
    local_copy = project.root / ".wave" / "backups" / held.key.rsplit("/", 1)[-1]
    assert obj.server_side_encryption == "AES256"
    assert obj.get()["Body"].read() == local_copy.read_bytes()
    migration = wave.history("staging")[-1].migration or {}
    assert migration["held"] == {"staging": f"s3://{bucket.name}/{held.key}"}

    # Another machine: no local backup file. The rollback restores the bucket's copy.
    for dump in (project.root / ".wave" / "backups").iterdir():
        dump.unlink()
    wave.approve("staging", "rollback", level=3, release="v1", approved_by="pm")
    wave.rollback("staging")
    assert "email" not in dbs.columns("staging", "users")
    assert "audit" not in dbs.tables("staging")
    assert dbs.rows("staging") == V1_ROWS
    assert wave.status("staging")[0].current == "v1"
    fetched = project.root / ".wave" / "backups" / local_copy.name
    assert fetched.read_bytes() == obj.get()["Body"].read()  # what was restored came from S3
