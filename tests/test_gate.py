"""Gate 7, the checklists and approval signal files, on real git repositories and real files.

Each test builds a project whose `.claude/` holds the WAVE framework's files, with a real
git repository beneath it; `wave check` runs as a subprocess where the command-line
behaviour is the point, `Wave` is called directly elsewhere. Deploys go to the built-in
`local` target over real HTTP.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from projects import HEALTH_FAST, Project, commit_all, git, run_in_terminal

from wave_sdk.checks import CheckSpec, run_checks
from wave_sdk.errors import ApprovalRequired, ConfigError, GateError
from wave_sdk.gate import check_merges
from wave_sdk.gate.post_deploy import LINES as POST_DEPLOYMENT_LINES
from wave_sdk.models import CheckResult, utcnow
from wave_sdk.state import CurrentRelease
from wave_sdk.validation import read_report_header


def commit_file(root: Path, name: str, text: str, message: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(root, "add", name)
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def init_repo(root: Path) -> str:
    """A repository holding everything in ``root`` (wave.toml among it), on main."""
    git(root, "init", "-q", "-b", "main")
    (root / "CHANGELOG.md").write_text("# Changelog\n")
    return commit_all(root, "initial")


def claude(project: Project, name: str, data: Any) -> Path:
    path = project.root / ".claude" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def gate_project(project: Project, *, gate: str = "", extra: str = "") -> str:
    """A production environment with the gate on for wave 3, in a fresh git repository."""
    project.write(
        f"""
[project]
name = "shop"
contacts = ["Dana"]

[environments.production]
target = "web"
{extra}

{project.local_target()}
{HEALTH_FAST}

