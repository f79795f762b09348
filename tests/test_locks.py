"""One deployment per environment: the lock of the local state store, alone and under fire.

What this file proves:

* :class:`~wave_sdk.state.LocalStateStore` — a held lock refuses a second holder with an
  error naming owner, host and pid; a released lock is free again; a lock whose process is
  dead, whose pid was reused by another process, or (from another host) whose time ran out
  is stale and taken over, and the takeover is recorded in history; a live one is not
  stale; a release never removes somebody else's lock; ``wave unlock --force --reason``
  breaks a lock and records it; a torn last history line does not swallow the next record.
* Two real ``wave deploy`` processes racing for one environment: one deploys, the other
  exits 5 naming the holder; with ``--lock-wait`` both deploy, strictly one after the other.
* A ``wave deploy`` killed with SIGKILL mid-deploy leaves only whole signal files, a lock
  that ``wave lock`` reports stale, and an environment the next deploy takes over without
  ``wave unlock``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from wave_sdk.errors import LockHeld, StateError
from wave_sdk.models import HistoryRecord, utcnow
from wave_sdk.state import LocalStateStore, LockInfo, pid_alive, process_start_time
from wave_sdk.testing import missing, run_wave
from wave_sdk.testing.healthapp import write_app
from wave_sdk.testing.served import served_release

WAVE = str(Path(sys.executable).parent / "wave")
ENV = "development"


# -- helpers ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.02)


def wave_env(deployer: str, delay: float = 0.0) -> dict[str, str]:
    """The environment of a ``wave`` process; ``WAVE_TEST_DELAY`` slows the app's start."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAVE_DISABLE_PLUGINS", "CI")}
    env.update(WAVE_DEPLOYER=deployer, WAVE_TEST_DELAY=str(delay))
    return env


def wave_cli(
    project: Path, *args: str, deployer: str = "tester", delay: float = 0.0
) -> subprocess.CompletedProcess[str]:
    return run_wave(
        *args,
        "--config",
        str(project),
        env={"WAVE_DEPLOYER": deployer, "WAVE_TEST_DELAY": str(delay)},
        unset=["WAVE_DISABLE_PLUGINS"],
    )


def start_deploy(
    project: Path, release: str, deployer: str, *extra: str, delay: float
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [WAVE, "deploy", "--env", ENV, "--release", release, "--config", str(project), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=wave_env(deployer, delay),
    )


def stop_app(root: Path) -> None:
    """Kill the process group recorded in ``<root>/app.pid`` and wait until it is gone."""
    try:
        record = json.loads((root / "app.pid").read_text())
    except (FileNotFoundError, ValueError):
        return
    pid, start = int(record["pid"]), record.get("start")
    if not pid_alive(pid, start):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(pid, start), f"app process {pid} to die", timeout=10)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # only ours if an in-process deploy started it


def lock_record(env: str = ENV, **fields: object) -> LockInfo:
    now = utcnow()
    values: dict[str, object] = {
        "environment": env,
        "owner": "ghost",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "process_start": process_start_time(os.getpid()),
        "deploy_id": "20260101T000000Z-deadbeef",
        "acquired_at": now,
        "expires_at": now + timedelta(hours=1),
        "token": "0123456789abcdef",
    }
    values.update(fields)
    return LockInfo.model_validate(values)


def plant(store: LocalStateStore, lock: LockInfo) -> None:
    """Write a lock record the way a (possibly dead, possibly remote) holder left it."""
    directory = store.path / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{lock.environment}.lock.json").write_text(lock.model_dump_json())


def acquire(store: LocalStateStore, owner: str, wait: float = 0.0) -> LockInfo:
    return store.acquire_lock(ENV, owner=owner, deploy_id=f"deploy-{owner}", ttl=60, wait=wait)


@pytest.fixture
def store(tmp_path: Path) -> LocalStateStore:
    return LocalStateStore(tmp_path / "state")


