"""The S3 state store against moto's S3 server: locks, ledger, journals, approvals, settings.

What this file proves, over real HTTP to a real S3 implementation (moto in server mode; see
moto_s3.py for which conditional writes moto implements and why it serves one request at a
time):

* a lock is taken by exactly one of several processes racing for it, refuses others naming
  the holder, is renewed and released only by its holder, and is never released or renewed
  by a holder whose lock was broken or taken over;
* a lock whose holder stopped renewing is taken over once it expired — by exactly one of
  the machines that notice — and the takeover is in history once;
* 50 ledger appends from 5 processes at once all appear, once each;
* journals and approvals round-trip; every object is written with server-side encryption;
* credentials in wave.toml are refused in one line; boto3 is not imported by
  ``wave config validate``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from wave_sdk_s3.settings import S3Settings
from wave_sdk_s3.store import S3StateStore

from wave_sdk.errors import LockHeld
from wave_sdk.models import Approval, HistoryRecord, JournalEntry, utcnow
from wave_sdk.state import LockInfo
from wave_sdk.testing import run_wave

ENV = "production"
HERE = Path(__file__).resolve().parent


def open_store(bucket: Any, url: str, **extra: Any) -> S3StateStore:
    return S3StateStore(S3Settings(bucket=bucket.name, endpoint_url=url, **extra))


@pytest.fixture
def store(bucket: Any, moto_server: Any) -> S3StateStore:
    return open_store(bucket, moto_server.url)


def run_workers(
    script: str, count: int, *args: str, timeout: float = 120, hold: Path | None = None
) -> list[str]:
    """Start ``count`` Python processes at once on ``script``; their stdout, all exit 0.

    With ``hold``, each worker's first line is read while they all still run, and only
    then is ``hold`` created (the lock race's holder waits for it): a holder that exited
    would leave a lock that a late starter on this host rightly takes over as stale.
    """
    start_at = str(time.time() + 1.0)  # every worker starts its work at the same instant
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i), start_at, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for i in range(count)
    ]
    first = [""] * count
    if hold is not None:
        first = [proc.stdout.readline() if proc.stdout else "" for proc in procs]
        hold.touch()
    outputs = []
    for proc, line in zip(procs, first, strict=True):
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        outputs.append(line + out)
    return outputs


PRELUDE = """
import sys, time
from wave_sdk_s3.settings import S3Settings
from wave_sdk_s3.store import S3StateStore
worker, start_at, bucket, url, prefix = int(sys.argv[1]), float(sys.argv[2]), *sys.argv[3:6]
store = S3StateStore(S3Settings(bucket=bucket, endpoint_url=url, prefix=prefix))
store.history()  # connected before the start line, so the race is in the writes
time.sleep(max(0.0, start_at - time.time()))
"""


# -- locks -------------------------------------------------------------------------------


def test_a_held_lock_refuses_a_second_holder_until_released(store: S3StateStore) -> None:
    alice = store.acquire_lock(ENV, owner="alice", deploy_id="d-alice", ttl=60)
    with pytest.raises(LockHeld) as info:
        store.acquire_lock(ENV, owner="bob", deploy_id="d-bob", ttl=60, wait=0.3)
    assert "locked by alice" in info.value.message and "--lock-wait" in (info.value.hint or "")
    held = store.read_lock(ENV)
    assert held is not None and held.token == alice.token and not store.is_stale(held)

    renewed = store.renew_lock(alice, ttl=120)
    assert renewed.expires_at > alice.expires_at
    assert store.read_lock(ENV) == renewed

    store.release_lock(renewed)
    assert store.read_lock(ENV) is None
    bob = store.acquire_lock(ENV, owner="bob", deploy_id="d-bob", ttl=60)
    assert store.read_lock(ENV) == bob
    assert store.history(ENV) == []  # a released lock is no takeover


def test_a_broken_or_taken_lock_is_never_renewed_or_released_by_its_old_holder(
    store: S3StateStore,
) -> None:
    alice = store.acquire_lock(ENV, owner="alice", deploy_id="d-alice", ttl=60)
    assert store.break_lock(ENV) == alice
    with pytest.raises(LockHeld, match="broken"):
        store.renew_lock(alice, ttl=60)

    bob = store.acquire_lock(ENV, owner="bob", deploy_id="d-bob", ttl=60)
    with pytest.raises(LockHeld, match="taken by bob"):
        store.renew_lock(alice, ttl=60)
    store.release_lock(alice)  # not hers any more: a no-op
    assert store.read_lock(ENV) == bob


LOCK_RACE = (
    PRELUDE
    + """
from wave_sdk.errors import LockHeld
import os
try:
    lock = store.acquire_lock("production", owner=f"w{worker}", deploy_id=f"d{worker}", ttl=60)
except LockHeld:
    print("refused", flush=True)
else:
    print("holds", lock.token, flush=True)
    stop = time.monotonic() + 60  # hold it, alive, until every worker has answered
    while not os.path.exists(sys.argv[6]) and time.monotonic() < stop:
        time.sleep(0.02)
"""
)


def test_of_processes_racing_for_a_lock_exactly_one_holds_it(
    bucket: Any, moto_server: Any, tmp_path: Path
) -> None:
    for round_ in range(3):  # a race won by luck once would lose another time
        store = open_store(bucket, moto_server.url, prefix=f"race{round_}")
        hold = tmp_path / f"answered-{round_}"
        outputs = run_workers(
            LOCK_RACE, 6, bucket.name, moto_server.url, f"race{round_}", str(hold), hold=hold
        )
        holders = [o.split()[1] for o in outputs if o.startswith("holds")]
        assert len(holders) == 1, outputs
        assert sum(o.strip() == "refused" for o in outputs) == 5
        held = store.read_lock(ENV)
        assert held is not None and held.token == holders[0]


def test_a_lock_whose_holder_stopped_renewing_is_taken_over_once_after_expiry(
    store: S3StateStore, bucket: Any, moto_server: Any, tmp_path: Path
) -> None:
    # A holder in a live process (this one) that stops renewing: 1.5 s to live.
    stalled = store.acquire_lock(ENV, owner="stalled", deploy_id="d-stalled", ttl=1.5)
    with pytest.raises(LockHeld, match="locked by stalled"):
        store.acquire_lock(ENV, owner="early", deploy_id="d-early", ttl=60, wait=0.2)
    assert not store.is_stale(stalled)

    deadline = time.monotonic() + 10
    while not store.is_stale(stalled):
        assert time.monotonic() < deadline, "the lock never expired"
        time.sleep(0.05)

    # Four machines notice at once: one takes it over, the others are refused.
    hold = tmp_path / "answered"
    outputs = run_workers(LOCK_RACE, 4, bucket.name, moto_server.url, "wave", str(hold), hold=hold)
    holders = [o.split()[1] for o in outputs if o.startswith("holds")]
    assert len(holders) == 1, outputs
    held = store.read_lock(ENV)
    assert held is not None and held.token == holders[0]
    [record] = store.history(ENV)
    assert (record.kind, record.outcome, record.deployer) == ("unlock", "recorded", held.owner)
    assert "took over the stale lock of stalled" in (record.reason or "")
    with pytest.raises(LockHeld):
        store.renew_lock(stalled, ttl=60)  # the stalled holder learns it lost the lock


def test_an_unreadable_lock_counts_as_held(store: S3StateStore, bucket: Any) -> None:
    bucket.put_object(Key=store.locks.key(ENV), Body=b"{not json")
    with pytest.raises(LockHeld, match="unreadable"):
        store.acquire_lock(ENV, owner="bob", deploy_id="d-bob", ttl=60)
    assert store.break_lock(ENV) is None
    store.acquire_lock(ENV, owner="bob", deploy_id="d-bob", ttl=60)


# -- the ledger ----------------------------------------------------------------------------

APPENDS = (
    PRELUDE
    + """
from wave_sdk.models import HistoryRecord, utcnow
for i in range(10):
    store.append_history(HistoryRecord(
        deploy_id=f"w{worker}-{i}", kind="deploy", environment="production",
        outcome="succeeded", started_at=utcnow(), release=f"r{worker}-{i}",
    ))
"""
)


def test_fifty_concurrent_appends_from_five_processes_all_appear_once(
    store: S3StateStore, bucket: Any, moto_server: Any
) -> None:
    run_workers(APPENDS, 5, bucket.name, moto_server.url, "wave")
    records = store.history(ENV)
    counts = Counter(r.deploy_id for r in records)
    expected = {f"w{w}-{i}" for w in range(5) for i in range(10)}
    assert set(counts) == expected and len(records) == 50, counts
    assert max(counts.values()) == 1
    # Each worker's own appends keep their order in the ledger.
    for w in range(5):
        mine = [r.deploy_id for r in records if r.deploy_id.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{i}" for i in range(10)]
    # A fresh store (another machine) reads the same ledger.
    assert open_store(bucket, moto_server.url).history(ENV) == records


def test_history_filters_by_environment_and_skips_stray_objects(
    store: S3StateStore, bucket: Any
) -> None:
    for env in ("staging", ENV, "staging"):
        store.append_history(
            HistoryRecord(
                deploy_id=f"d-{env}",
                kind="deploy",
                environment=env,
                outcome="succeeded",
                started_at=utcnow(),
            )
        )
    bucket.put_object(Key="wave/history/zzz-not-a-record.json", Body=b"hello")
    assert [r.environment for r in store.history()] == ["staging", ENV, "staging"]
    assert len(store.history("staging")) == 2


# -- journals, approvals, current releases, encryption ---------------------------------------


def test_journal_entries_round_trip_in_order_and_close(store: S3StateStore) -> None:
    for seq, step in enumerate(("begin", "deploy", "commit")):
        store.journal_append(
            JournalEntry(deploy_id="d1", environment=ENV, seq=seq, step=step, data={"n": seq})
        )
    store.journal_append(JournalEntry(deploy_id="d2", environment=ENV, seq=0, step="begin"))
    journals = store.journals(ENV)
    assert [e.step for e in journals["d1"]] == ["begin", "deploy", "commit"]
    assert [e.step for e in journals["d2"]] == ["begin"]
    store.journal_close(ENV, "d1")
    assert list(store.journals(ENV)) == ["d2"]


def test_approvals_and_current_release_round_trip(store: S3StateStore) -> None:
    from wave_sdk.state import CurrentRelease

    first = Approval(
        environment=ENV, action="deploy", level=1, approved_by="alice", commit="a" * 40
    )
    second = first.model_copy(update={"approved_by": "bob", "approved_at": utcnow()})
    store.add_approval(first)
    store.add_approval(second)
    assert [a.approved_by for a in store.approvals(ENV)] == ["alice", "bob"]
    assert store.approvals("staging") == []

    assert store.current(ENV) is None
    current = CurrentRelease(environment=ENV, release="v2", deploy_id="d2", deployed_at=utcnow())
    store.set_current(current)
    assert store.current(ENV) == current


def test_every_object_is_written_with_server_side_encryption(
    store: S3StateStore, bucket: Any
) -> None:
    lock = store.acquire_lock(ENV, owner="alice", deploy_id="d1", ttl=60)
    store.append_history(
        HistoryRecord(
            deploy_id="d1", kind="deploy", environment=ENV, outcome="succeeded", started_at=utcnow()
        )
    )
    store.journal_append(JournalEntry(deploy_id="d1", environment=ENV, seq=0, step="begin"))
    store.release_lock(lock)
    keys = [o.key for o in bucket.objects.all()]
    assert len(keys) == 3
    for key in keys:
        assert bucket.Object(key).server_side_encryption == "AES256", key


def test_a_lock_from_another_host_is_stale_only_once_expired(store: S3StateStore) -> None:
    now = utcnow()
    lock = LockInfo(
        environment=ENV,
        owner="ci",
        host="runner-7",
        pid=1,
        deploy_id="d",
        acquired_at=now,
        expires_at=now + timedelta(seconds=60),
        token="t",
    )
    assert not store.is_stale(lock)
    assert store.is_stale(lock.model_copy(update={"expires_at": now - timedelta(seconds=1)}))


# -- configuration -------------------------------------------------------------------------


def write_project(root: Path, table: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "wave.toml").write_text(
        '[environments.production]\ntarget = "web"\n\n'
        '[targets.web]\nadapter = "local"\ncommand = ["true"]\nport = 8000\n\n'
        f'[state]\nstore = "s3"\n\n[state.s3]\n{table}\n'
    )
    return root


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        (
            'bucket = "b"\naws_secret_access_key = "wJalrXUtnFEMI/K7MDENG"',
            "state.s3",
            "credentials never go in the configuration file",
        ),
        ('bucket = "b"\nbukcet = "c"', "state.s3.bukcet", "did you mean 'bucket'?"),
        ('prefix = "x"', "state.s3.bucket", "required"),
        ('bucket = "b"\nsse = "rot13"', "state.s3.sse", "AES256"),
    ],
)
def test_bad_settings_are_one_line_naming_the_key(
    tmp_path: Path, table: str, key: str, says: str
) -> None:
    root = write_project(tmp_path / "p", table)
    proc = run_wave("config", "validate", cwd=root, unset=["WAVE_DISABLE_PLUGINS"])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"wave: error: wave.toml: {key}"), lines[0]
    assert says in lines[0]
    assert "wJalrXUtnFEMI" not in proc.stderr


def test_a_table_no_store_claims_is_an_error(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", 'bucket = "b"')
    (root / "wave.toml").write_text(
        (root / "wave.toml").read_text() + '\n[state.s4]\nbucket = "b"\n'
    )
    proc = run_wave("config", "validate", cwd=root, unset=["WAVE_DISABLE_PLUGINS"])
    assert proc.returncode == 2 and "[state.s4] names no installed state store" in proc.stderr


def test_config_validate_with_the_s3_store_does_not_import_boto3(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", 'bucket = "b"\nendpoint_url = "http://127.0.0.1:9"')
    script = (
        "import json, sys\nfrom wave_sdk.cli import main\n"
        f"code = main(['config', 'validate', '--config', {str(root)!r}])\n"
        "print('MODULES ' + json.dumps(sorted(sys.modules)))\nsys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WAVE_DISABLE_PLUGINS", "PYTHONPATH")}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.strip().splitlines()[-1].removeprefix("MODULES "))
    assert "wave_sdk_s3.settings" in modules  # the store was opened and validated ...
    roots = {m.split(".")[0] for m in modules}
    assert roots.isdisjoint({"boto3", "botocore", "s3transfer"})  # ... without its client


def test_an_unreachable_endpoint_is_one_line_naming_the_bucket(
    tmp_path: Path, aws: dict[str, str]
) -> None:
    from wave_sdk.testing import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    root = write_project(tmp_path / "p", f'bucket = "team-state"\nendpoint_url = "{closed}"')
    proc = run_wave("history", cwd=root, unset=["WAVE_DISABLE_PLUGINS"], timeout=90)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "s3://team-state/wave/" in lines[0] and f"cannot reach {closed}" in lines[0]
    assert "endpoint_url" in lines[0]


def test_config_show_includes_the_validated_store_table(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", 'bucket = "team-state"\nprefix = "/shop/"')
    proc = run_wave("config", "show", cwd=root, unset=["WAVE_DISABLE_PLUGINS"])
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)["state"]
    assert shown["store"] == "s3"
    assert (shown["s3"]["bucket"], shown["s3"]["prefix"], shown["s3"]["sse"]) == (
        "team-state",
        "shop",
        "AES256",
    )