[gate]
wave = 3
{gate}
"""
    )
    return init_repo(project.root)


def approve_wave(project: Project, commit: str | None, **fields: Any) -> None:
    data = {"approved_by": "dana", **({"commit": commit} if commit else {}), **fields}
    claude(project, "signal-wave3-gate7-merge-approved.json", data)
    claude(project, "signal-wave3-gate4-qa-report.json", {"status": "passed"})
    claude(project, "signal-wave3-story-SHOP-12.json", {"story": "SHOP-12", "status": "done"})


def result(project: Project, name: str, **kwargs: Any) -> CheckResult:
    wave = project.wave(**kwargs)
    found = [r for r in wave.check("production") if r.name == name]
    assert len(found) == 1, [r.name for r in wave.check("production")]
    return found[0]


# -- the checklist through the command line ---------------------------------------------


def test_wave_check_fails_while_an_escalation_is_open_and_passes_once_resolved(
    project: Project,
) -> None:
    head = gate_project(project)
    (project.root / "wave.toml").write_text(
        (project.root / "wave.toml")
        .read_text()
        .replace('target = "web"\n', 'target = "web"\nchecks = ["lint"]\n', 1)
        + '\n[checks.lint]\ncommand = "echo lint clean"\n'
    )
    head = commit_all(project.root, "lint before deploying")
    approve_wave(project, head)
    escalation = claude(
        project,
        "signal-wave3-ESCALATION-payments.json",
        {"status": "open", "summary": "payment provider rejects refunds"},
    )

    proc = project.cli("check", "--env", "production")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    failed = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("✗")]
    assert len(failed) == 1 and "gate7-escalations" in failed[0], proc.stdout
    assert ".claude/signal-wave3-ESCALATION-payments.json" in failed[0]
    assert "payment provider rejects refunds" in failed[0]
    for section in ("Gate 7", "Technical", "Documentation", "Communication"):
        assert section in proc.stdout.splitlines(), section

    escalation.write_text(json.dumps({"status": "resolved", "summary": "provider fixed"}))
    proc = project.cli("check", "--env", "production", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["commit"] == head and data["wave"] == 3
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["gate7-escalations"]["status"] == "passed"
    assert "1 resolved" in by_name["gate7-escalations"]["detail"]
    assert by_name["deployment-starting"]["status"] == "pending"  # □ until the first deploy
    technical = project.wave().check("production", groups={"technical"})
    assert [r.name for r in technical][:2] == ["lint", "migrations-ready"]
    # The runbook's technical lines no command answers are there, as manual items (□).
    manual = {r.name: r.item for r in technical if r.manual}
    assert manual == {
        "build": "Build passes: npm run build",
        "typecheck": "TypeScript check passes: npm run typecheck",
        "test": "All tests pass: npm test",
        "audit": "No security vulnerabilities: npm audit",
        "bundle-size": "Bundle size acceptable",
    }
    assert all(r.pending and r.ok for r in technical if r.manual)

    report = Path(data["report"])
    assert report == project.root / "VALIDATION-REPORT.md"
    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "| Check |" not in line]
    listed = {row.split("|")[2].strip().rpartition(" [")[2].rstrip("]") for row in rows}
    assert (
        listed
        == set(by_name)
        == {
            "lint",
            "migrations-ready",
            "build",
            "typecheck",
            "test",
            "audit",
            "bundle-size",
            *POST_DEPLOYMENT_LINES,
            "gate7-stories",
            "gate7-approval",
            "gate7-escalations",
            "gate7-violations",
            "gate7-budget",
            "gate7-qa",
            "gate7-merge",
            "changelog",
            "api-docs",
            "readme",
            "validation-report",
            "deployment-starting",
            "on-call",
            "rollback-plan",
            "stakeholders",
        }
    )
    for check in data["checks"]:
        row = next(r for r in rows if r.split("|")[2].strip().endswith(f"[{check['name']}]"))
        assert check["status"] in row
    assert read_report_header(report) == {
        "project": "shop",
        "environment": "production",
        "commit": head,
        "wave": "3",
        "status": "passed",
        "generated": read_report_header(report)["generated"],
    }


def test_report_shows_the_output_tail_of_a_failing_command(project: Project) -> None:
    gate_project(project, extra='checks = ["test"]', gate="checks = []")
    script = "import sys\nfor i in range(50): print(f'line {i}')\nsys.exit('boom: 1 failed')\n"
    (project.root / "fail.py").write_text(script)
    with (project.root / "wave.toml").open("a") as f:
        f.write(f'\n[checks.test]\ncommand = ["{sys.executable}", "fail.py"]\n')
    proc = project.cli("check", "--env", "production")
    assert proc.returncode == 3
    assert "      boom: 1 failed" in proc.stdout  # the tail, indented under the ✗ line
    text = (project.root / "VALIDATION-REPORT.md").read_text()
    failures = text.split("## Failures", 1)[1]
    assert "### test" in failures and "boom: 1 failed" in failures and "line 49" in failures
    assert "line 10\n" not in failures, "only the tail of the output belongs in the report"
    assert "- Status: failed" in text


def test_wave_option_picks_the_wave(project: Project) -> None:
    head = gate_project(project)
    approve_wave(project, head)  # wave 3's signals
    proc = project.cli("check", "--env", "production", "--wave", "4", "--json")
    by_name = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert by_name["gate7-approval"]["status"] == "failed"
    assert (
        "signal-wave4-gate7-merge-approved.json is missing" in by_name["gate7-approval"]["detail"]
    )
    assert (
        "found only: signal-wave3-gate7-merge-approved.json"
        in (by_name["gate7-approval"]["detail"])
    )
    assert "signal-wave4-gate4-*.json" in by_name["gate7-qa"]["detail"]
    proc = project.cli("check", "--env", "production", "--wave", "three")
    assert proc.returncode == 2 and "'three' is not a wave number" in proc.stderr


# -- each Gate 7 failure mode -----------------------------------------------------------


def test_missing_approval_signal(project: Project) -> None:
    gate_project(project)
    check = result(project, "gate7-approval")
    assert not check.ok and check.detail.startswith(".claude/ does not exist")
    assert "set [gate] dir" in check.detail
    (project.root / ".claude").mkdir()
    check = result(project, "gate7-approval")
    assert not check.ok
    assert check.detail.startswith(".claude/signal-wave3-gate7-merge-approved.json is missing")


def test_no_wave_number_says_how_to_set_one(project: Project) -> None:
    gate_project(project)
    text = (project.root / "wave.toml").read_text().replace("wave = 3\n", "")
    (project.root / "wave.toml").write_text(text)
    check = result(project, "gate7-approval")
    assert not check.ok and "set [gate] wave = N" in check.detail and "--wave N" in check.detail


def test_approval_signal_for_another_commit(project: Project) -> None:
    first = gate_project(project)
    approve_wave(project, first)
    second = commit_file(project.root, "app.py", "print('v2')\n", "v2")
    check = result(project, "gate7-approval")
    assert not check.ok
    assert f"approves commit {first}" in check.detail and second[:12] in check.detail

    approve_wave(project, second[:8])  # an abbreviated SHA of the right commit is accepted
    check = result(project, "gate7-approval")
    assert check.ok and "approved by dana" in check.detail and second[:12] in check.detail


def test_withdrawn_or_unreadable_approval_signal(project: Project) -> None:
    head = gate_project(project)
    approve_wave(project, head, status="rejected")
    check = result(project, "gate7-approval")
    assert not check.ok and "status is 'rejected'" in check.detail
    claude(project, "signal-wave3-gate7-merge-approved.json", '{"approved_by": "dana",')
    check = result(project, "gate7-approval")
    assert not check.ok and "not valid JSON (line 1" in check.detail


def test_active_violations(project: Project) -> None:
    head = gate_project(project)
    approve_wave(project, head)
    log = project.root / ".claude" / "VIOLATIONS.log"
    log.write_text(
        "# violations of wave 3\n"
        "\n"
        "2026-11-01 backend wrote outside its directory RESOLVED\n"
        "2026-11-02 frontend skipped the review\n"
        "[RESOLVED] 2026-11-03 budget file edited by hand\n"
        "2026-11-04 qa signal forged\n"
    )
    check = result(project, "gate7-violations")
    assert not check.ok
    assert check.detail.startswith("2 active violation(s) in .claude/VIOLATIONS.log")
    assert "line 4: 2026-11-02 frontend skipped the review" in check.detail
    assert "line 6:" in check.detail and "line 3:" not in check.detail

    log.write_text("# all clear\n2026-11-02 frontend skipped the review RESOLVED\n")
    check = result(project, "gate7-violations")
    assert check.ok and "1 entry, all RESOLVED" in check.detail


def test_budget_over_its_limit(project: Project) -> None:
    gate_project(project, gate="budget_limit = 50")
    budget = claude(project, "budget.json", {"spent": 80, "limit": 1000, "currency": "EUR"})
    check = result(project, "gate7-budget")
    assert not check.ok, "the configured limit wins over the file's"
    assert "spent 80 is not under its limit 50 ([gate] budget_limit" in check.detail
    assert ".claude/budget.json" in check.detail

    budget.write_text(json.dumps({"spent": 49.5}))
    assert result(project, "gate7-budget").ok

    budget.write_text(json.dumps({"spent": "a lot"}))
    check = result(project, "gate7-budget")
    assert not check.ok and "'spent' must be a number, not 'a lot'" in check.detail

    budget.unlink()
    check = result(project, "gate7-budget")
    assert not check.ok and "budget.json is missing" in check.detail


def test_budget_limit_from_the_file(project: Project) -> None:
    gate_project(project)
    claude(project, "budget.json", {"spent": 20, "limit": 20})
    check = result(project, "gate7-budget")
    assert not check.ok, "spending the whole budget is not being under it"
    assert "limit 20 ('limit' in the file; .claude/budget.json)" in check.detail
    claude(project, "budget.json", {"spent": 19, "limit": 20})
    assert result(project, "gate7-budget").ok


def test_qa_gate4_signals(project: Project) -> None:
    gate_project(project)
    (project.root / ".claude").mkdir()
    check = result(project, "gate7-qa")
    assert not check.ok and "no Gate 4 (QA) signal for wave 3" in check.detail
    claude(project, "signal-wave3-gate4-api.json", {"status": "passed", "tests": 120})
    claude(project, "signal-wave3-gate4-web.json", {"status": "failed", "failures": 3})
    claude(project, "signal-wave31-gate4-web.json", {"status": "passed"})  # another wave
    check = result(project, "gate7-qa")
    assert not check.ok
    assert "signal-wave3-gate4-web.json (status 'failed')" in check.detail
    assert "gate4-api" not in check.detail
    claude(project, "signal-wave3-gate4-web.json", {"status": "APPROVED"})
    check = result(project, "gate7-qa")
    assert check.ok and "2 Gate 4 signal(s) passed" in check.detail


def test_every_story_of_the_wave_must_be_complete(project: Project) -> None:
    """Gate 7's first line; the same story signals name the release's stories."""
    gate_project(project)
    (project.root / ".claude").mkdir()
    check = result(project, "gate7-stories")
    assert not check.ok and "no story signal for wave 3" in check.detail
    claude(project, "signal-wave3-story-SHOP-12.json", {"story": "SHOP-12", "status": "Done"})
    claude(project, "signal-wave3-story-SHOP-14.json", {"status": "in-progress"})
    claude(project, "signal-wave3-story-SHOP-15.json", "{not json")
    claude(project, "signal-wave4-story-SHOP-20.json", {"status": "open"})  # another wave
    check = result(project, "gate7-stories")
    assert not check.ok
    assert check.detail.startswith("2 of 3 stories of wave 3 not complete: ")
    assert "SHOP-14 (status 'in-progress')" in check.detail and "SHOP-15 (" in check.detail
    assert "SHOP-12" not in check.detail and "SHOP-20" not in check.detail
    claude(project, "signal-wave3-story-SHOP-14.json", {"status": "complete"})
    claude(project, "signal-wave3-story-SHOP-15.json", {"story": "SHOP-15", "status": "DONE"})
    check = result(project, "gate7-stories")
    assert check.ok and check.detail == (
        "all 3 stories of wave 3 complete: SHOP-12, SHOP-14, SHOP-15"
    )
    wave = project.wave()
    stories = wave._stories("production", wave.release())
    assert {"SHOP-12", "SHOP-15"} <= set(stories)


def branches_that_conflict_in_sequence(root: Path) -> None:
    """backend and frontend each merge cleanly into main, but not one after the other."""
    commit_file(root, "config.txt", "timeout = 10\n", "config")
    git(root, "checkout", "-q", "-b", "feature/backend")
    commit_file(root, "config.txt", "timeout = 30\n", "backend: longer timeout")
    commit_file(root, "api.py", "print('api')\n", "backend: api")
    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-q", "-b", "feature/frontend")
    commit_file(root, "config.txt", "timeout = 5\n", "frontend: shorter timeout")
    git(root, "checkout", "-q", "main")


def repository_state(root: Path) -> tuple[str, ...]:
    return (
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain"),
        git(root, "for-each-ref"),
        git(root, "worktree", "list", "--porcelain"),
    )


def test_branches_that_conflict(project: Project) -> None:
    root = project.root
    gate_project(project)
    branches_that_conflict_in_sequence(root)
    before = repository_state(root)

    alone = check_merges(root, "main", ["feature/frontend"], "origin")
    assert alone.ok, alone.detail
    check = check_merges(root, "main", ["feature/backend", "feature/frontend"], "origin")
    assert not check.ok
    assert check.detail.startswith(
        "feature/frontend does not merge cleanly into main after feature/backend: "
        "conflicts in config.txt"
    )
    assert repository_state(root) == before, "the check must leave the repository as it was"

    missing = check_merges(root, "main", ["feature/nope"], "origin")
    assert not missing.ok and "no branch 'feature/nope'" in missing.detail


def test_merge_order_comes_from_the_git_table(project: Project) -> None:
    gate_project(project, extra="")
    with (project.root / "wave.toml").open("a") as f:
        f.write('\n[git]\nmerge_order = ["feature/backend", "feature/frontend"]\n')
    branches_that_conflict_in_sequence(project.root)
    check = result(project, "gate7-merge")
    assert not check.ok and "feature/frontend does not merge cleanly" in check.detail
    text = (project.root / "wave.toml").read_text()
    (project.root / "wave.toml").write_text(
        text.replace("[gate]\n", '[gate]\nbranches = ["feature/backend"]\n', 1)
    )
    check = result(project, "gate7-merge")  # [gate] branches narrows it to one branch
    assert check.ok and check.detail.startswith("feature/backend merge cleanly into main")


def test_the_remote_copy_of_a_branch_is_what_merges(project: Project, tmp_path: Path) -> None:
    gate_project(project)
    root = project.root
    with (root / "wave.toml").open("a") as f:
        f.write('\n[git]\nmerge_order = ["feature/backend", "feature/frontend"]\n')
    branches_that_conflict_in_sequence(root)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main", "feature/backend", "feature/frontend")
    # Locally, frontend no longer conflicts; what was pushed (and reviewed) still does.
    git(root, "branch", "-f", "feature/frontend", "main")
    check = result(project, "gate7-merge")
    assert not check.ok and "feature/frontend does not merge cleanly" in check.detail


# -- documentation and communication ----------------------------------------------------


def test_changelog_must_change_since_the_live_release(project: Project) -> None:
    first = gate_project(project)
    check = result(project, "changelog")
    assert check.ok and "first deploy" in check.detail
    _live(project, first)
    assert "redeploy of the live commit" in result(project, "changelog").detail
    commit_file(project.root, "app.py", "print('v2')\n", "v2 without a changelog entry")
    check = result(project, "changelog")
    assert not check.ok
    assert check.detail.startswith(f"CHANGELOG.md did not change since {first[:12]}")
    assert "1 file(s) changed" in check.detail
    commit_file(project.root, "CHANGELOG.md", "# Changelog\n\n## v2\n", "changelog for v2")
    check = result(project, "changelog")
    assert (
        check.ok and check.detail == f"CHANGELOG.md changed since {first[:12]} (live in production)"
    )


def _live(project: Project, commit: str) -> None:
    project.wave().store.set_current(
        CurrentRelease(
            environment="production",
            release=commit[:12],
            commit=commit,
            targets={"web": commit[:12]},
            deploy_id="d1",
            deployed_at=utcnow(),
        )
    )


def test_api_docs_and_readme_follow_what_they_document(project: Project) -> None:
    first = gate_project(
        project,
        gate='api_paths = ["src/api/", "openapi.yaml"]\napi_docs = ["docs/api/"]\n'
        'readme_paths = ["src/cli.py"]',
    )
    assert result(project, "api-docs").ok and "first deploy" in result(project, "api-docs").detail
    _live(project, first)
    commit_file(project.root, "src/app.py", "print('v2')\n", "not the API")
    assert result(project, "api-docs").detail.startswith("nothing under src/api/, openapi.yaml")
    commit_file(project.root, "src/api/orders.py", "ROUTES = []\n", "an API change")
    check = result(project, "api-docs")
    assert not check.ok
    assert "src/api/orders.py changed since" in check.detail
    assert check.detail.endswith("but nothing under docs/api/: update the API documentation")
    commit_file(project.root, "docs/api/orders.md", "# Orders\n", "its documentation")
    check = result(project, "api-docs")
    assert check.ok and "(docs/api/orders.md)" in check.detail

    commit_file(project.root, "src/cli.py", "FLAGS = ['--fast']\n", "a new flag")
    check = result(project, "readme")
    assert not check.ok and "update README.md" in check.detail
    commit_file(project.root, "README.md", "# shop\n--fast\n", "readme for --fast")
    assert result(project, "readme").ok


def test_the_communication_items(project: Project) -> None:
    first = gate_project(project, gate='stakeholders_command = "test -f announced"')
    assert result(project, "on-call").detail == "on-call: Dana ([project.contacts] on_call)"
    plan = result(project, "rollback-plan")
    assert plan.ok and plan.pending and "first deploy" in plan.detail
    _live(project, first)
    plan = result(project, "rollback-plan")
    assert plan.ok and not plan.pending and f"roll back to {first[:12]}" in plan.detail
    told = result(project, "stakeholders")
    assert not told.ok and "`test -f announced` exited 1" in told.detail
    (project.root / "announced").write_text("yes\n")
    assert result(project, "stakeholders").ok

    toml = project.root / "wave.toml"
    toml.write_text(
        toml.read_text()
        .replace('contacts = ["Dana"]\n', "")
        .replace('stakeholders_command = "test -f announced"\n', "")
    )
    check = result(project, "on-call")
    assert not check.ok and "set [project.contacts] on_call" in check.detail
    manual = result(project, "stakeholders")
    assert manual.pending and "a manual item" in manual.detail


def test_a_manual_item_is_asked_on_a_terminal_and_recorded_for_the_release(
    project: Project,
) -> None:
    """Item 7: what no tool can check is □ until a person confirms it, for this release."""
    head = gate_project(project)

    def stakeholders() -> dict[str, Any]:
        done = project.cli("check", "--env", "production", "--json")
        [item] = [c for c in json.loads(done.stdout)["checks"] if c["name"] == "stakeholders"]
        return dict(item)

    item = stakeholders()
    assert (item["status"], item["manual"]) == ("pending", True), "never passed by itself"

    args = ["check", "--env", "production"]
    _, said_no = run_in_terminal(project, args, answer="no", prompt=b"to record it:")
    assert "□ stakeholders: a manual item" in said_no and "Done?" in said_no
    assert stakeholders()["status"] == "pending"

    _, said_yes = run_in_terminal(project, args, answer="yes", prompt=b"to record it:")
    assert "confirmed by" in said_yes.split("Communication", 1)[1]
    item = stakeholders()
    assert item["status"] == "passed" and item["detail"].startswith("confirmed by ")
    history = json.loads(project.cli("history", "--env", "production", "--json").stdout)
    [record] = [r for r in history if r["kind"] == "confirm" and r["reason"] == "stakeholders"]
    assert record["commit"] == head

    commit_file(project.root, "app.py", "print('v2')\n", "v2")
    assert stakeholders()["status"] == "pending", "a confirmation covers its release only"
    done = project.cli("check", "--env", "production", "--confirm", "stakeholders", "--json")
    [item] = [c for c in json.loads(done.stdout)["checks"] if c["name"] == "stakeholders"]
    assert item["status"] == "passed"


def test_validation_report_must_be_for_the_release(project: Project) -> None:
    gate_project(project)
    check = result(project, "validation-report")
    assert not check.ok and "VALIDATION-REPORT.md is missing" in check.detail
    assert "wave check --env production" in check.detail
    project.wave().check("production", report=True)
    check = result(project, "validation-report")
    assert check.ok and "present (failed" in check.detail  # the report exists; gate7 failed
    second = commit_file(project.root, "app.py", "print('v2')\n", "v2")
    check = result(project, "validation-report")
    assert not check.ok and f"the release is {second[:12]}" in check.detail
    (project.root / "VALIDATION-REPORT.md").write_text("# QA validation\n\nAll good.\n")
    check = result(project, "validation-report")
    assert check.ok and "not written by wave check" in check.detail


# -- the gate's switch ------------------------------------------------------------------


def test_gate_runs_in_production_of_wave_projects_only(project: Project) -> None:
    project.write(
        f"""
