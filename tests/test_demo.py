"""`make demo` works from a clone, whatever branch is checked out (the README's first command).

The demo is copied, with the example apps, into a fresh git repository on `main`, its port
moved to a free one, and run as `make demo` runs it; it checks its own exit codes (deploy
0, the broken deploy rolled back 7) and stops the app it started.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from projects import commit_all, git

from wave_sdk.testing import free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

RUNBOOK_CHECKLISTS = {
    # DEPLOYMENT-RUNBOOK.md, "Pre-Deployment Checklist": its four checklists, verbatim.
    "Gate 7": [
        "All stories in wave marked complete",
        "All QA validations passed (Gate 4)",
        "No open ESCALATION signals",
        "No active violations in VIOLATIONS.log",
        "Budget under limit",
        "All worktree branches have clean merges to target",
        "PM approval signal exists: signal-wave[N]-gate7-merge-approved.json",
    ],
    "Technical": [
        "Build passes: npm run build",
        "TypeScript check passes: npm run typecheck",
        "Lint passes: npm run lint",
        "All tests pass: npm test",
        "No security vulnerabilities: npm audit",
        "Bundle size acceptable",
        "Database migrations ready (if any)",
    ],
    "Documentation": [
        "CHANGELOG updated",
        "API documentation updated (if changed)",
        "README updated (if needed)",
        "VALIDATION-REPORT.md generated",
    ],
    "Communication": [
        "Team notified of upcoming deployment",
        "Stakeholders aware of changes",
        "On-call engineer identified",
        "Rollback plan documented",
    ],
}

POST_DEPLOYMENT = {
    # "Post-Deployment Verification": the smoke test's and monitoring's lines, verbatim.
    "Smoke test": [
        "Application loads",
        "Authentication works",
        "Critical user flows work",
        "API endpoints respond",
        "Database queries succeed",
        "External integrations work",
        "No console errors",
        "Performance acceptable",
    ],
    "Monitoring": [
        "Application metrics normal",
        "Error rate within threshold",
        "Response times acceptable",
        "No new error patterns in logs",
        "Alerts configured and working",
    ],
}


def clone_examples(tmp_path: Path) -> Path:
    """The demo and its apps in a fresh git repository on `main`, on a free port."""
    root = tmp_path / "examples"
    for name in ("app", "app-broken", "demo"):
        shutil.copytree(
            EXAMPLES / name, root / name, ignore=shutil.ignore_patterns(".wave", ".claude")
        )
    shutil.copy(EXAMPLES / "demo.py", root / "demo.py")
    toml = root / "demo" / "wave.toml"
    toml.write_text(toml.read_text().replace("port = 38471", f"port = {free_port()}"))
    git(tmp_path, "init", "-q", "-b", "main")
    commit_all(tmp_path, "a clone")
    return root


def test_the_demo_runs_from_a_fresh_clone_on_main(tmp_path: Path) -> None:
    root = clone_examples(tmp_path)
    done = subprocess.run(
        [sys.executable, str(root / "demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "signal-rollback-complete" in done.stdout
    assert "stopped the demo app" in done.stdout


def test_the_example_apps_are_the_test_kits_health_app() -> None:
    """Real files (a release may not link out of its source), kept equal to the kit's app."""
    kit = Path(__file__).resolve().parents[1] / "wave_sdk" / "testing" / "healthapp.py"
    for name in ("app", "app-broken"):
        server = EXAMPLES / name / "server.py"
        assert not server.is_symlink() and server.read_bytes() == kit.read_bytes(), name


def test_wave_check_on_production_prints_the_runbooks_four_checklists(tmp_path: Path) -> None:
    """Every line of the four checklists, under its section, marked ✓ ✗ or □; none missing.

    And the post-deployment lines (smoke test, monitoring), pending □ before the deploy.
    """
    root = clone_examples(tmp_path)
    wave = str(Path(sys.executable).parent / "wave")
    done = subprocess.run(
        [wave, "check", "--env", "production"],
        cwd=root / "demo",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 3), done.stdout + done.stderr  # 3: some checks failed
    printed: dict[str, list[str]] = {}
    section = ""
    for line in done.stdout.splitlines():
        if line and not line.startswith(" "):
            section = line
            printed.setdefault(section, [])
        elif line.startswith("  ") and line[2:3] in ("✓", "✗", "□"):
            printed[section].append(line[4:])
    for title, items in {**RUNBOOK_CHECKLISTS, **POST_DEPLOYMENT}.items():
        lines = printed.get(title, [])
        missing = [i for i in items if not any(line.startswith(f"{i} [") for line in lines)]
        assert not missing, f"{title}: not printed: {missing}\n{done.stdout}"
    # The demo's production bakes with log patterns: the monitoring line says so.
    assert "  □ No new error patterns in logs [log-patterns]: the bake window" in done.stdout
    # What the demo can check is checked, not left to a person.
    assert "  ✓ Build passes: npm run build [build]" in done.stdout
    assert "  ✓ On-call engineer identified [on-call]" in done.stdout
