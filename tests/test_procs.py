"""Child processes: nothing wave starts outlives its step, whatever ends the step.

Real processes throughout. A command leaves grandchildren behind (``sleep`` started in the
background by a shell, or a Python process carrying a unique marker argument); each test
then looks on the system — the pids the command wrote, and ``/proc`` for the marker — and
waits, with a deadline, for every one of them to be gone. A zombie counts as gone: it has
exited, and only its new parent (PID 1) has not collected it yet.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from projects import HEALTH_FAST, Project

from wave_sdk import procs, secrets
from wave_sdk.checks import CheckSpec, command_check, run_checks
from wave_sdk.config import CheckConfig
from wave_sdk.errors import AdapterError
from wave_sdk.testing import missing
from wave_sdk.transport import LocalTransport


@pytest.fixture(autouse=True)
def _proc_filesystem() -> None:
    """These tests look for leftover processes in /proc: without it they cannot say."""
    if not Path("/proc").is_dir():
        missing("/proc", "the tests read the process table from it (Linux)")


# Slack for a loaded machine: what a test allows beyond the timeout and the grace.
SLACK = 5.0


def state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, …), or None when it no longer exists."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def alive(pid: int) -> bool:
    return state(pid) not in (None, "Z", "X")


def marked(marker: str) -> list[int]:
    """Live processes whose command line carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def all_gone(pids: list[int], marker: str | None = None, *, deadline: float = 10) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if not any(alive(p) for p in pids) and not (marker and marked(marker)):
            return True
        time.sleep(0.02)
    return False


def read_pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


@pytest.fixture
def marker() -> str:
    return f"wave-test-{uuid.uuid4().hex}"


@pytest.fixture
def pid_file(tmp_path: Path) -> Path:
    return tmp_path / "pids"


def leaves_children(pid_file: Path, marker: str, *, then: str = "sleep 300") -> str:
    """A shell command line that starts two grandchildren that would live 300 s, then ``then``.

    One is ``sleep`` (its pid written to ``pid_file``), one a Python process whose argv
    carries ``marker``; both are in the background, holding the shell's output open.
    """
    python = f"{sys.executable} -c 'import time; time.sleep(300)' {marker}"
    return (
        f"sleep 300 & echo $! >> {pid_file}; {python} & echo $! >> {pid_file}; echo started; {then}"
    )


@pytest.fixture
def interrupt_in(request: pytest.FixtureRequest) -> Iterator[None]:
    """Restore SIGALRM and SIGINT handlers and cancel the timer after a test that sets them."""
    alarm = signal.getsignal(signal.SIGALRM)
    interrupt = signal.getsignal(signal.SIGINT)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGINT, interrupt)


# -- run --------------------------------------------------------------------------------


def test_a_timeout_ends_the_whole_group_and_says_so(pid_file: Path, marker: str) -> None:
    started = time.monotonic()
    done = procs.run(procs.command_argv(leaves_children(pid_file, marker)), timeout=1)
    took = time.monotonic() - started

    assert done.timed_out and not done.ok
    assert done.returncode == -signal.SIGTERM  # the shell, ended by SIGTERM at the deadline
    assert done.outcome() == "timed out after 1s (killed)"
    assert done.stdout == "started\n"  # what it wrote before the deadline is kept
    assert took < 1 + procs.GRACE_S + SLACK
    pids = read_pids(pid_file)
    assert len(pids) == 2
    assert all_gone(pids, marker), f"left behind: {[p for p in pids if alive(p)]}"


def test_children_left_by_a_leader_that_exits_are_ended_at_once(
    pid_file: Path, marker: str
) -> None:
    # The shell exits 0 at once; its background children hold its output open. Neither
    # delays the result (output goes to files, not pipes), and neither survives it.
    started = time.monotonic()
    done = procs.run(
        procs.command_argv(leaves_children(pid_file, marker, then="exit 0")), timeout=60
    )

    assert done.ok and done.stdout == "started\n"
    assert time.monotonic() - started < SLACK
    assert all_gone(read_pids(pid_file), marker)


def test_a_group_that_ignores_sigterm_gets_sigkill_after_the_grace(pid_file: Path) -> None:
    # SIG_IGN is inherited through exec: the shell and its sleep both ignore SIGTERM.
    command = f"trap '' TERM; sleep 300 & echo $! >> {pid_file}; sleep 300"
    started = time.monotonic()
    done = procs.run(procs.command_argv(command), timeout=0.5)

    took = time.monotonic() - started
    assert done.timed_out and done.returncode == -signal.SIGKILL
    assert procs.GRACE_S <= took < 0.5 + procs.GRACE_S + SLACK
    assert all_gone(read_pids(pid_file))


def test_keyboard_interrupt_while_waiting_ends_the_group_then_goes_on(
    pid_file: Path, marker: str, interrupt_in: None
) -> None:
    # Ctrl-C as the terminal sends it: SIGINT to the process, KeyboardInterrupt raised in
    # the main thread while it waits for the command.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.get_ident()
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        procs.run(procs.command_argv(leaves_children(pid_file, marker)), timeout=300)
    timer.join()

    assert time.monotonic() - started < procs.GRACE_S + SLACK
    pids = read_pids(pid_file)
    assert len(pids) == 2
    assert all_gone(pids, marker)


class Cancelled(Exception):
    """What a signal handler of the application raises (the pipeline's SIGTERM, say)."""


