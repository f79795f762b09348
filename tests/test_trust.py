"""Issue 9's approvals: bound to the code that ships, to the branch, and to a signature.

Each test is a reproduction from the issue, run as a user would (the `wave` command in a
real git repository with a bare remote), asserting what the app serves and what history
records — not what wave reports about itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from projects import HEALTH_FAST, Project, commit_all, git

from wave_sdk import signing
from wave_sdk.testing.healthapp import write_app
from wave_sdk.testing.served import served_release

KEY = "k3y-for-approvals-only"


def repo_project(project: Project, tmp_path: Path, approvals: str = "") -> str:
    """Production (L1, branch main) deploying `app/`, committed and pushed; returns HEAD."""
    project.write(f"""
[environments.production]
branch = "main"
target = "web"

{project.local_target(source="app")}
{HEALTH_FAST}
{approvals}
""")
    write_app(project.root / "app", "v1")
    git(project.root, "init", "-q", "-b", "main")
    head = commit_all(project.root, "v1")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(project.root, "remote", "add", "origin", str(remote))
    git(project.root, "push", "-q", "origin", "main")
    return head


def served(project: Project) -> str | None:
    return served_release(f"http://127.0.0.1:{project.port}/")


def history(project: Project) -> list[dict[str, object]]:
    proc = project.cli("history", "--env", "production", "--json")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def nothing_deployed(project: Project) -> bool:
    """Every deploy so far was refused before anything changed (recorded as blocked)."""
    return all(record["outcome"] == "blocked" for record in history(project))


def deploy(project: Project, *args: str) -> tuple[int, str]:
    proc = project.cli("deploy", "--env", "production", *args)
    return proc.returncode, proc.stdout + proc.stderr


def test_short_sha_approval_is_stored_full_and_unknown_commits_are_refused(
    project: Project, tmp_path: Path
) -> None:
    head = repo_project(project, tmp_path)
    unknown = project.cli("approve", "--env", "production", "--commit", "0badc0de", "--by", "al")
    assert unknown.returncode == 2 and "'0badc0de' is not in the repository" in unknown.stderr

    approved = project.cli(
        "approve", "--env", "production", "--commit", head[:7], "--by", "alice", "--json"
    )
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["commit"] == head
    code, output = deploy(project)
    assert code == 0, output
    assert served(project) == "v1"
    assert history(project)[-1]["commit"] == head


def test_a_dirty_tree_needs_its_digest_approved_and_history_records_the_digest(
    project: Project, tmp_path: Path
) -> None:
    head = repo_project(project, tmp_path)
    assert project.cli("approve", "--env", "production", "--by", "alice").returncode == 0
    write_app(project.root / "app", "v2")  # an edit nobody committed

    code, output = deploy(project)
    assert code == 4, output
    assert "approval for digest sha256:" in output
    assert f"changes not committed in {head[:12]} (app/app.json)" in output
    assert served(project) is None and nothing_deployed(project)

    command = output.split("approve with: ")[1].split()[1:]
    assert "--digest" in command
    assert project.cli(*command, "--by", "alice").returncode == 0
    code, output = deploy(project)
    assert code == 0, output
    assert served(project) == "v2"
    last = history(project)[-1]
    assert last["commit"] is None and str(last["digest"]).startswith("sha256:")
    assert last["digest"] == command[command.index("--digest") + 1]


def test_a_source_outside_the_repository_is_not_the_commit(
    project: Project, tmp_path: Path
) -> None:
    repo_project(project, tmp_path)
    assert project.cli("approve", "--env", "production", "--by", "alice").returncode == 0
    elsewhere = write_app(tmp_path / "elsewhere", "v9")
    code, output = deploy(project, "--source", str(elsewhere))
    assert code == 4, output
    assert f"the source {elsewhere} is outside the repository" in output
    assert served(project) is None and nothing_deployed(project)


def test_production_deploys_only_what_main_has_on_the_remote(
    project: Project, tmp_path: Path
) -> None:
    repo_project(project, tmp_path)
    git(project.root, "checkout", "-q", "-b", "feature/x")
    write_app(project.root / "app", "v2")
    feature = commit_all(project.root, "v2 on a feature branch")
    assert project.cli("approve", "--env", "production", "--by", "alice").returncode == 0

    code, output = deploy(project)
    assert code == 3, output
    assert f"commit {feature[:12]} is not on main (it is on feature/x)" in output
    assert served(project) is None

    git(project.root, "checkout", "-q", "main")
    git(project.root, "merge", "-q", "--ff-only", "feature/x")
    code, output = deploy(project)
    assert code == 3, output
    assert f"commit {feature[:12]} is on main here but not on origin" in output
    assert served(project) is None

    git(project.root, "push", "-q", "origin", "main")
    code, output = deploy(project)
    assert code == 0, output
    assert served(project) == "v2"
    assert history(project)[-1]["commit"] == feature


def test_approvals_cannot_be_lowered_silently(project: Project) -> None:
    project.write(f"""
[environments.production]
production = false
target = "web"

[approvals]
deploy = {{ production = "L5" }}

