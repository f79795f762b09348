"""After the deploy: smoke test, bake window, and the decision tree acting (or not).

Real local processes and real HTTP throughout; git repositories where the decision needs
to know what changed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from projects import HEALTH_FAST, Project, toml_value

from wave_sdk.errors import ConfigError, VerificationFailed
from wave_sdk.testing.healthapp import write_app

SMOKE = """
import json, os, sys, urllib.request
url = os.environ["WAVE_URL"] + "/api/health/external"
try:
    body = json.load(urllib.request.urlopen(url, timeout=5))
except Exception as exc:
    sys.exit(f"smoke: {url} failed: {exc}")
print("smoke ok", body["version"], os.environ["WAVE_RELEASE"], os.environ["WAVE_ENVIRONMENT"])
"""

# Answers 200 to its first N requests, then 503: healthy at verification, failing in the bake.
DEGRADING_APP = """
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
served = 0
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        global served
        served += 1
        code = 200 if served <= int(os.environ.get("HEALTHY_FOR", "4")) else 503
        self.send_response(code); self.send_header("content-length", "2"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def write(
    project: Project,
    *,
    env_extra: str = "",
    extra: str = "",
    target: str | None = None,
) -> None:
    project.write(f"""
[environments.development]
target = "web"
{env_extra}
{target or project.local_target()}
{HEALTH_FAST}
{extra}
""")


def signals(project: Project, kind: str) -> list[dict[str, Any]]:
    """The signals of one kind, oldest first (by their timestamp: two runs in the same
    second have file names that sort at random)."""
    files = (project.root / ".claude").glob(f"signal-{kind}-*.json")
    return [json.loads(p.read_text()) for p in sorted(files, key=lambda p: p.stat().st_mtime_ns)]


def test_smoke_test_failure_rolls_back(project: Project) -> None:
    (project.root / "smoke.py").write_text(SMOKE)
    write(
        project,
        env_extra=f"smoke = {toml_value([sys.executable, 'smoke.py'])}",
        extra='[[health.endpoints]]\npath = "/api/health"\n',
    )
    wave = project.wave()
    report = wave.deploy("development", release="v1", source=project.release("v1"))
    assert report.smoke == "passed"
    broken = project.release("v2")
    (broken / "app.json").write_text(
        json.dumps({"version": "v2", "failing": ["/api/health/external"]})
    )
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=broken)
    assert "smoke test failed" in str(info.value) and "/api/health/external failed" in str(
        info.value
    )
    assert wave.status("development")[0].current == "v1"
    # The failed run keeps its evidence; the rollback's signal carries the verification of
    # the release it returned to, smoke test included (the runbook's "verify rollback").
    assert wave.history("development")[-1].verification["smoke_tests"] == "failed"
    [rollback] = signals(project, "rollback-complete")
    assert rollback["verification"]["smoke_tests"] == "passed"
    [complete] = signals(project, "deployment-complete")
    assert complete["verification"]["smoke_tests"] == "passed"


def test_bake_window_error_rate_breach_rolls_back(project: Project) -> None:
    write(project, extra='[[health.endpoints]]\npath = "/api/health"\n')
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    degrading = project.root / "src" / "degrading"
    degrading.mkdir(parents=True)
    (degrading / "server.py").write_text(DEGRADING_APP)
    text = (
        (project.root / "wave.toml")
        .read_text()
        .replace(
            'target = "web"\n',
            'target = "web"\nbake = { duration = 1.0, interval = 0.1, max_error_rate = 0.2 }\n',
            1,
        )
    )
    (project.root / "wave.toml").write_text(text)
    wave = project.wave()
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=degrading)
    assert "bake window breached: error rate" in str(info.value)
    report = info.value.report
    assert report.bake["failures"] > 0 and report.bake["requests"] > 4
    assert report.decision["action"] == "quick_rollback"
    assert 0 < report.passing_share < 0.8
    assert wave.status("development")[0].current == "v1"


def test_bake_window_p95_breach(project: Project) -> None:
    write(
        project,
        env_extra="bake = { duration = 0.3, interval = 0.05, max_p95_ms = 0.001 }",
        extra='[[health.endpoints]]\npath = "/api/health"\n',
    )
    with pytest.raises(VerificationFailed) as info:
        project.wave().deploy("development", release="v1", source=project.release("v1"))
    assert "p95" in str(info.value) and "exceeds 0.001 ms" in str(info.value)


def test_working_for_most_users_is_kept_and_flagged(project: Project) -> None:
    write(project, extra="[decisions]\nmost_users = 0.5\n")
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    report = wave.deploy("development", release="v2", source=project.release("v2", healthy=False))
    assert report.outcome == "degraded"
    assert report.decision["action"] == "monitor"
    assert wave.status("development")[0].current == "v2"
    assert wave.history("development")[-1].outcome == "degraded"
    assert [s["status"] for s in signals(project, "deployment-complete")] == ["success", "degraded"]


