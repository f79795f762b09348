"""The pipeline end to end on real local processes: gate, approval, deploy, verify, rollback.

Every test deploys the health app with the built-in `local` target and probes it over real
HTTP on loopback; nothing in the pipeline is replaced.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from projects import HEALTH_FAST, Project

from wave_sdk.errors import (
    AdapterError,
    ApprovalRequired,
    GateError,
    RollbackUnavailable,
    VerificationFailed,
)
from wave_sdk.testing import free_port


def dev_project(project: Project, *, extra: str = "", target: str | None = None) -> None:
    project.write(
        f"""
[project]
name = "pipeline"
contacts = ["ops@example.com"]

[environments.development]
target = "web"
checks = []

{target or project.local_target()}
{HEALTH_FAST}
{extra}
"""
    )


def test_first_deploy_says_there_is_no_rollback_target(project: Project) -> None:
    dev_project(project)
    wave = project.wave()
    plan = wave.plan("development", release=wave.release("v1", source=project.release("v1")))
    assert plan.rollback_to is None
    report = wave.deploy("development", release="v1", source=project.release("v1"))
    assert report.outcome == "succeeded"
    messages = [e.message for e in wave.reporter.events]  # type: ignore[attr-defined]
    assert any("no release to roll back to" in m for m in messages)


def test_failed_verification_rolls_back_and_writes_signals(project: Project) -> None:
    dev_project(project)
    wave = project.wave()
    first = wave.deploy("development", release="v1", source=project.release("v1"))
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=project.release("v2", healthy=False))
    error = info.value
    assert "/api/health/db" in str(error) and "rolled back web v2 → v1" in str(error)
    assert "ops@example.com" in str(error), "emergency contacts belong in failure messages"
    assert error.rollback is not None and error.rollback.to_release == "v1"

    status = wave.status("development")[0]
    assert status.current == "v1" and status.state == "running"
    assert wave.store.current("development").release == "v1"  # type: ignore[union-attr]

    signals = {
        p.name.split("-development-")[0]: json.loads(p.read_text())
        for p in (project.root / ".claude").glob("signal-*.json")
    }
    complete = signals["signal-deployment-complete"]
    assert complete["status"] == "success" and complete["commit"] is None
    # The runbook's own fields with the runbook's types; per-endpoint figures beside them.
    assert complete["verification"]["health_check"] == "healthy"
    assert complete["verification"]["response_time_ms"] == max(
        complete["verification"]["response_times_ms"].values()
    )
    assert set(complete["verification"]["response_times_ms"]) == {
        "/api/health",
        "/api/health/db",
        "/api/health/external",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", complete["timestamp"])
    assert complete["deploy_id"] == first.deploy_id
    rollback = signals["signal-rollback-complete"]
    for field in (
        "signal_type",
        "environment",
        "commit",
        "status",
        "timestamp",
        "deployer",
        "changes",
        "verification",
        "rolled_back_from",
        "rolled_back_to",
        "reason",
    ):
        assert field in rollback, field
    assert (rollback["rolled_back_from_release"], rollback["rolled_back_to_release"]) == (
        "v2",
        "v1",
    )
    assert (rollback["rolled_back_from"], rollback["rolled_back_to"]) == (None, None)  # no git
    # The verification of the release rolled back to (the runbook's "verify rollback").
    assert rollback["verification"]["health_check"] == "healthy"
    # The runbook's fixed names hold the latest of each signal.
    latest = json.loads((project.root / ".claude" / "signal-rollback-complete.json").read_text())
    assert latest == rollback

    history = wave.history("development")
    assert [(h.release, h.outcome) for h in history] == [("v1", "succeeded"), ("v2", "rolled_back")]


def test_json_field_expectations_are_checked(project: Project) -> None:
    dev_project(
        project,
        extra='[[health.endpoints]]\npath = "/api/health"\n'
        'json = { status = "ok", version = "v9" }\n',
    )
    wave = project.wave()
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v1", source=project.release("v1"))
    assert "JSON field 'version' is 'v1', expected 'v9'" in str(info.value)
    assert "nothing to roll back to" in str(info.value)


def test_gate_failure_stops_before_anything_changes(project: Project) -> None:
    dev_project(project, extra='[checks.lint]\ncommand = "echo lint says no >&2; exit 3"\n')
    text = (project.root / "wave.toml").read_text().replace("checks = []", 'checks = ["lint"]')
    (project.root / "wave.toml").write_text(text)
    wave = project.wave()
    with pytest.raises(GateError) as info:
        wave.deploy("development", release="v1", source=project.release("v1"))
    assert "lint" in str(info.value) and "lint says no" in str(info.value)
    assert not (project.root / ".wave" / "local").exists(), "nothing may be deployed"
    assert wave.history("development")[-1].outcome == "blocked"


def test_missing_rollback_target_refuses_unless_allowed(project: Project) -> None:
    dev_project(project, target=project.local_target(keep=2))
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    # Someone removed the last good release from the target behind wave's back.
    import shutil

    shutil.rmtree(project.root / ".wave" / "local" / "web" / "releases" / "v1")
    with pytest.raises(RollbackUnavailable) as info:
        wave.deploy("development", release="v2", source=project.release("v2"))
    assert "v1" in str(info.value) and "--allow-no-rollback" in str(info.value)
    report = wave.deploy(
        "development", release="v2", source=project.release("v2"), allow_no_rollback=True
    )
    assert report.outcome == "succeeded"


def test_several_targets_roll_back_in_reverse_order(project: Project) -> None:
    api, front = project.local_target("api"), project.local_target("front", port=free_port())
    project.write(f"""
