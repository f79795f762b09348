"""Approvals through the CLI: fail fast without a terminal, prompt on one, records bind."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from projects import HEALTH_FAST, Project, run_in_terminal

from wave_sdk.models import Approval, utcnow


def production(project: Project, approvals: str = "") -> None:
    project.write(f"""
[environments.production]
branch = "main"
target = "web"
{project.local_target()}
{HEALTH_FAST}
{approvals}
""")


def test_non_interactive_run_fails_fast_with_the_approve_command(project: Project) -> None:
    production(project)
    src = str(project.release("v1"))
    started = time.monotonic()
    result = project.cli("deploy", "--env", "production", "--release", "v1", "--source", src)
    assert time.monotonic() - started < 10
    assert result.returncode == 4
    assert "needs L1 (human) approval" in result.stderr
    command = result.stderr.split("approve with: ")[1].strip()
    assert command.startswith("wave approve --env production --action deploy --level L1")

    # The printed command is the one that works.
    approved = project.cli(*command.split()[1:], "--by", "alice")
    assert approved.returncode == 0, approved.stderr
    deployed = project.cli("deploy", "--env", "production", "--release", "v1", "--source", src)
    assert deployed.returncode == 0, deployed.stderr
    history = json.loads(project.cli("history", "--env", "production", "--json").stdout)
    assert history[-1]["approved_by"] == "alice" and history[-1]["outcome"] == "succeeded"


def test_expired_approval_does_not_count(project: Project) -> None:
    production(project)
    wave = project.wave()
    yesterday = utcnow() - timedelta(days=1)
    wave.store.add_approval(
        Approval(
            environment="production",
            action="deploy",
            level=1,
            approved_by="bob",
            release="v1",
            expires_at=yesterday,
        )
    )
    plan = wave.plan("production", release=wave.release("v1", source=project.release("v1")))
    approve_step = next(s for s in plan.steps if s.step == "approve")
    assert (approve_step.level, approve_step.satisfied) == (1, False)


def test_terminal_prompt_needs_the_environment_name(project: Project) -> None:
    production(project, "[approvals]\ndistinct_approver = false")
    src = str(project.release("v1"))
    args = ["deploy", "--env", "production", "--release", "v1", "--source", src]
    code, output = run_in_terminal(project, args, answer="yes")
    assert "Type 'production' to approve" in output
    assert code == 4, output  # "yes" is not the environment's name

    code, output = run_in_terminal(project, args, answer="production")
    assert code == 0, output
    history = project.wave().history("production")
    assert history[-1].outcome == "succeeded" and history[-1].approved_by


def test_terminal_prompt_is_not_offered_when_the_approver_must_be_someone_else(
    project: Project,
) -> None:
    production(project)  # distinct_approver is on for L1 by default
    src = str(project.release("v1"))
    args = ["deploy", "--env", "production", "--release", "v1", "--source", src]
    code, output = run_in_terminal(project, args, answer="production")
    assert "to approve:" not in output
    assert code == 4, output
    assert "someone other than the deployer" in output
    assert not (project.root / ".wave" / "local").exists()  # nothing was deployed