def test_without_auto_rollback_the_decision_is_only_recommended(project: Project) -> None:
    write(project, env_extra="auto_rollback = false")
    wave = project.wave()
    wave.deploy("development", release="v1", source=project.release("v1"))
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=project.release("v2", healthy=False))
    assert "left in place (auto_rollback = false)" in str(info.value)
    assert "wave rollback --env development" in str(info.value)
    assert wave.status("development")[0].current == "v2"
    assert wave.history("development")[-1].outcome == "failed"
    # `wave rollback --plan` shows the recorded decision and what a rollback would do.
    plan = json.loads(project.cli("rollback", "--env", "development", "--plan", "--json").stdout)
    assert plan["decision"]["action"] == "quick_rollback"
    assert plan["rollback_to"] == "v1" and plan["current"] == "v1"  # current = last good
    assert wave.status("development")[0].current == "v2", "--plan must not act"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def git_project(project: Project) -> None:
    git(project.root, "init", "-q", "-b", "main")
    git(project.root, "config", "user.email", "dev@example.com")
    git(project.root, "config", "user.name", "Dev")
    project.release("app")  # writes src/app/server.py and app.json
    (project.root / ".gitignore").write_text(".wave/\n.claude/\n")


def commit(project: Project, message: str) -> str:
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", message)
    return git(project.root, "rev-parse", "HEAD")


def test_configuration_only_change_is_left_for_a_config_fix(project: Project) -> None:
    git_project(project)
    write(
        project,
        target=project.local_target(source="src/app"),
        extra='[decisions]\nconfig_paths = ["src/app/app.json"]\n',
    )
    commit(project, "PROJ-1 first version")
    wave = project.wave()
    wave.deploy("development")
    (project.root / "src/app/app.json").write_text(
        json.dumps({"version": "v2", "failing": ["/api/health/db"]})
    )
    head = commit(project, "PROJ-2 tune settings")
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development")
    assert "recommended: fix_config" in str(info.value)
    assert info.value.report.config_only is True
    assert wave.status("development")[0].current == head[:12]


def test_code_change_in_the_same_repository_is_rolled_back(project: Project) -> None:
    git_project(project)
    write(
        project,
        target=project.local_target(source="src/app"),
        extra='[decisions]\nconfig_paths = ["src/app/app.json"]\n',
    )
    first = commit(project, "PROJ-1 first version")
    wave = project.wave()
    wave.deploy("development")
    (project.root / "src/app/app.json").write_text(
        json.dumps({"version": "v2", "failing": ["/api/health/db"]})
    )
    (project.root / "src/app/extra.py").write_text("# code too\n")
    commit(project, "PROJ-3 code and settings")
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development")
    assert info.value.report.decision["action"] == "quick_rollback"
    assert wave.status("development")[0].current == first[:12]


def test_stories_come_from_commit_messages_and_story_signals(project: Project) -> None:
    git_project(project)
    write(project, target=project.local_target(source="src/app"))
    commit(project, "PROJ-1 first version")
    wave = project.wave()
    wave.deploy("development")
    (project.root / "src/app/notes.txt").write_text("more\n")
    commit(project, "Add notes\n\nCloses PROJ-7 and WAVE-12")
    (project.root / ".claude").mkdir(exist_ok=True)
    (project.root / ".claude/signal-wave3-story-done.json").write_text('{"story": "STORY-99"}')
    wave.deploy("development")
    first, second = signals(project, "deployment-complete")
    assert first["changes"]["stories"] == ["PROJ-1"]
    assert second["changes"]["stories"] == ["PROJ-7", "WAVE-12", "STORY-99"]


def test_production_needs_l1_unless_visibly_lowered(project: Project) -> None:
    body = f"""
[environments.production]
target = "web"
{{lower}}
{project.local_target()}
{HEALTH_FAST}
[approvals]
deploy = {{{{ production = "L3" }}}}
"""
    project.write(body.format(lower=""))
    with pytest.raises(ConfigError) as info:
        project.wave()
    assert "approvals.deploy.production" in str(info.value)
    assert "allow_lower_approvals = true" in str(info.value)

    project.write(body.format(lower="allow_lower_approvals = true"))
    wave = project.wave()
    assert wave.config.required_level("deploy", "production") == 3
    assert wave.config.required_level("rollback", "production") == 1  # only the cell lowered
    plan = wave.plan("production", release=wave.release("v1", source=project.release("v1")))
    approve = next(s for s in plan.steps if s.step == "approve")
    assert "lowered from the runbook's L1 by allow_lower_approvals" in approve.detail