[environments.production]
target = "web"
[environments.staging]
target = "web"
{project.local_target()}
"""
    )

    def names(environment: str) -> set[str]:
        return {r.name for r in project.wave().check(environment)}

    assert names("production") == set(), "no [gate] and no framework files: no gate"
    (project.root / ".claude").mkdir()
    (project.root / ".claude" / "signal-deployment-complete-production-x.json").write_text("{}")
    assert names("production") == set(), "wave's own signals do not make a WAVE project"
    (project.root / ".claude" / "VIOLATIONS.log").write_text("")
    assert "gate7-violations" in names("production")
    assert names("staging") == set()
    text = (project.root / "wave.toml").read_text()
    for env, on in (("staging", "true"), ("production", "false")):
        table = f'[environments.{env}]\ntarget = "web"\n'
        text = text.replace(table, f"{table}gate = {on}\n")
    (project.root / "wave.toml").write_text(text + '\n[gate]\nchecks = ["gate7-budget"]\n')
    assert names("production") == set()
    assert names("staging") == {"gate7-budget"}


def test_every_gate_check_name_has_an_implementation() -> None:
    from wave_sdk.config import GATE_CHECKS
    from wave_sdk.gate import CHECKS

    assert set(GATE_CHECKS) == set(CHECKS)
    assert {group for group, _ in CHECKS.values()} == {"gate7", "documentation", "communication"}


def test_unknown_gate_check_and_needs_are_config_errors(project: Project) -> None:
    project.write(
        f"""