@pytest.fixture
def dead_pid() -> tuple[int, str | None]:
    """The pid (and start time) of a process that has run and exited."""
    proc = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    start = process_start_time(proc.pid)
    proc.communicate(b"\n", timeout=30)
    assert not pid_alive(proc.pid, start)
    return proc.pid, start


# -- the store -------------------------------------------------------------------------


def test_held_lock_refuses_a_second_holder_until_released(store: LocalStateStore) -> None:
    first = acquire(store, "alice")
    assert (first.pid, first.host) == (os.getpid(), socket.gethostname())
    with pytest.raises(LockHeld) as info:
        acquire(store, "bob")
    message = str(info.value)
    assert "alice" in message and socket.gethostname() in message
    assert f"pid {os.getpid()}" in message
    assert "--lock-wait" in message and "wave unlock" in message
    assert info.value.holder["owner"] == "alice"
    assert info.value.holder["pid"] == os.getpid()
    assert "token" not in info.value.holder
    assert store.is_stale(first) is False

    store.release_lock(first)
    assert store.read_lock(ENV) is None
    second = acquire(store, "bob")
    assert store.read_lock(ENV) == second


def test_waiting_gives_up_at_the_deadline(store: LocalStateStore) -> None:
    acquire(store, "alice")
    started = time.monotonic()
    with pytest.raises(LockHeld):
        acquire(store, "bob", wait=0.5)
    assert 0.5 <= time.monotonic() - started < 5


def test_lock_of_a_dead_process_is_stale_and_taken_over(
    store: LocalStateStore, dead_pid: tuple[int, str | None]
) -> None:
    pid, start = dead_pid
    ghost = lock_record(pid=pid, process_start=start)
    plant(store, ghost)
    assert store.is_stale(ghost)

    taken = acquire(store, "alice")
    assert (taken.owner, taken.pid) == ("alice", os.getpid())
    assert store.read_lock(ENV) == taken
    [record] = store.history(ENV)
    assert (record.kind, record.outcome, record.deployer) == ("unlock", "recorded", "alice")
    # The taker's id: the dead run's id belongs to the one record recovery writes for it.
    assert record.deploy_id == taken.deploy_id and ghost.deploy_id in (record.reason or "")
    assert f"pid {pid}" in (record.reason or "") and "stale" in (record.reason or "")


def test_reused_pid_is_stale(store: LocalStateStore) -> None:
    # This very process, alive — but the record says the holder started at another time:
    # the holder died and its pid went to someone else.
    reused = lock_record(process_start="1")
    assert store.is_stale(reused)
    assert not store.is_stale(lock_record())  # same pid, same start: the holder lives
    plant(store, reused)
    assert acquire(store, "alice").owner == "alice"


def test_impossible_pid_is_stale(store: LocalStateStore) -> None:
    # kill(0, 0) succeeds (it tests our own process group): a corrupt pid 0 must not pass
    # for a live holder and wedge the environment.
    assert store.is_stale(lock_record(pid=0, process_start=None))
    assert store.is_stale(lock_record(pid=-1, process_start=None))


def test_lock_from_another_host_is_stale_only_once_expired(store: LocalStateStore) -> None:
    now = utcnow()
    remote = lock_record(
        host="build-agent-7.invalid", pid=1, owner="carol", expires_at=now + timedelta(hours=1)
    )
    assert not store.is_stale(remote)
    plant(store, remote)
    with pytest.raises(LockHeld) as info:
        acquire(store, "alice")
    assert "carol on build-agent-7.invalid" in str(info.value)

    expired = lock_record(
        host="build-agent-7.invalid", pid=1, owner="carol", expires_at=now - timedelta(seconds=1)
    )
    assert store.is_stale(expired)
    assert not store.is_stale(expired, now=now - timedelta(minutes=1))
    plant(store, expired)
    assert acquire(store, "alice").owner == "alice"