def test_a_page_that_does_not_load_fails_verification_and_rolls_back(project: Project) -> None:
    """The runbook's "Application loads": [health] page is requested after the health rounds."""
    write(project, extra='[[health.endpoints]]\npath = "/api/health"\n')
    wave = project.wave()
    report = wave.deploy("development", release="v1", source=project.release("v1"))
    assert report.outcome == "succeeded"
    broken = project.release("v2")
    (broken / "app.json").write_text(json.dumps({"version": "v2", "failing": ["/"]}))
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=broken)
    assert "application does not load on web: GET /: status 503" in str(info.value)
    assert wave.history("development")[-1].verification["application_loads"] == {
        "web": "GET /: status 503"
    }
    assert served(project) == "v1", "rolled back by the failed page"


def test_the_page_is_configurable_and_checked_at_load(project: Project) -> None:
    write(project, extra='[[health.endpoints]]\npath = "/api/health"\n')
    toml = project.root / "wave.toml"
    base = toml.read_text()
    release = project.release("v1")
    (release / "app.json").write_text(json.dumps({"version": "v1", "failing": ["/"]}))
    toml.write_text(base.replace("[health]\n", '[health]\npage = "/api/health/external"\n'))
    report = project.wave().deploy("development", release="v1", source=release)
    assert report.outcome == "succeeded"  # "/" fails, but the page is another one
    assert report.application_loads == {"web": "GET /api/health/external: status 200"}
    toml.write_text(base.replace("[health]\n", '[health]\npage = "home"\n'))
    done = project.cli("config", "validate")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if "page" in x]
    assert "wave.toml" in line and "must start with '/'" in line, done.stderr


LOG_BAKE = (
    "bake = { duration = 0.6, interval = 0.1, max_error_rate = 0.05, "
    "log_patterns = ['Traceback', 'ERROR .*refused'] }"
)


def test_error_lines_in_the_new_release_log_roll_it_back(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bake window reads the local target's log: a pattern over the threshold rolls back.

    The app writes the lines itself (app.json "log", printed at every request) into the
    log file the local target gives it; the token in them is a configured secret.
    """
    token = "tok-7f3a9c2e51"
    monkeypatch.setenv("PAY_TOKEN", token)
    write(
        project,
        env_extra=LOG_BAKE,
        target=project.local_target(env={"PAY_TOKEN": "${PAY_TOKEN}"}),
        extra='[[health.endpoints]]\npath = "/api/health"\n',
    )
    wave = project.wave()
    quiet = write_app(project.root / "src" / "v1", "v1", log=["INFO payment accepted"])
    assert wave.deploy("development", release="v1", source=quiet).outcome == "succeeded"

    noisy = write_app(
        project.root / "src" / "v2", "v2", log=[f"ERROR payment refused for token {token}"]
    )
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="v2", source=noisy)
    said = str(info.value)
    assert "log lines matching an error pattern" in said and "'ERROR .*refused'" in said
    assert "ERROR payment refused for token ***" in said and token not in said
    assert served(project) == "v1", "rolled back: v1 answers again"
    record = wave.history("development")[-1]
    bake = record.verification["bake"]
    assert bake["log_lines_matched"] >= 1 and bake["failures"] >= bake["log_lines_matched"]
    assert bake["log_matches"][0] == {
        "target": "web",
        "pattern": "ERROR .*refused",
        "line": "ERROR payment refused for token ***",
    }
    [rollback] = signals(project, "rollback-complete")
    assert "'ERROR .*refused'" in rollback["reason"], rollback
    assert "ERROR payment refused for token ***" in rollback["reason"]
    for path in [*(project.root / ".claude").glob("*.json"), *(project.root / ".wave").rglob("*")]:
        if path.is_file() and "local" not in path.parts:  # the app's own log holds what it wrote
            assert token not in path.read_text(errors="replace"), path


def test_log_lines_that_match_no_pattern_keep_the_release(project: Project) -> None:
    write(project, env_extra=LOG_BAKE, extra='[[health.endpoints]]\npath = "/api/health"\n')
    wave = project.wave()
    calm = write_app(project.root / "src" / "v1", "v1", log=["ERROR budget report generated"])
    report = wave.deploy("development", release="v1", source=calm)
    assert report.outcome == "succeeded" and report.bake is not None
    assert report.bake["log_lines_matched"] == 0 and not report.bake["logs_unread"]
    assert served(project) == "v1"


def test_a_bad_log_pattern_is_a_one_line_configuration_error(project: Project) -> None:
    write(
        project,
        env_extra="bake = { duration = 1, log_patterns = ['ok', '(unclosed'] }",
    )
    done = project.cli("config", "validate")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if "log_patterns" in x]
    assert "wave.toml" in line and "pattern 2 ('(unclosed') is not a regular expression" in line


def served(project: Project) -> str:
    """The release answering on the local target's port now."""
    import httpx

    return str(httpx.get(f"http://127.0.0.1:{project.port}/", timeout=5).json()["version"])