{project.local_target()}
""")
    proc = project.cli("config", "validate")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "wave: error: wave.toml: approvals.deploy.production: the runbook's matrix needs L1 for "
        "deploy in production; L5 lowers it — to lower it on purpose, set "
        "allow_lower_approvals = true in [environments.production]"
    ]

    toml = project.root / "wave.toml"
    toml.write_text(toml.read_text().replace("production = false", "allow_lower_approvals = true"))
    plan = project.cli("plan", "--env", "production", "--release", "v1")
    assert plan.returncode == 0, plan.stderr
    assert "lowered from the runbook's L1 by allow_lower_approvals" in plan.stdout


SIGNED = """
[approvals]
require_signature = true
key = "${WAVE_APPROVAL_KEY}"
signal_files_up_to = "L1"
"""


def test_signed_approvals_refuse_forged_and_edited_records_and_files(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVE_APPROVAL_KEY", KEY)
    head = repo_project(project, tmp_path, SIGNED)
    records = project.root / ".wave" / "state" / "approvals"

    # A record written by hand (no key) is refused.
    records.mkdir(parents=True)
    forged = {
        "environment": "production",
        "action": "deploy",
        "level": 1,
        "approved_by": "CEO",
        "commit": head,
        "approved_at": "2026-12-03T10:00:00Z",
    }
    (records / "production-deploy-20261203T100000000000Z.json").write_text(json.dumps(forged))
    code, output = deploy(project)
    assert code == 4 and "record by CEO: it is not signed" in output, output

    # A signed record that is then edited (a wider approval, another approver) is refused.
    shutil.rmtree(records)
    assert project.cli("approve", "--env", "production", "--by", "alice").returncode == 0
    [record] = records.glob("*.json")
    data = json.loads(record.read_text())
    assert data["signature"].startswith("hmac-sha256:")
    record.write_text(json.dumps({**data, "approved_by": "mallory"}))
    code, output = deploy(project)
    assert code == 4 and "its signature does not match its content" in output, output

    # A signal file with a made-up signature is refused; one signed with the key passes.
    shutil.rmtree(records)
    claimed = {"environment": "production", "action": "deploy", "level": "L1", "commit": head}
    signal = project.root / ".claude" / "signal-prod-approval-erin.json"
    signal.parent.mkdir()
    signal.write_text(json.dumps({**claimed, "approved_by": "erin", "signature": "hmac-sha256:00"}))
    code, output = deploy(project)
    assert code == 4 and "signal-prod-approval-erin.json: its signature does not match" in output
    assert served(project) is None and nothing_deployed(project)

    good = {**claimed, "approved_by": "erin"}
    signal.write_text(json.dumps({**good, "signature": signing.sign(good, KEY)}))
    code, output = deploy(project)
    assert code == 0, output
    assert served(project) == "v1"
    assert history(project)[-1]["approved_by"] == "erin"


def test_a_signed_record_passes(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVE_APPROVAL_KEY", KEY)
    repo_project(project, tmp_path, SIGNED)
    approved = project.cli("approve", "--env", "production", "--by", "alice")
    assert approved.returncode == 0 and "(signed)" in approved.stdout
    code, output = deploy(project)
    assert code == 0, output
    assert served(project) == "v1"
    assert history(project)[-1]["approved_by"] == "alice"


def test_a_branch_pattern_binds_an_environment_to_matching_branches(
    project: Project, tmp_path: Path
) -> None:
    repo_project(project, tmp_path)
    toml = project.root / "wave.toml"
    toml.write_text(
        toml.read_text() + '\n[environments.development]\nbranch = "feature/*"\ntarget = "web"\n'
    )
    commit_all(project.root, "development follows feature branches")

    def branch_check() -> tuple[bool, str]:
        [found] = [r for r in project.wave().check("development") if r.name == "branch"]
        return found.ok, found.detail

    ok, detail = branch_check()
    assert not ok and "is not on feature/* (it is on main)" in detail
    git(project.root, "checkout", "-q", "-b", "feature/login")
    write_app(project.root / "app", "v2")
    commit = commit_all(project.root, "login")
    ok, detail = branch_check()  # development needs no L1: on the local branch is enough
    assert ok and detail == f"commit {commit[:12]} is on feature/*", detail


def test_the_project_digest_is_what_git_sees_not_the_whole_directory(
    project: Project, tmp_path: Path
) -> None:
    """Without --source the project stands for the targets' sources: an ignored virtual
    environment (absolute links, a FIFO) neither breaks the release nor moves its digest."""
    import os

    repo_project(project, tmp_path)
    (project.root / ".gitignore").write_text(".venv/\n")
    venv = project.root / ".venv"
    venv.mkdir()
    (venv / "python").symlink_to("/usr/bin/python3")
    os.mkfifo(venv / "pipe")
    commit_all(project.root, "ignore the virtual environment")
    assert project.wave().release().commit is not None  # ignored files are not dirt

    (project.root / "notes.txt").write_text("uncommitted\n")
    first = project.wave().release()
    assert first.commit is None and first.digest is not None
    (venv / "lib.py").write_text("changed, but ignored\n")
    assert project.wave().release().digest == first.digest
    (project.root / "notes.txt").write_text("edited\n")
    assert project.wave().release().digest != first.digest