def test_release_never_removes_another_holders_lock(
    store: LocalStateStore, dead_pid: tuple[int, str | None]
) -> None:
    pid, start = dead_pid
    # Our lock went stale (as far as others can tell) and was taken over by alice.
    ours = lock_record(pid=pid, process_start=start, token="aaaaaaaaaaaaaaaa")
    plant(store, ours)
    alices = acquire(store, "alice")
    store.release_lock(ours)
    assert store.read_lock(ENV) == alices


def test_torn_history_line_does_not_swallow_the_next_record(store: LocalStateStore) -> None:
    def record(release: str) -> HistoryRecord:
        return HistoryRecord(
            deploy_id=f"d-{release}",
            kind="deploy",
            environment=ENV,
            release=release,
            outcome="succeeded",
            started_at=utcnow(),
        )

    store.append_history(record("r1"))
    with open(store.path / "history.jsonl", "a") as ledger:
        ledger.write('{"deploy_id": "d-r2", "kind": "dep')  # a crash in the middle of a line
    store.append_history(record("r3"))
    assert [r.release for r in store.history(ENV)] == ["r1", "r3"]


def test_bytes_that_are_not_utf8_are_one_bad_line_not_an_unreadable_history(
    store: LocalStateStore,
) -> None:
    store.append_history(
        HistoryRecord(
            deploy_id="d-r1",
            kind="deploy",
            environment=ENV,
            release="r1",
            outcome="succeeded",
            started_at=utcnow(),
        )
    )
    with open(store.path / "history.jsonl", "ab") as ledger:
        ledger.write(b"\xff\xfe not text\n")
    assert [r.release for r in store.history(ENV)] == ["r1"]


@pytest.mark.parametrize(
    ("plant", "says"),
    [
        ("current/development.json", "development.json cannot be read (environment: Field"),
        ("@file", "current/development.json cannot be read (Not a directory)"),
    ],
)
def test_a_store_that_cannot_be_read_is_one_line_naming_the_file(
    tmp_path: Path, plant: str, says: str
) -> None:
    """A hand-edited current release, or ``[state] path`` naming a file: a StateError of one
    line, never a validation dump or a ``NotADirectoryError`` traceback."""
    if plant == "@file":
        store = LocalStateStore(tmp_path / "not-a-directory")
        store.path.write_text("x")
    else:
        store = LocalStateStore(tmp_path / "state")
        (store.path / "current").mkdir(parents=True)
        (store.path / plant).write_text('{"release": 5}')
    with pytest.raises(StateError) as caught:
        store.current(ENV)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


# -- the command line ------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, free_port: int) -> Iterator[Path]:
    """A local target whose start command sleeps ``$WAVE_TEST_DELAY`` before the app runs."""
    root = tmp_path / "project"
    write_app(root / "app", "v1")
    command = f"sleep ${{WAVE_TEST_DELAY:-0}}; exec {shlex.quote(sys.executable)} server.py"
    (root / "wave.toml").write_text(
        f"""
[project]
name = "locks"

[environments.{ENV}]
target = "web"

[targets.web]
adapter = "local"
source = "app"
command = ["sh", "-c", {json.dumps(command)}]
port = {free_port}
start_timeout = 90

[signals]
dir = "signals"

[health]
interval = 0.1
consecutive = 2
retries = 3
deadline = 30
timeout = 2
"""
    )
    yield root
    stop_app(app_root(root))


def app_root(project: Path) -> Path:
    return project / ".wave" / "local" / "web"


def lock_file(project: Path) -> Path:
    return project / ".wave" / "state" / "locks" / f"{ENV}.lock.json"


def signals(project: Path) -> list[dict[str, object]]:
    """Each run's signals (not the runbook's fixed-name copies), in the order written."""
    files = sorted((project / "signals").glob(f"signal-*-{ENV}-*.json"), key=_written)
    return [json.loads(p.read_text()) for p in files]


def _written(path: Path) -> int:
    # Timestamps in signals are to the second (the runbook's format): order by the file.
    return path.stat().st_mtime_ns