[environments.development]
target = ["api", "front"]
{api}
{front}
{HEALTH_FAST}
""")
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=project.release("v2", healthy=False))
    report = info.value.report
    # api failed verification first: only it was verified, but both were deployed.
    assert [r.target for r in report.deployed] == ["api", "front"]
    assert [r.target for r in report.rollbacks] == ["front", "api"]
    assert {s.target: s.current for s in wave.status("development")} == {"api": "v1", "front": "v1"}


def test_deploy_failure_at_start_rolls_back_with_log_tail(project: Project) -> None:
    dev_project(project)
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    crash = project.root / "src" / "crash"
    crash.mkdir(parents=True)
    (crash / "server.py").write_text("import sys\nprint('missing DATABASE_URL')\nsys.exit(4)\n")
    with pytest.raises(AdapterError) as info:
        wave.deploy("development", release="crash", source=crash)
    message = str(info.value)
    assert "exited at start with code 4" in message and "missing DATABASE_URL" in message
    assert "rolled back web crash → v1" in message
    assert wave.status("development")[0].current == "v1"


def test_production_needs_approval_and_fails_fast(project: Project) -> None:
    project.write(f"""
[environments.production]
target = "web"
{project.local_target()}
{HEALTH_FAST}
""")
    wave = project.wave(interactive=False)
    started = time.monotonic()
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release="v1", source=project.release("v1"))
    assert time.monotonic() - started < 5, "a missing approval must fail fast, never wait"
    assert info.value.command.startswith("wave approve --env production --action deploy")
    assert not (project.root / ".wave" / "local").exists()

    # An approval naming the release id only does not name its code: L1 must.
    wave.approve("production", "deploy", level=1, release="v1", approved_by="alice")
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release="v1", source=project.release("v1"))
    assert "it names release v1, and L1 (human) must name digest sha256:" in str(info.value)

    wave.approve("production", "deploy", level=1, source=project.release("v1"), approved_by="alice")
    report = wave.deploy("production", release="v1", source=project.release("v1"))
    assert report.approval is not None and report.approval.approved_by == "alice"
    last = wave.history("production")[-1]
    assert last.approved_by == "alice" and last.digest == report.approval.digest
    assert last.commit is None  # not a git checkout: no commit is claimed


def test_approval_is_bound_to_its_commit(project: Project) -> None:
    project.write(f"""
[environments.production]
target = "web"
{project.local_target()}
{HEALTH_FAST}
""")
    wave = project.wave()
    wave.approve("production", "deploy", level=1, commit="a" * 40, approved_by="alice")
    release = wave.release("v1", source=project.release("v1"), commit="b" * 40)
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release=release)
    assert "b" * 40 in str(info.value)
    wave.approve("production", "deploy", level=1, commit="b" * 40)  # by the deployer: refused
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release=release)
    assert "tester is the deployer, and the approver must be someone else" in str(info.value)
    wave.approve("production", "deploy", level=1, commit="b" * 40, approved_by="alice")
    assert wave.deploy("production", release=release).outcome == "succeeded"


def test_lower_level_does_not_satisfy_higher_requirement(project: Project) -> None:
    project.write(f"""