def test_an_exception_from_a_signal_handler_ends_the_group(
    pid_file: Path, marker: str, interrupt_in: None
) -> None:
    def handler(signum: int, frame: object) -> None:
        raise Cancelled(f"signal {signum}")

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    with pytest.raises(Cancelled):
        procs.run(procs.command_argv(leaves_children(pid_file, marker)), timeout=300)

    assert all_gone(read_pids(pid_file), marker)


def test_input_env_cwd_and_merged_output(tmp_path: Path) -> None:
    script = "import os, sys; print(sys.stdin.read(), os.environ['X'], os.getcwd()); " + (
        "sys.stdout.flush(); print('err', file=sys.stderr)"
    )
    done = procs.run(
        [sys.executable, "-c", script],
        timeout=30,
        input="fed",
        env={**os.environ, "X": "set"},
        cwd=tmp_path,
        merge_stderr=True,
    )
    assert done.ok
    assert done.stdout == f"fed set {tmp_path}\nerr\n" and done.stderr == ""

    apart = procs.run(
        [sys.executable, "-c", "import sys; print('out'); sys.exit('err')"], timeout=30
    )
    assert (apart.stdout, apart.stderr, apart.returncode) == ("out\n", "err\n", 1)
    assert apart.outcome() == "exited 1"


def test_stdin_is_never_the_terminal() -> None:
    # Nothing wave runs may stop to ask: without input, standard input is empty.
    done = procs.run(
        [sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], timeout=30
    )
    assert done.stdout == "''\n"


def test_a_missing_program_is_an_os_error() -> None:
    with pytest.raises(FileNotFoundError):
        procs.run(["wave-test-no-such-program"], timeout=5)


def test_the_reported_tail_masks_secrets() -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    secrets.register(secret)
    try:
        done = procs.run(procs.command_argv(f"echo token={secret}; exit 3"), timeout=30)
        assert secret in done.stdout  # the text as written, for parsing
        assert done.tail() == "token=***"  # what a person or a file is shown
    finally:
        secrets.clear()


# -- checks and the smoke test -------------------------------------------------------


def test_a_check_past_its_timeout_leaves_no_process(
    tmp_path: Path, pid_file: Path, marker: str
) -> None:
    check = CheckConfig(command=leaves_children(pid_file, marker), timeout=1)
    [result] = run_checks([command_check("slow", check, tmp_path)])

    assert not result.ok
    assert result.detail.endswith("timed out after 1s (killed)")
    assert result.output_tail == "started"
    assert result.duration_s < 1 + procs.GRACE_S + SLACK
    assert all_gone(read_pids(pid_file), marker)


def test_interrupting_the_checks_ends_every_running_command(
    tmp_path: Path, marker: str, interrupt_in: None
) -> None:
    # The checks run in a pool; the exception reaches only the main thread, which waits
    # for them. Their commands are ended rather than waited for (10 minutes each here).
    specs = [
        command_check(
            name,
            CheckConfig(command=leaves_children(tmp_path / f"{name}.pids", marker), timeout=600),
            tmp_path,
        )
        for name in ("one", "two")
    ]

    def handler(signum: int, frame: object) -> None:
        raise Cancelled

    def started() -> bool:
        return all((tmp_path / f"{n}.pids").exists() for n in ("one", "two"))

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    began = time.monotonic()
    with pytest.raises(Cancelled):
        run_checks(specs)

    assert time.monotonic() - began < 1 + procs.GRACE_S + SLACK
    assert started(), "the checks had not started: the test proves nothing"
    pids = read_pids(tmp_path / "one.pids") + read_pids(tmp_path / "two.pids")
    assert all_gone(pids, marker)


def test_a_plugin_check_is_not_affected(tmp_path: Path) -> None:
    # A check that is a Python function, not a command: run_checks still runs it as before.
    from wave_sdk.models import CheckResult

    spec = CheckSpec(name="py", run=lambda: CheckResult(name="py", ok=True, detail="fine"))
    assert [r.ok for r in run_checks([spec])] == [True]


def test_a_smoke_test_past_its_timeout_leaves_nothing_after_wave_exits(
    project: Project, marker: str
) -> None:
    # The issue as a user met it: `wave deploy` with a smoke test whose background
    # children outlived the smoke timeout, and wave itself.
    pid_file = project.root / "smoke.pids"
    project.write(f"""
[environments.development]
target = "web"
smoke = {json_string(leaves_children(pid_file, marker))}
smoke_timeout = 1

{project.local_target()}
{HEALTH_FAST}
[[health.endpoints]]
path = "/api/health"
""")
    source = project.release("v1")
    done = project.cli("deploy", "--env", "development", "--release", "v1", "--source", str(source))

    assert done.returncode != 0, done.stdout + done.stderr
    assert "smoke test failed" in done.stdout + done.stderr
    assert "timed out after 1s (killed)" in done.stdout + done.stderr
    pids = read_pids(pid_file)
    assert len(pids) == 2
    assert all_gone(pids, marker)


def json_string(text: str) -> str:
    import json

    return json.dumps(text)


# -- the local transport -------------------------------------------------------------


def test_a_local_transport_command_past_its_timeout_leaves_no_process(
    pid_file: Path, marker: str
) -> None:
    argv = ["/bin/sh", "-c", leaves_children(pid_file, marker)]
    with pytest.raises(AdapterError, match=r"timed out after 1s"):
        LocalTransport().run(argv, timeout=1)
    assert all_gone(read_pids(pid_file), marker)