def history(project: Path) -> list[HistoryRecord]:
    return LocalStateStore(project / ".wave" / "state").history(ENV)


def test_unlock_breaks_the_lock_and_records_why(project: Path) -> None:
    store = LocalStateStore(project / ".wave" / "state")
    store.acquire_lock(ENV, owner="alice", deploy_id="d-alice", ttl=60)

    proc = wave_cli(project, "lock", "--env", ENV)
    assert proc.returncode == 0, proc.stderr
    assert "locked by alice" in proc.stdout and "stale" not in proc.stdout

    refused = wave_cli(project, "unlock", "--env", ENV, "--force")
    assert refused.returncode == 2 and "--reason" in refused.stderr
    assert store.read_lock(ENV) is not None

    # Alice's process (this one) is alive: one --force is refused, naming her.
    alive = wave_cli(
        project, "unlock", "--env", ENV, "--force", "--reason", "deploy hung", deployer="ops"
    )
    assert alive.returncode == 2, alive.stderr
    assert "held by a live deployment" in alive.stderr and "alice" in alive.stderr
    assert "--force twice" in alive.stderr
    assert store.read_lock(ENV) is not None and store.history(ENV) == []

    proc = wave_cli(
        project,
        "unlock",
        "--env",
        ENV,
        "--force",
        "--force",
        "--reason",
        "deploy hung",
        deployer="ops",
    )
    assert proc.returncode == 0, proc.stderr
    assert store.read_lock(ENV) is None
    [record] = store.history(ENV)
    assert (record.kind, record.deployer) == ("unlock", "ops")
    assert "deploy hung" in (record.reason or "") and "alice" in (record.reason or "")


def test_concurrent_deploys_one_wins_the_other_is_told_who(project: Path) -> None:
    procs = {
        name: start_deploy(project, release, name, delay=3)
        for name, release in (("alice", "r1"), ("bob", "r2"))
    }
    results = {name: (p.wait(timeout=120), *p.communicate(timeout=30)) for name, p in procs.items()}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 5], results
    [winner] = [name for name, (code, _, _) in results.items() if code == 0]
    [loser] = [name for name in results if name != winner]
    message = results[loser][2]
    assert f"locked by {winner} on {socket.gethostname()}" in message
    assert f"pid {procs[winner].pid}" in message
    assert "Traceback" not in message
    # The refused run is on record too, as blocked, with the reason.
    records = {r.deployer: r for r in history(project)}
    assert (records[winner].outcome, records[loser].outcome) == ("succeeded", "blocked")
    assert f"locked by {winner}" in (records[loser].reason or "")
    assert not lock_file(project).exists()


def test_concurrent_deploys_with_lock_wait_run_one_after_the_other(project: Path) -> None:
    procs = {
        name: start_deploy(project, release, name, "--lock-wait", "60", delay=3)
        for name, release in (("alice", "r1"), ("bob", "r2"))
    }
    results = {name: (p.wait(timeout=180), *p.communicate(timeout=30)) for name, p in procs.items()}
    assert all(code == 0 for code, _, _ in results.values()), results

    runs = history(project)
    assert sorted((r.deployer, r.outcome) for r in runs) == [
        ("alice", "succeeded"),
        ("bob", "succeeded"),
    ]
    # Strictly serial: the second run started deploying only after the first completed.
    kinds = [(s["signal_type"], s["deployer"]) for s in signals(project)]
    first, second = runs[0].deployer, runs[1].deployer
    assert kinds == [
        ("deployment-starting", first),
        ("deployment-complete", first),
        ("deployment-starting", second),
        ("deployment-complete", second),
    ]
    status = json.loads(wave_cli(project, "status", "--env", ENV, "--json").stdout)
    assert status[ENV]["current"]["release"] == runs[1].release
    assert status[ENV]["lock"] is None


