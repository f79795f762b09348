"""A deploy stopped at every journaled step, by SIGKILL, SIGINT and SIGTERM.

The test-only hook ``WAVE_TEST_KILL_AT=STEP:SIGNAL`` (wave_sdk.run.journal) makes ``wave
deploy`` signal itself right after the journal entry of that step is durable: no timer, no
race. After the next command (``wave recover`` for SIGKILL: the run itself handles SIGINT
and SIGTERM), for every step: the release the app answers with is the recorded current
one, history has exactly one record for the run, every signal file parses, no journal is
left open, no process of the project is left but the app, and the app answers.
"""

from __future__ import annotations

import json
import signal

import pytest
from projects import Project
from run_kit import (
    ENV,
    app_pid,
    deploy_cli,
    history,
    make_project,
    project_processes,
    recorded_current,
    serving,
    signal_files_parse,
    store,
)

HEALTHY_STEPS = ("begin", "deploy", "deployed", "verify", "verified", "commit", "committed")
BROKEN_STEPS = (
    "begin",
    "deploy",
    "deployed",
    "verify",
    "verified",
    "decide",
    "rollback",
    "rolled_back",
    "verify_rollback",
)
# Steps of the automatic rollback: there an interrupt is refused (the rollback finishes).
ROLLING_BACK = {"rollback", "rolled_back", "verify_rollback"}
# Past the commit point an interrupt waits for the record: the run ends as it would have.
FINISHING = {"commit", "committed"}
CASES = [
    pytest.param(healthy, step, sig, id=f"{'ok' if healthy else 'broken'}-{step}-{sig}")
    for healthy, steps in ((True, HEALTHY_STEPS), (False, BROKEN_STEPS))
    for step in steps
    for sig in ("KILL", "INT", "TERM")
]


@pytest.mark.parametrize(("healthy", "step", "sig"), CASES)
def test_a_deploy_stopped_at_any_step_leaves_the_record_true(
    project: Project, healthy: bool, step: str, sig: str
) -> None:
    make_project(project)
    project.wave().deploy(ENV, release="v1", source=project.release("v1"))
    assert serving(project) == "v1"

    proc = deploy_cli(project, "v2", healthy=healthy, kill=f"{step}:{sig}")
    number = getattr(signal, f"SIG{sig}")
    if sig == "KILL":
        assert proc.returncode == -number, proc.stderr
        # The next command finds the dead run and reconciles it.
        status = project.cli("status", "--env", ENV)
        assert "was interrupted at" in status.stderr, status.stderr
        recovered = project.cli("recover", "--env", ENV)
        assert recovered.returncode == 0, recovered.stderr
        assert "recovered deploy" in recovered.stdout
    elif step in FINISHING:
        assert proc.returncode == 0, proc.stderr
        assert "nothing undone" in proc.stderr
    elif step in ROLLING_BACK:
        # Refused while the automatic rollback runs: it finishes, exit 7 as any rollback.
        assert proc.returncode == 7, proc.stderr
        assert "refusing to stop half way" in proc.stderr
    else:
        assert proc.returncode == 128 + number, proc.stderr
        assert f"interrupted by SIG{sig}" in proc.stderr
        assert "Traceback" not in proc.stderr

    # What answers is what the record says, and it is a verified release.
    live = serving(project)
    assert live is not None, "the app must answer"
    assert live == recorded_current(project)
    assert live in ("v1", "v2")
    if not healthy:
        assert live == "v1"
    # One record for the run, and the journal closed.
    runs = [r for r in history(project) if r.kind == "deploy" and r.release == "v2"]
    assert len(runs) == 1, runs
    assert store(project).journals(ENV) == {}
    expected = {
        "KILL": ("interrupted", "succeeded"),
        "INT": ("interrupted",),
        "TERM": ("interrupted",),
    }
    if sig != "KILL" and step in ROLLING_BACK:
        assert runs[0].outcome == "rolled_back"
    elif (sig != "KILL" and step in FINISHING) or step == "committed":
        assert runs[0].outcome == "succeeded" and live == "v2"
    else:
        assert runs[0].outcome in expected[sig], runs[0]
    if not healthy and step in ("decide", "rollback", "rolled_back", "verify_rollback"):
        # Died after its verification failed: the record keeps why, and the rollback.
        assert "/api/health/db" in (runs[0].reason or ""), runs[0]
        assert (runs[0].rolled_back_from, runs[0].rolled_back_to) == ("v2", "v1"), runs[0]
        latest = json.loads((project.root / ".claude/signal-rollback-complete.json").read_text())
        assert latest["deploy_id"] == runs[0].deploy_id
        assert latest["verification"]["health_check"] == "healthy"
    # Whole signals only; the run's last signal says how it ended.
    for data in signal_files_parse(project):
        assert data["signal_type"] in (
            "deployment-starting",
            "deployment-complete",
            "rollback-complete",
        )
    # No process left behind but the app itself; and no drift in status.
    assert project_processes(project) == [app_pid(project)]
    status = project.cli("status", "--env", ENV)
    assert "drift" not in status.stdout and "interrupted" not in status.stderr
    # A second recover finds nothing.
    again = project.cli("recover", "--env", ENV)
    assert again.returncode == 0 and "no interrupted run" in again.stdout