[environments.staging]
target = "web"
{project.local_target()}
{HEALTH_FAST}
""")
    wave = project.wave()
    wave.approve("staging", "deploy", level=4, release="v1")  # QA may not approve a PM step
    with pytest.raises(ApprovalRequired):
        wave.deploy("staging", release="v1", source=project.release("v1"))
    wave.approve("staging", "deploy", level=2, release="v1")  # the CTO outranks the PM
    assert wave.deploy("staging", release="v1", source=project.release("v1")).outcome == "succeeded"


def test_manual_rollback_and_named_release(project: Project) -> None:
    dev_project(project)
    wave = project.wave()
    for version in ("v1", "v2", "v3"):
        wave.deploy("development", release=version, source=project.release(version))
    [back] = wave.rollback("development", reason="customer report")
    assert (back.from_release, back.to_release) == ("v3", "v2")
    [named] = wave.rollback("development", to="v1")
    assert named.to_release == "v1"
    history = wave.history("development")
    assert [h.kind for h in history[-2:]] == ["rollback", "rollback"]
    assert history[-2].reason == "customer report"


def test_retention_never_prunes_the_rollback_target(project: Project) -> None:
    dev_project(project, target=project.local_target(keep=2))
    wave = project.wave()
    for version in ("v1", "v2", "v3", "v4"):
        wave.deploy("development", release=version, source=project.release(version))
    kept = wave.status("development")[0].releases
    assert set(kept) == {"v4", "v3"}, kept
    # A failed deploy of v5 must still find v4 to roll back to.
    with pytest.raises(VerificationFailed):
        wave.deploy("development", release="v5", source=project.release("v5", healthy=False))
    assert wave.status("development")[0].current == "v4"


def test_manual_rollback_never_returns_to_a_release_that_failed(project: Project) -> None:
    dev_project(project)
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    with pytest.raises(VerificationFailed):
        wave.deploy("development", release="v2", source=project.release("v2", healthy=False))
    # v2 is still kept on the target, but it failed: there is nothing good before v1.
    with pytest.raises(RollbackUnavailable) as info:
        wave.rollback("development")
    assert "before v1" in str(info.value)
    wave.deploy("development", release="v3", source=project.release("v3"))
    [result] = wave.rollback("development")
    assert (result.from_release, result.to_release) == ("v3", "v1")


def test_rollback_to_the_current_release_is_refused(project: Project) -> None:
    dev_project(project)
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    from wave_sdk.errors import UsageError

    with pytest.raises(UsageError, match="already the current release"):
        wave.rollback("development", to="v1")
    assert [h.kind for h in wave.history("development")] == ["deploy"]


def test_second_target_failing_rolls_back_the_first_too(project: Project) -> None:
    """Backend then frontend; the frontend fails verification; both go back, in reverse."""
    api_src, front_src = project.root / "src" / "api", project.root / "src" / "front"
    project.write(f"""
[environments.development]
target = ["api", "front"]
{project.local_target("api", source="src/api")}
{project.local_target("front", port=free_port(), source="src/front")}
{HEALTH_FAST}
""")
    from wave_sdk.testing.healthapp import write_app

    write_app(api_src, "v1")
    write_app(front_src, "v1")
    wave = project.wave()
    wave.deploy("development", release="v1")
    write_app(api_src, "v2")
    write_app(front_src, "v2", failing=["/api/health/external"])
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2")
    report = info.value.report
    assert [r.target for r in report.deployed] == ["api", "front"]
    assert set(report.health) == {"api", "front"}, "api passed, front was verified and failed"
    assert "verification of front failed" in str(info.value)
    assert [(r.target, r.from_release, r.to_release) for r in report.rollbacks] == [
        ("front", "v2", "v1"),
        ("api", "v2", "v1"),
    ]
    assert {s.target: s.current for s in wave.status("development")} == {"api": "v1", "front": "v1"}
    last = wave.history("development")[-1]
    assert (last.release, last.outcome, last.targets) == ("v2", "rolled_back", ("api", "front"))
    [signal] = [
        json.loads(p.read_text())
        for p in (project.root / ".claude").glob("signal-rollback-complete-*.json")
    ]
    assert signal["targets"] == ["api", "front"] and signal["rolled_back_to_release"] == "v1"
    assert signal["rolled_back_targets"] == ["front", "api"]


CONTACTS = """
[project.contacts]
on_call = ["Dana <+1 555 0100>"]
tech_lead = ["Sam"]
devops = ["ops@example.com"]
database_admin = ["dba@example.com"]
"""


def test_a_failure_names_the_emergency_roles_that_fit_it(project: Project) -> None:
    """The runbook's contacts table: on-call always; devops when the platform failed."""
    dev_project(project, extra=CONTACTS)
    path = project.root / "wave.toml"
    path.write_text(path.read_text().replace('contacts = ["ops@example.com"]\n', ""))
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))

    with pytest.raises(VerificationFailed) as failed:
        wave.deploy("development", release="v2", source=project.release("v2", healthy=False))
    assert str(failed.value).endswith("; emergency contacts: On-Call Engineer: Dana <+1 555 0100>")

    crash = project.root / "src" / "crash"
    crash.mkdir(parents=True)
    (crash / "server.py").write_text("import sys\nsys.exit(4)\n")
    with pytest.raises(AdapterError) as crashed:
        wave.deploy("development", release="crash", source=crash)
    assert (
        "; emergency contacts: On-Call Engineer: Dana <+1 555 0100>; DevOps: ops@example.com"
        in (str(crashed.value))
    )
    assert "Database Admin" not in str(crashed.value) and "Tech Lead" not in str(crashed.value)

    latest = json.loads((project.root / ".claude" / "signal-deployment-complete.json").read_text())
    assert latest["contacts"] == ["Dana <+1 555 0100>"]
    assert latest["contacts_by_role"] == {
        "on_call": ["Dana <+1 555 0100>"],
        "tech_lead": ["Sam"],
        "devops": ["ops@example.com"],
        "database_admin": ["dba@example.com"],
    }