def test_sigkill_mid_deploy_leaves_a_stale_lock_the_next_deploy_takes_over(
    project: Path,
) -> None:
    victim = start_deploy(project, "r1", "alice", delay=60)
    try:
        wait_for(lock_file(project).exists, "the lock file")
        wait_for(
            lambda: any((project / "signals").glob("signal-deployment-starting-*.json")),
            "the deployment-starting signal",
        )
        # The app process is started (and recorded) right after the signal: wait for its
        # record, so that it can be stopped by pid once wave is gone.
        wait_for((app_root(project) / "app.pid").exists, "the app's pid file")
        assert victim.poll() is None, victim.communicate()
    finally:
        victim.kill()  # SIGKILL: no finally block, no atexit, no lock release
        victim.communicate(timeout=30)
        stop_app(app_root(project))
    assert victim.returncode == -signal.SIGKILL

    # Only whole signals: every file that is not a temporary one parses.
    files = [p for p in (project / "signals").iterdir() if not p.name.endswith(".tmp")]
    assert sorted(p.name.split(f"-{ENV}-")[0] for p in files) == [
        "signal-deployment-starting",  # this run's own file
        "signal-deployment-starting.json",  # the runbook's fixed name, the latest
    ]
    for path in files:
        data = json.loads(path.read_text())
        assert data["signal_type"] == "deployment-starting" and data["deployer"] == "alice"

    held = json.loads(wave_cli(project, "lock", "--env", ENV, "--json").stdout)
    assert held["lock"]["pid"] == victim.pid and held["lock"]["owner"] == "alice"
    assert held["stale"] is True
    text = wave_cli(project, "lock", "--env", ENV)
    assert "(stale)" in text.stdout

    proc = wave_cli(project, "deploy", "--env", ENV, "--release", "r2", deployer="bob")
    assert proc.returncode == 0, proc.stderr
    assert "deployed r2" in proc.stdout
    assert not lock_file(project).exists()
    runs = history(project)
    # The killed run is recovered first (its one record), then bob's deploy runs.
    assert [(r.kind, r.deployer, r.outcome) for r in runs] == [
        ("unlock", "bob", "recorded"),
        ("deploy", "alice", "interrupted"),
        ("deploy", "bob", "succeeded"),
    ]
    assert f"pid {victim.pid}" in (runs[0].reason or "")


def test_a_corrupt_lock_file_is_held_not_free(project: Path) -> None:
    """A lock nobody can read may belong to a running deploy: refuse, say how to break it."""
    lock = project / ".wave" / "state" / "locks" / f"{ENV}.lock.json"
    lock.parent.mkdir(parents=True)
    lock.write_text('{"environment": "development", "owner": "al')  # torn, or edited by hand

    refused = wave_cli(project, "deploy", "--env", ENV, "--release", "r1")
    assert refused.returncode == 5, refused.stderr
    [line] = [x for x in refused.stderr.splitlines() if x.startswith("wave: error:")]
    assert "unreadable" in line and "wave unlock --env development --force" in line
    assert not (project / "signals").exists(), "nothing may start"

    status = wave_cli(project, "status", "--env", ENV)
    assert status.returncode == 0 and "unreadable" in status.stdout, status.stderr
    broken = wave_cli(project, "unlock", "--env", ENV, "--force", "--reason", "torn lock file")
    assert broken.returncode == 0, broken.stderr
    deployed = wave_cli(project, "deploy", "--env", ENV, "--release", "r1")
    assert deployed.returncode == 0, deployed.stderr
    stop_app(project / ".wave" / "local" / "web")