def test_a_first_deploy_killed_in_verification_is_said_to_be_left_running(
    project: Project,
) -> None:
    """No earlier release to return to: recover says the unverified one runs, not that
    nothing had changed."""
    make_project(project)
    proc = deploy_cli(project, "v1", healthy=False, kill="verify:KILL")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    recovered = project.cli("recover", "--env", ENV)
    assert recovered.returncode == 0, recovered.stderr
    assert serving(project) == "v1", "the dead run's release still answers"
    assert "nothing had changed" not in recovered.stdout + recovered.stderr
    assert "v1 is left running on web, unverified" in recovered.stdout, recovered.stdout
    assert recorded_current(project) is None, "never recorded as a verified release"


def test_the_next_deploy_recovers_first(project: Project) -> None:
    make_project(project)
    project.wave().deploy(ENV, release="v1", source=project.release("v1"))
    proc = deploy_cli(project, "v2", kill="verify:KILL")
    assert proc.returncode == -signal.SIGKILL
    assert serving(project) == "v2"  # unverified and live: the state a dead run leaves
    status = project.cli("status", "--env", ENV)
    assert "drift: v2 is live, the recorded current release is v1" in status.stdout

    proc = deploy_cli(project, "v3")
    assert proc.returncode == 0, proc.stderr
    assert "was interrupted at 'verify'" in proc.stderr
    records = [(r.kind, r.release, r.outcome) for r in history(project)]
    assert records[-3:] == [
        ("deploy", "v2", "interrupted"),
        ("unlock", None, "recorded"),
        ("deploy", "v3", "succeeded"),
    ] or records[-3:] == [
        ("unlock", None, "recorded"),
        ("deploy", "v2", "interrupted"),
        ("deploy", "v3", "succeeded"),
    ], records
    assert serving(project) == "v3" == recorded_current(project)


def test_a_second_interrupt_during_the_rollback_is_refused(project: Project) -> None:
    """SIGINT at 'deployed' starts the rollback; a second one at its 'rollback' is refused."""
    make_project(project)
    project.wave().deploy(ENV, release="v1", source=project.release("v1"))
    proc = deploy_cli(project, "v2", kill="deployed:INT,rollback:INT")
    assert proc.returncode == 130, proc.stderr
    assert "refusing to stop half way" in proc.stderr
    assert serving(project) == "v1" == recorded_current(project)
    [run] = [r for r in history(project) if r.release == "v2"]
    assert (run.outcome, run.rolled_back_to) == ("interrupted", "v1")


@pytest.mark.parametrize("step", ["begin", "rollback", "rolled_back", "verify_rollback", "commit"])
def test_a_killed_rollback_is_finished_by_recover(project: Project, step: str) -> None:
    make_project(project)
    wave = project.wave()
    wave.deploy(ENV, release="v1", source=project.release("v1"))
    wave.deploy(ENV, release="v2", source=project.release("v2"))
    killed = project.cli("rollback", "--env", ENV, env={"WAVE_TEST_KILL_AT": f"{step}:KILL"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    recovered = project.cli("recover", "--env", ENV)
    assert recovered.returncode == 0, recovered.stderr
    assert serving(project) == "v1" == recorded_current(project)
    [run] = [r for r in history(project) if r.kind == "rollback"]
    assert run.outcome == "succeeded" and "interrupted at" in (run.reason or "")
    assert store(project).journals(ENV) == {}
    assert project_processes(project) == [app_pid(project)]


def test_a_third_interrupt_abandons_the_rollback_and_recover_finishes_it(
    project: Project,
) -> None:
    make_project(project)
    project.wave().deploy(ENV, release="v1", source=project.release("v1"))
    proc = deploy_cli(project, "v2", kill="deployed:INT,rollback:INT,rolled_back:INT")
    assert proc.returncode == 130, proc.stderr
    assert "refusing to stop half way" in proc.stderr
    assert "abandoned during the rollback" in proc.stderr and "Traceback" not in proc.stderr
    # Left for recovery: the journal is open, the run has no record yet, the lock is free.
    assert list(store(project).journals(ENV)) != []
    assert [r for r in history(project) if r.release == "v2"] == []
    recovered = project.cli("recover", "--env", ENV)
    assert recovered.returncode == 0, recovered.stderr
    assert serving(project) == "v1" == recorded_current(project)
    [run] = [r for r in history(project) if r.release == "v2"]
    assert run.outcome == "interrupted" and run.verification["rollback"]["ok"] is True
    assert store(project).journals(ENV) == {}
