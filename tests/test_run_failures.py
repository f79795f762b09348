"""Failures around the deploy itself: misbehaving adapters, retention, a bad way back.

Adapters here are real plugins (a distribution on PYTHONPATH with an entry point, loaded by
the real ``wave`` command), built on the ``local`` target so that what they leave running is
a real process answering on a real port.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
from projects import Project
from run_kit import ENV, app_pid, deploy_cli, history, make_project, recorded_current, serving

PLUGIN = '''
from wave_sdk import AdapterSpec, DeployResult, hookimpl
from wave_sdk.builtin.local import LocalAdapter, LocalTarget

CAPS = frozenset({"rollback", "rollback_to", "status", "health", "releases"})


class Malformed(LocalAdapter):
    """Deploys for real, then returns what the test asks for instead of a DeployResult."""

    name = "malformed"

    def deploy(self, release):
        result = super().deploy(release)
        if release.id != "v2":
            return result
        shape = self.context.config.project.name
        if shape == "dict":
            return result.model_dump()
        if shape == "str":
            return "deployed!"
        return DeployResult(target=self.context.target, release="v9", url=result.url)


class EarlyFail(LocalAdapter):
    """Raises before changing anything, as a platform refusing an upload would."""

    name = "earlyfail"

    def deploy(self, release):
        if release.id == "v2":
            raise RuntimeError("platform refused the upload")
        return super().deploy(release)


@hookimpl
def wave_adapters():
    for cls in (Malformed, EarlyFail):
        yield AdapterSpec(name=cls.name, adapter=cls, config=LocalTarget, capabilities=CAPS)
'''


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site directory holding the plugin distribution, as pip would lay it out."""
    site = tmp_path / "site"
    info = site / "wave_badadapters-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wave-badadapters\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[wave_sdk]\nbadadapters = wave_badadapters\n")
    (site / "wave_badadapters.py").write_text(textwrap.dedent(PLUGIN))
    return site


def configure(project: Project, adapter: str, name: str) -> None:
    make_project(project)
    text = (project.root / "wave.toml").read_text()
    text = text.replace('name = "runs"', f'name = "{name}"')
    text = text.replace('adapter = "local"', f'adapter = "{adapter}"')
    (project.root / "wave.toml").write_text(text)


def deploy(project: Project, site: Path, release: str) -> tuple[int, str, str]:
    proc = deploy_cli(project, release, env={"PYTHONPATH": str(site)})
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("shape", ["dict", "str", "wrong-release"])
def test_a_malformed_result_is_a_failed_deploy_rolled_back(
    project: Project, site: Path, shape: str
) -> None:
    configure(project, "malformed", shape)
    assert deploy(project, site, "v1")[0] == 0
    code, _, stderr = deploy(project, site, "v2")
    assert code == 6, stderr
    assert "Traceback" not in stderr
    [error] = [line for line in stderr.splitlines() if line.startswith("wave: error:")]
    assert "adapter 'malformed'" in error and "deploy()" in error, error
    assert "rolled back web v2 → v1" in error
    # What answers is v1 again, and history says what happened, once.
    assert serving(project) == "v1" == recorded_current(project)
    [run] = [r for r in history(project) if r.release == "v2"]
    assert (run.outcome, run.rolled_back_from, run.rolled_back_to) == ("rolled_back", "v2", "v1")


def test_a_deploy_that_raised_before_changing_anything_is_not_rolled_back(
    project: Project, site: Path
) -> None:
    configure(project, "earlyfail", "early")
    assert deploy(project, site, "v1")[0] == 0
    pid = app_pid(project)
    code, _, stderr = deploy(project, site, "v2")
    assert code == 6, stderr
    assert "Traceback" not in stderr and "platform refused the upload" in stderr
    # No needless rollback: the very same process still serves v1.
    assert serving(project) == "v1" == recorded_current(project)
    assert app_pid(project) == pid
    [run] = [r for r in history(project) if r.release == "v2"]
    # Every target is on the release before (outcome rolled_back), by no rollback at all.
    assert run.outcome == "rolled_back" and run.rolled_back_to is None
    assert "web already on the release before (nothing to roll back)" in (run.reason or "")
    assert run.verification["changed"] is False
    revisions = (project.root / ".wave/local/web/revisions.log").read_text()
    assert "rollback" not in revisions, revisions
    # A later rollback still knows v1 is live (the failed deploy left nothing there).
    plan = json.loads(
        project.cli(
            "rollback", "--env", ENV, "--plan", "--json", env={"PYTHONPATH": str(site)}
        ).stdout
    )
    assert plan["current"] == "v1" and plan["targets"]["web"]["live"] == "v1"


def test_retention_keeps_the_last_verified_release_through_failed_deploys(
    project: Project,
) -> None:
    """keep = 2, and two broken deploys left in place: `wave rollback` still reaches A."""
    make_project(project, keep=2, auto_rollback=False)
    wave = project.wave()
    wave.deploy(ENV, release="A", source=project.release("A"))
    for broken in ("B", "C"):
        proc = deploy_cli(project, broken, healthy=False)
        assert proc.returncode == 7 and "left in place" in proc.stderr, proc.stderr
    assert serving(project) == "C"
    kept = wave.status(ENV)[0].releases
    assert "A" in kept, kept
    proc = project.cli("rollback", "--env", ENV)
    assert proc.returncode == 0, proc.stderr
    assert serving(project) == "A" == recorded_current(project)