def test_a_running_deploy_renews_its_lock_and_stops_when_it_loses_it(project: Path) -> None:
    """lock_ttl = 1.5 s: the holder keeps it fresh; broken mid-run, the run stops and undoes."""
    with (project / "wave.toml").open("a") as toml:
        toml.write("\n[state]\nlock_ttl = 1.5\n")
    first = wave_cli(project, "deploy", "--env", ENV, "--release", "r1")
    assert first.returncode == 0, first.stderr
    victim = start_deploy(project, "r2", "alice", delay=20)
    try:
        wait_for(lock_file(project).exists, "the lock file")
        held = LockInfo.model_validate_json(lock_file(project).read_text())

        def renewed() -> bool:
            now = LockInfo.model_validate_json(lock_file(project).read_text())
            return now.expires_at > held.expires_at

        wait_for(renewed, "a renewal of the lock", timeout=10)
        broken = wave_cli(
            project,
            "unlock",
            "--env",
            ENV,
            "--force",
            "--force",
            "--reason",
            "test",
            deployer="ops",
        )
        assert broken.returncode == 0, broken.stderr
        _out, err = victim.communicate(timeout=120)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.communicate(timeout=30)
    assert victim.returncode == 143, err
    assert "broken while this run held it" in err
    runs = [r for r in history(project) if r.kind == "deploy"]
    assert [(r.release, r.outcome) for r in runs] == [("r1", "succeeded"), ("r2", "interrupted")]
    stop_app(app_root(project))


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[Callable[[], None]]:
    """Make ``path`` immutable (``chattr +i``: even root cannot replace it) until the
    returned function is called, or the block ends: a store whose writes fail for real."""
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        missing("chattr +i", made.stderr.strip() or "needs e2fsprogs, root and ext4-like files")

    def undo() -> None:
        subprocess.run(["chattr", "-i", str(path)], check=True, capture_output=True)

    try:
        yield undo
    finally:
        undo()


def _lines(stream: object, into: list[str]) -> threading.Thread:
    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def _deploy_over_r1(project: Path, *, lock_ttl: float, delay: float) -> subprocess.Popen[str]:
    """r1 deployed and live; then ``wave deploy`` of r2 (app v2) started, slow by ``delay``."""
    with (project / "wave.toml").open("a") as toml:
        toml.write(f"\n[state]\nlock_ttl = {lock_ttl}\n")
    first = wave_cli(project, "deploy", "--env", ENV, "--release", "r1")
    assert first.returncode == 0, first.stderr
    write_app(project / "app", "v2")
    victim = start_deploy(project, "r2", "alice", delay=delay)
    wait_for(lock_file(project).exists, "the lock file")
    return victim


def test_a_renewal_that_fails_for_a_while_does_not_stop_the_run(
    project: Path, free_port: int
) -> None:
    """A store that fails a renewal says nothing of who holds the lock: retried, warned."""
    victim = _deploy_over_r1(project, lock_ttl=6, delay=8)
    err: list[str] = []
    try:
        reader = _lines(victim.stderr, err)
        with unwritable(lock_file(project)) as undo:
            wait_for(lambda: any("could not renew the lock" in x for x in err), "a failed renewal")
            undo()
        victim.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.communicate(timeout=30)
    assert victim.returncode == 0, "".join(err)
    assert any("trying again" in line for line in err)
    runs = [r for r in history(project) if r.kind == "deploy"]
    assert [(r.release, r.outcome) for r in runs] == [("r1", "succeeded"), ("r2", "succeeded")]
    assert served_release(f"http://127.0.0.1:{free_port}/") == "v2"
    stop_app(app_root(project))


def test_a_lock_that_cannot_be_renewed_before_it_expires_stops_the_run(
    project: Path, free_port: int
) -> None:
    """Past its expiry another host may take the lock: the run stops and rolls back first."""
    victim = _deploy_over_r1(project, lock_ttl=3, delay=30)
    try:
        with unwritable(lock_file(project)):
            _out, err = victim.communicate(timeout=120)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.communicate(timeout=30)
    assert victim.returncode == 143, err
    assert "could not be renewed before it expired" in err
    runs = [r for r in history(project) if r.kind == "deploy"]
    assert [(r.release, r.outcome) for r in runs] == [("r1", "succeeded"), ("r2", "interrupted")]
    assert served_release(f"http://127.0.0.1:{free_port}/") == "v1"
    stop_app(app_root(project))