[environments.production]
target = "web"
{project.local_target()}
[gate]
checks = ["gate7-budgte"]
"""
    )
    proc = project.cli("check", "--env", "production")
    assert proc.returncode == 2
    assert proc.stderr.startswith("wave: error: wave.toml: gate.checks.0: ")
    assert "gate7-budget" in proc.stderr

    project.write(
        f"""
[environments.production]
target = "web"
checks = ["test"]
{project.local_target()}
[checks.build]
command = "true"
needs = ["test"]
[checks.test]
command = "true"
needs = ["biuld"]
"""
    )
    with pytest.raises(ConfigError) as info:
        project.wave()
    assert "checks.test.needs.0: unknown check 'biuld'" in str(info.value)
    assert "did you mean 'build'?" in str(info.value)
    text = (project.root / "wave.toml").read_text().replace('"biuld"', '"build"')
    (project.root / "wave.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        project.wave()
    assert "needs form a cycle: build → test → build" in str(info.value)
    assert "remove one of these needs" in str(info.value)


# -- scheduling: concurrency, needs, parallel = false -----------------------------------

HANDSHAKE = """
import pathlib, sys, time
log, mine, other = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
with open(log, "a") as f:
    f.write(f"start {mine.name}\\n")
mine.touch()
deadline = time.monotonic() + 20
while not all(pathlib.Path(o).exists() for o in other):
    if time.monotonic() > deadline:
        sys.exit(f"{mine.name}: {other} never appeared: the checks did not run together")
    time.sleep(0.01)