def test_an_interrupted_deploy_then_a_broken_one_end_on_the_verified_release(
    project: Project,
) -> None:
    make_project(project, keep=2)
    project.wave().deploy(ENV, release="A", source=project.release("A"))
    killed = deploy_cli(project, "B", kill="verify:KILL")
    assert killed.returncode == -9
    proc = deploy_cli(project, "C", healthy=False)
    assert proc.returncode == 7, proc.stderr
    assert serving(project) == "A" == recorded_current(project)


def test_a_rollback_to_a_release_that_fails_verification_exits_8(project: Project) -> None:
    make_project(project)
    wave = project.wave()
    wave.deploy(ENV, release="v1", source=project.release("v1"))
    wave.deploy(ENV, release="v2", source=project.release("v2"))
    # v1 breaks on the target behind wave's back (a dependency gone, a disk full …).
    app = project.root / ".wave/local/web/releases/v1/app.json"
    app.write_text(json.dumps({"version": "v1", "failing": ["/api/health/db"]}))

    proc = project.cli("rollback", "--env", ENV)
    assert proc.returncode == 8, proc.stderr
    [error] = [line for line in proc.stderr.splitlines() if line.startswith("wave: error:")]
    assert "failed verification" in error and "/api/health/db" in error
    assert "ops@example.com" in error, "a human is needed: the contacts are named"
    # Not made current: the record still says v2, and status shows the drift.
    assert recorded_current(project) == "v2"
    [run] = [r for r in history(project) if r.kind == "rollback"]
    assert run.outcome == "failed"
    assert run.verification["rollback"]["ok"] is False
    signal = json.loads((project.root / ".claude/signal-rollback-complete.json").read_text())
    assert signal["status"] == "failed"
    assert signal["verification"]["health_check"] == "unhealthy"
    status = project.cli("status", "--env", ENV)
    assert "drift: v1 is live, the recorded current release is v2" in status.stdout

    # The plan says what went wrong and what is live, not just what the record says.
    plan = project.cli("rollback", "--env", ENV, "--plan")
    assert "warning: the last rollback failed" in plan.stdout, plan.stdout
    assert "web: v1 is live (running), not the recorded v2" in plan.stdout, plan.stdout
    data = json.loads(project.cli("rollback", "--env", ENV, "--plan", "--json").stdout)
    assert data["targets"]["web"]["live"] == "v1" and data["last_run"]["outcome"] == "failed"

    # Already running it is no excuse: a rollback to v1 is verified, and fails again.
    again = project.cli("rollback", "--env", ENV, "--to", "v1")
    assert again.returncode == 8, again.stderr
    assert recorded_current(project) == "v2"
    # The recorded current release is not live: going back to it is allowed, and verified.
    back = project.cli("rollback", "--env", ENV, "--to", "v2")
    assert back.returncode == 0, back.stderr
    assert serving(project) == "v2" == recorded_current(project)


def test_a_crashing_health_plugin_fails_verification_not_the_command(project: Project) -> None:
    """A plugin's wave_health that raises is an unhealthy round: roll back, no traceback."""
    from wave_sdk import hookimpl
    from wave_sdk.errors import VerificationFailed
    from wave_sdk.plugins import PluginManager
    from wave_sdk.testing.served import served_release

    class CrashesOnV2:
        @hookimpl
        def wave_health(self, target: object, url: str | None) -> list[object]:
            if url and served_release(url) == "v2":
                raise ValueError("the probe has a bug")
            return []

    make_project(project)
    manager = PluginManager(load_entry_points=False)
    manager.register(CrashesOnV2(), name="crashes")
    wave = project.wave(plugins=manager)
    wave.deploy(ENV, release="v1", source=project.release("v1"))
    with pytest.raises(VerificationFailed) as info:
        wave.deploy(ENV, release="v2", source=project.release("v2"))
    assert "a health contributor failed: ValueError: the probe has a bug" in str(info.value)
    assert serving(project) == "v1" == recorded_current(project)
    assert history(project)[-1].outcome == "rolled_back"


DRIP = """
import os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status": "ok", "version": "v2"}'
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        for byte in body:  # one byte a second: every read is quick, the answer never ends
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(1)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
server.serve_forever()
"""


def test_a_dripping_health_endpoint_cannot_hold_the_deploy(project: Project) -> None:
    """deadline = 6, timeout = 2: the deploy ends within the deadline plus 5 s, rolled back."""
    make_project(project)
    toml = (project.root / "wave.toml").read_text()
    toml = toml.replace("retries = 3", "retries = 50").replace("deadline = 20", "deadline = 6")
    (project.root / "wave.toml").write_text(toml)
    project.wave().deploy(ENV, release="v1", source=project.release("v1"))
    v2 = project.root / "src" / "v2"
    v2.mkdir(parents=True)
    (v2 / "server.py").write_text(DRIP)

    started = time.monotonic()
    proc = project.cli("deploy", "--env", ENV, "--release", "v2", "--source", str(v2))
    took = time.monotonic() - started
    assert proc.returncode == 7, proc.stderr
    assert "no complete answer within 2s" in proc.stderr
    assert took < 6 + 5, took
    assert serving(project) == "v1" == recorded_current(project)