with open(log, "a") as f:
    f.write(f"end {mine.name}\\n")
"""


def scheduling_project(project: Project) -> Path:
    (project.root / "handshake.py").write_text(HANDSHAKE)
    markers = project.root / "markers"
    markers.mkdir()

    def check(name: str, *waits: str, **options: Any) -> str:
        argv = [sys.executable, "handshake.py", "log.txt", f"markers/{name}"]
        argv += [f"markers/{w}" for w in waits]
        lines = [f"[checks.{name}]", f"command = {json.dumps(argv)}"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
        return "\n".join(lines) + "\n"

    project.write(
        f"""
[environments.production]
target = "web"
checks = ["alone", "a", "b", "after-a"]
{project.local_target()}
{check("a", "b")}
{check("b", "a")}
{check("after-a", needs=["a"])}
{check("alone", parallel=False)}
"""
    )
    return project.root / "log.txt"


def test_independent_checks_run_concurrently_and_dependent_ones_after(project: Project) -> None:
    log = scheduling_project(project)
    results = project.wave().check("production")
    assert [r.name for r in results] == ["alone", "a", "b", "after-a"]
    assert all(r.ok for r in results), [r.detail + r.output_tail for r in results]
    assert all(r.duration_s > 0 for r in results), "every check's duration is recorded"
    events = log.read_text().splitlines()
    assert events.index("end a") < events.index("start after-a"), events
    # parallel = false: it starts once every other check has ended, and nothing overlaps it.
    start = events.index("start alone")
    assert events[start + 1] == "end alone", events
    assert all(events.index(f"end {n}") < start for n in ("a", "b", "after-a")), events


def test_a_check_whose_need_failed_is_not_run(project: Project) -> None:
    ran: list[str] = []

    def passes(name: str) -> CheckSpec:
        return CheckSpec(name=name, run=lambda: ran.append(name) or CheckResult(name=name, ok=True))

    def fails() -> CheckResult:
        raise RuntimeError("compiler exploded")

    results = run_checks(
        [
            CheckSpec(name="build", run=fails),
            CheckSpec(name="test", run=passes("test").run, needs=("build",)),
            CheckSpec(name="deploy-docs", run=passes("deploy-docs").run, needs=("test",)),
            CheckSpec(name="lint", run=passes("lint").run, needs=("typo",)),
            passes("audit"),
        ]
    )
    by_name = {r.name: r for r in results}
    assert by_name["build"].detail == "RuntimeError: compiler exploded"
    assert by_name["test"].pending and not by_name["test"].ok
    assert by_name["test"].detail == "not run: needs build, which did not pass"
    assert by_name["deploy-docs"].detail == "not run: needs test, which did not pass"
    assert by_name["lint"].detail == "not run: needs typo, which is not among the checks"
    assert ran == ["audit"]


# -- approval signal files --------------------------------------------------------------


def test_gate7_signal_approves_a_production_deploy(project: Project) -> None:
    gate_project(project)
    wave = project.wave(interactive=False)
    source = project.release("v1")
    head = commit_all(project.root, "v1")
    with pytest.raises(GateError) as gate_info:
        wave.deploy("production", release="v1", source=source)
    assert "gate7-approval" in str(gate_info.value)

    approve_wave(project, head, approved_by="dana (CTO)")
    wave.check("production", report=True)  # VALIDATION-REPORT.md for this commit
    with pytest.raises(ApprovalRequired):  # by default Gate 7 passes the gate, not L1
        wave.deploy("production", release="v1", source=source)

    toml = project.root / "wave.toml"
    toml.write_text(
        toml.read_text() + '\n[approvals]\ngate7_approves = true\nsignal_files_up_to = "L1"\n'
    )
    head = commit_all(project.root, "Gate 7 is the L1 approval here")
    approve_wave(project, head, approved_by="dana (CTO)")
    wave = project.wave(interactive=False)
    wave.check("production", report=True)
    report = wave.deploy("production", release="v1", source=source)
    assert report.outcome == "succeeded"
    assert report.approval is not None
    assert report.approval.source == "signal signal-wave3-gate7-merge-approved.json"
    assert report.approval.commit == head and report.approval.level == 1
    assert wave.history("production")[-1].approved_by == "dana (CTO)"

    # The communication check now finds the signal the deploy wrote.
    check = result(project, "deployment-starting")
    assert check.ok and check.detail.startswith(".claude/signal-deployment-starting-production-")
    for path in (project.root / ".claude").glob("signal-deployment-starting-*.json"):
        path.unlink()
    check = result(project, "deployment-starting")
    assert not check.ok and report.deploy_id in check.detail


def generic_approval_project(project: Project) -> str:
    return gate_project(project, extra="gate = false")


def test_approval_signal_file_satisfies_l1_bound_to_its_commit(project: Project) -> None:
    head = generic_approval_project(project)
    approval = {
        "environment": "production",
        "action": "deploy",
        "level": "L1",
        "approved_by": "erin",
        "commit": "0" * 40,
    }
    claude(project, "signal-prod-approval-erin.json", approval)
    claude(project, "signal-staging-approval-bob.json", {**approval, "environment": "staging"})
    wave = project.wave(interactive=False)
    source = project.release("v1")
    head = commit_all(project.root, "v1")
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release="v1", source=source)
    assert f"for commit {head}" in str(info.value), "another commit's approval does not count"

    claude(project, "signal-prod-approval-erin.json", {**approval, "level": "L2", "commit": head})
    with pytest.raises(ApprovalRequired):
        wave.deploy("production", release="v1", source=source)  # L2 does not satisfy L1

    claude(project, "signal-prod-approval-erin.json", {**approval, "commit": head})
    with pytest.raises(ApprovalRequired) as info:  # a file claims L1, counts as L2
        wave.deploy("production", release="v1", source=source)
    assert "it claims L1, and a signal file counts as at most L2" in str(info.value)

    toml = project.root / "wave.toml"
    toml.write_text(toml.read_text() + '\n[approvals]\nsignal_files_up_to = "L1"\n')
    head = commit_all(project.root, "signal files may approve L1 here")
    claude(project, "signal-prod-approval-erin.json", {**approval, "commit": head})
    wave = project.wave(interactive=False)
    report = wave.deploy("production", release="v1", source=source)
    assert report.approval is not None and report.approval.approved_by == "erin"
    assert report.approval.source == "signal signal-prod-approval-erin.json"
    assert wave.history("production")[-1].approved_by == "erin"


def test_a_malformed_approval_signal_names_file_and_field(project: Project) -> None:
    generic_approval_project(project)
    claude(
        project,
        "signal-prod-approval-erin.json",
        {"environment": "production", "action": "deploy", "level": "L0", "approved_by": "erin"},
    )
    wave = project.wave(interactive=False)
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release="v1", source=project.release("v1"))
    message = str(info.value)
    assert message.startswith(
        ".claude/signal-prod-approval-erin.json: 'level' is 'L0', not L1 … L5, so it cannot "
        "approve deploy to production (fix or delete the file)"
    )
    assert "wave approve --env production --action deploy" in message

    claude(
        project,
        "signal-prod-approval-erin.json",
        {
            "environment": "production",
            "action": "deploy",
            "level": 1,
            "approved_by": "erin",
            "expires_at": "tomorrow",
        },
    )
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release="v1", source=project.release("v1"))
    assert "'expires_at' is 'tomorrow', not an ISO 8601 time" in str(info.value)

    claude(
        project,
        "signal-prod-approval-erin.json",
        {
            "environment": "production",
            "action": "deploy",
            "level": 1,
            "approved_by": "erin",
            "expires_at": "2000-01-01T00:00:00Z",
        },
    )
    with pytest.raises(ApprovalRequired) as info:
        wave.deploy("production", release="v1", source=project.release("v1"))
    assert "none is on record" in str(info.value), "an expired approval approves nothing"
