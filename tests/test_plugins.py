"""The plugin system keeps its promises (wave_sdk.plugins, wave_sdk.hookspecs).

What this file proves, each against real plugins (real entry points, a real distribution
written to disk, real ``wave`` subprocesses) and real deploys:

* two adapters installed at once (``local`` built in, ``static`` from its entry point) each
  receive exactly the operations of their own targets — also when both targets are open in
  the same run — while a wrapper plugin sees every ``wave_deploy`` go through;
* a plugin that raises on import is listed as BROKEN by ``wave adapters`` and does not stop
  other deploys; ``WAVE_DISABLE_PLUGINS`` hides a plugin, and a configuration naming a
  disabled adapter fails with exit 2, the installed adapters and an install hint;
* rule breakers are reported, not silently used or ignored: a plain (non-wrapper)
  ``wave_deploy`` outside an adapter, an adapter name announced twice, a misspelt hook;
* ``wave_health`` contributions take part in verification (a failing one rolls back) and
  ``wave_signal`` observers see all three signal types, a raising observer failing nothing;
* imports stay lazy: ``wave_sdk.Wave`` on demand, the CLI parser without pydantic, pluggy or
  httpx, ``wave adapters`` without any adapter's platform library or module.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wave_sdk import AdapterSpec, HealthResult, hookimpl
from wave_sdk.errors import PluginError, VerificationFailed
from wave_sdk.plugins import PluginManager
from wave_sdk.reporting import ListReporter
from wave_sdk.state import pid_alive
from wave_sdk.testing import run_wave
from wave_sdk.testing.healthapp import write_app
from wave_sdk.wave import Wave

WAVE = str(Path(sys.executable).parent / "wave")
FAST_HEALTH = "interval = 0.1\nconsecutive = 2\nretries = 1\ndeadline = 30\ntimeout = 2\n"


# -- helpers ---------------------------------------------------------------------------


def wave_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``wave`` console script with a clean plugin environment."""
    unset = ("WAVE_DISABLE_PLUGINS", "PYTHONPATH")
    return run_wave(*args, env=env, unset=unset, timeout=timeout)


def stop_app(root: Path) -> None:
    """Kill the process group recorded in ``<root>/app.pid`` and wait until it is gone."""
    try:
        record = json.loads((root / "app.pid").read_text())
    except (FileNotFoundError, ValueError):
        return
    pid, start = int(record["pid"]), record.get("start")
    if not pid_alive(pid, start):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid, start):
        assert time.monotonic() < deadline, f"app process {pid} survived SIGKILL"
        time.sleep(0.02)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # started in this process by an in-process deploy


def write_dist(site: Path, module: str, source: str, *, entry_point: str) -> None:
    """Install a one-module distribution into ``site`` the way pip would lay it out."""
    info = site / f"{module}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[wave_sdk]\n{entry_point} = {module}\n")
    (site / f"{module}.py").write_text(source)


@pytest.fixture
def project(tmp_path: Path, free_port: int) -> Iterator[Path]:
    """A project with a local target (``web``) and a static one (``site``).

    ``development`` deploys ``web``, ``docs`` deploys ``site``, ``both`` deploys both in
    one run. Whatever the test started on ``web`` is stopped afterwards by its pid.
    """
    root = tmp_path / "project"
    write_app(root / "app", "v1")
    (root / "site").mkdir(parents=True)
    (root / "site" / "index.html").write_text("<h1>docs</h1>\n")
    (root / "wave.toml").write_text(
        f"""
[project]
name = "plugins"

[environments.development]
target = "web"

[environments.docs]
target = "site"
health = {{ endpoints = [], {FAST_HEALTH.strip().replace(chr(10), ", ")} }}

[environments.both]
target = ["web", "site"]
health = {{ endpoints = [], {FAST_HEALTH.strip().replace(chr(10), ", ")} }}

[approvals]
deploy = {{ docs = "L5", both = "L5" }}
rollback = {{ docs = "L5", both = "L5" }}

[targets.web]
adapter = "local"
source = "app"
command = [{json.dumps(sys.executable)}, "server.py"]
port = {free_port}
start_timeout = 30

[targets.site]
adapter = "static"
source = "site"
docroot = "www"

[signals]
dir = "signals"

[health]
{FAST_HEALTH}
"""
    )
    yield root
    stop_app(root / ".wave" / "local" / "web")


def make_wave(project: Path, plugins: PluginManager) -> Wave:
    return Wave(project / "wave.toml", plugins=plugins, reporter=ListReporter(), deployer="tester")


class DeployRecorder:
    """A wrapper around ``wave_deploy``: records which target each call went to."""

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self.calls: list[dict[str, Any]] = []

    @hookimpl(wrapper=True)
    def wave_deploy(self, target: Any, release: Any) -> Any:
        # The adapter instance registered for this target, as the core registered it.
        registered = self.manager.pm.get_plugin(f"adapter:{target.target}")
        result = yield
        self.calls.append(
            {
                "environment": target.environment,
                "target": target.target,
                "adapter": registered.name,
                "answered_for": result.target,
                "message": result.message,
            }
        )
        return result


# -- two adapters at once --------------------------------------------------------------


def test_each_target_reaches_exactly_its_own_adapter(project: Path) -> None:
    manager = PluginManager()
    assert {"local", "static"} <= set(manager.adapter_specs), manager.broken
    assert manager.adapter_specs["static"].plugin == "static"  # its entry-point name
    recorder = DeployRecorder(manager)
    manager.register(recorder, name="recorder")
    assert manager.pm.has_plugin("recorder"), manager.broken
    wave = make_wave(project, manager)
    www = project / "www"
    web_root = project / ".wave" / "local" / "web"

    def seen(call: dict[str, Any]) -> tuple[str, str, str, str]:
        return (call["environment"], call["target"], call["adapter"], call["answered_for"])

    wave.deploy("development", release="r1")
    assert [seen(c) for c in recorder.calls] == [("development", "web", "local", "web")]
    assert "running (pid" in recorder.calls[0]["message"]  # the local adapter's own words
    assert not www.exists(), "deploying the local target touched the static docroot"

    wave.deploy("docs", release="s1")
    assert seen(recorder.calls[1]) == ("docs", "site", "static", "site")
    assert recorder.calls[1]["message"].startswith("published s1")
    assert (www / "current" / "index.html").read_text() == "<h1>docs</h1>\n"
    assert sorted(p.name for p in (web_root / "releases").iterdir()) == ["r1"]

    # Both adapters registered at the same time: each call must still reach only its own
    # (with firstresult dispatch, the last registered adapter would otherwise answer both).
    wave.deploy("both", release="b1")
    both = recorder.calls[2:]
    assert [seen(c) for c in both] == [
        ("both", "web", "local", "web"),
        ("both", "site", "static", "site"),
    ]
    assert "running (pid" in both[0]["message"]
    assert both[1]["message"].startswith("published b1")
    assert Path(os.readlink(web_root / "current")).name == "b1"
    assert Path(os.readlink(www / "current")).name == "b1"
    assert len(recorder.calls) == 4


def test_wave_adapters_lists_both_with_capabilities() -> None:
    proc = wave_cli("adapters", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    by_name = {a["name"]: a for a in data["adapters"]}
    assert by_name["local"]["plugin"] == "wave_sdk.builtin"
    assert by_name["static"]["plugin"] == "static"
    for name, more in (("local", {"logs"}), ("static", set())):
        assert {"rollback", "rollback_to", "status", "health", "releases", *more} == set(
            by_name[name]["capabilities"]
        )
    assert not {b["name"] for b in data["broken"]} & {"local", "static", "wave_sdk.builtin"}

    text = wave_cli("adapters")
    assert text.returncode == 0
    lines = {line.split()[0]: line for line in text.stdout.splitlines()}
    assert "rollback_to" in lines["local"] and "rollback_to" in lines["static"]


# -- broken and disabled plugins -------------------------------------------------------


@pytest.fixture
def broken_site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    write_dist(
        site,
        "brokenplug",
        'raise RuntimeError("brokenplug needs BROKEN_TOKEN")\n',
        entry_point="broken",
    )
    return site


def test_plugin_that_raises_on_import_is_listed_broken(broken_site: Path, project: Path) -> None:
    env = {"PYTHONPATH": str(broken_site)}
    proc = wave_cli("adapters", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = [line for line in proc.stdout.splitlines() if line.startswith("broken ")]
    assert "BROKEN" in line
    assert "RuntimeError: brokenplug needs BROKEN_TOKEN" in line
    assert {line.split()[0] for line in proc.stdout.splitlines()} >= {"local", "static"}

    deploy = wave_cli(
        "deploy", "--env", "development", "--release", "r1", "--config", str(project), env=env
    )
    assert deploy.returncode == 0, deploy.stderr
    assert "deployed r1 to development" in deploy.stdout


def test_plugin_that_exits_on_import_is_listed_broken(tmp_path: Path) -> None:
    # A plugin calling sys.exit() when its dependency is missing must not take `wave` down.
    site = tmp_path / "site-packages"
    write_dist(site, "exitplug", 'raise SystemExit("docker SDK missing")\n', entry_point="exits")
    proc = wave_cli("adapters", "--json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["broken"] == [{"name": "exits", "error": "SystemExit: docker SDK missing"}]
    assert {"local", "static"} <= {a["name"] for a in data["adapters"]}


def test_disabled_plugin_is_hidden(broken_site: Path) -> None:
    proc = wave_cli(
        "adapters",
        "--json",
        env={"PYTHONPATH": str(broken_site), "WAVE_DISABLE_PLUGINS": "broken"},
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["broken"] == []
    assert data["disabled"] == ["broken"]
    text = wave_cli(
        "adapters", env={"PYTHONPATH": str(broken_site), "WAVE_DISABLE_PLUGINS": " broken ,"}
    )
    assert "BROKEN" not in text.stdout
    assert "broken       disabled by WAVE_DISABLE_PLUGINS" in text.stdout


def test_config_naming_a_disabled_adapter_fails_with_install_hint(project: Path) -> None:
    proc = wave_cli(
        "deploy",
        "--env",
        "docs",
        "--release",
        "s1",
        "--config",
        str(project),
        env={"WAVE_DISABLE_PLUGINS": "static"},
    )
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()  # one line, no traceback
    assert "targets.site.adapter" in line
    assert "no adapter named 'static'" in line
    assert re.search(r"installed: [^)]*\blocal\b", line), line
    assert "WAVE_DISABLE_PLUGINS" in line
    assert "pip install" in line
    assert not (project / "www").exists()


# -- rule breakers ---------------------------------------------------------------------


class PlainDeployer:
    """Implements the operation hook ``wave_deploy`` without ``wrapper=True``."""

    def __init__(self) -> None:
        self.deployed: list[str] = []

    @hookimpl
    def wave_deploy(self, target: Any, release: Any) -> Any:
        self.deployed.append(release.id)
        raise AssertionError("a rejected plugin deployed")


def test_plain_operation_hook_is_rejected_and_never_deploys(project: Path) -> None:
    manager = PluginManager(load_entry_points=False)
    rogue = PlainDeployer()
    manager.register(rogue, name="rogue")
    [broken] = manager.broken
    assert broken.name == "rogue"
    assert "wave_deploy without wrapper=True" in broken.error
    assert not manager.pm.has_plugin("rogue")

    report = make_wave(project, manager).deploy("development", release="r1")
    assert report.outcome == "succeeded"
    assert rogue.deployed == []


def test_plain_operation_hook_from_an_entry_point_is_listed_broken(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_dist(
        site,
        "plaindeploy",
        "from wave_sdk import hookimpl\n\n"
        "@hookimpl\n"
        "def wave_rollback(target, to):\n"
        "    raise SystemExit('must never run')\n",
        entry_point="plaindeploy",
    )
    proc = wave_cli("adapters", "--json", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr
    [broken] = json.loads(proc.stdout)["broken"]
    assert broken["name"] == "plaindeploy"
    assert "wave_rollback without wrapper=True" in broken["error"]


class Impostor:
    """Announces an adapter under a name the built-in plugin already uses."""

    @hookimpl
    def wave_adapters(self) -> Iterator[AdapterSpec]:
        yield AdapterSpec(
            name="local",
            adapter="wave_example_static.adapter:StaticAdapter",
            config="wave_example_static.adapter:StaticTarget",
        )


def test_adapter_name_announced_twice_is_an_error_naming_both(project: Path) -> None:
    manager = PluginManager()
    manager.register(Impostor(), name="impostor")
    with pytest.raises(PluginError) as info:
        manager.adapter_spec("local")
    assert "wave_sdk.builtin" in str(info.value) and "impostor" in str(info.value)

    wave = make_wave(project, manager)
    with pytest.raises(PluginError) as info:
        wave.deploy("development", release="r1")
    message = str(info.value)
    assert "targets.web.adapter" in message
    assert "'local'" in message and "wave_sdk.builtin" in message and "impostor" in message
    assert not (project / ".wave" / "local" / "web").exists(), "nothing may be deployed"
    # The conflict is visible where `wave adapters` looks, and other adapters still work.
    assert any(b.name == "impostor" and "'local'" in b.error for b in manager.broken)
    assert wave.deploy("docs", release="s1").outcome == "succeeded"


class Misspelt:
    """Means to wrap ``wave_deploy`` but misspells it; also announces an adapter."""

    @hookimpl(wrapper=True)
    def wave_deplyo(self, target: Any, release: Any) -> Any:
        return (yield)

    @hookimpl
    def wave_adapters(self) -> Iterator[AdapterSpec]:
        yield AdapterSpec(name="typo", adapter="x:Y", config="x:Z")


def test_misspelt_hook_reports_the_plugin_broken() -> None:
    manager = PluginManager(load_entry_points=False)
    manager.register(Misspelt(), name="misspelt")
    [broken] = manager.broken
    assert broken.name == "misspelt"
    assert "wave_deplyo" in broken.error
    assert not manager.pm.has_plugin("misspelt")
    assert "typo" not in manager.adapter_specs
    # The manager stays usable: later plugins register and the built-in still works.
    manager.register(DeployRecorder(manager), name="recorder")
    assert [b.name for b in manager.broken] == ["misspelt"]
    assert "local" in manager.adapter_specs


class NotASpec:
    """Yields something that is not an AdapterSpec."""

    @hookimpl
    def wave_adapters(self) -> Iterator[Any]:
        yield {"name": "dicty"}


def test_malformed_adapter_announcement_breaks_only_that_plugin() -> None:
    manager = PluginManager(load_entry_points=False)
    manager.register(NotASpec(), name="dicty")
    assert set(manager.adapter_specs) == {"local"}
    [broken] = manager.broken
    assert broken.name == "dicty" and "AdapterSpec" in broken.error
    # Asking again does not report the same plugin twice.
    manager.adapter_specs  # noqa: B018
    manager.register(DeployRecorder(manager), name="recorder")
    assert set(manager.adapter_specs) == {"local"}
    assert len(manager.broken) == 1


# -- collecting hooks: health and signals ----------------------------------------------


class DatabaseProbe:
    """A plugin's health contribution; ``fail_rounds`` makes that many rounds fail."""

    def __init__(self) -> None:
        self.healthy = True
        self.rounds = 0
        self.fail_rounds = 0

    @hookimpl
    def wave_health(self, target: Any, url: str | None) -> list[HealthResult]:
        self.rounds += 1
        self.healthy = self.fail_rounds <= 0
        self.fail_rounds -= 1
        return [
            HealthResult(
                source="dbprobe",
                name="replication",
                ok=self.healthy,
                detail="in sync" if self.healthy else "replica lag 90s",
            )
        ]


class SignalLog:
    def __init__(self) -> None:
        self.signals: list[Any] = []

    @hookimpl
    def wave_signal(self, signal: Any) -> None:
        self.signals.append(signal)


class SlackDown:
    @hookimpl
    def wave_signal(self, signal: Any) -> None:
        raise ConnectionError("slack is down")


def test_health_contributions_and_signal_observers(project: Path) -> None:
    manager = PluginManager(load_entry_points=False)
    probe, log = DatabaseProbe(), SignalLog()
    manager.register(SlackDown(), name="slack")  # registered first and last: order is no excuse
    manager.register(probe, name="dbprobe")
    manager.register(log, name="signallog")
    manager.register(SlackDown(), name="slack2")
    assert manager.broken == []
    wave = make_wave(project, manager)

    report = wave.deploy("development", release="r1")
    assert report.outcome == "succeeded"
    assert any(r.source == "dbprobe" and r.ok for r in report.health["web"])
    assert any(r.source == "http" for r in report.health["web"])  # the core's probe too
    warnings = [e.message for e in wave.reporter.events if e.kind == "warn"]  # type: ignore[attr-defined]
    assert any("slack" in w and "slack is down" in w for w in warnings), warnings

    write_app(project / "app", "v2")  # a healthy app: only the plugin will object
    probe.fail_rounds = 2  # the deploy's verification; the rollback's then passes
    rounds_before = probe.rounds
    with pytest.raises(VerificationFailed) as info:
        wave.deploy("development", release="r2")
    message = str(info.value)
    assert "dbprobe" in message and "replica lag 90s" in message
    assert "rolled back" in message
    # retries = 1: two failed rounds, then give up; then the rollback's passing rounds.
    assert probe.rounds - rounds_before == 2 + 2
    current = wave.store.current("development")
    assert current is not None and current.release == "r1"
    assert wave.history("development")[-1].outcome == "rolled_back"

    assert [(s.signal_type, s.release) for s in log.signals] == [
        ("deployment-starting", "r1"),
        ("deployment-complete", "r1"),
        ("deployment-starting", "r2"),
        ("rollback-complete", "r2"),
    ]
    assert log.signals[-1].rolled_back_to_release == "r1"
    # Observers see the signal only once it is on disk: one file per run and signal, and
    # the runbook's fixed name for the latest of each type.
    on_disk = sorted(p.name for p in (project / "signals").glob("signal-*.json"))
    assert len(on_disk) == 4 + 3


# -- lazy imports ----------------------------------------------------------------------


def _modules_after(code: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nprint('MODULES', json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("MODULES ")
    return set(json.loads(last.removeprefix("MODULES ")))


def test_top_level_names_load_on_first_use() -> None:
    modules = _modules_after(
        "import json, sys\n"
        "import wave_sdk\n"
        "assert 'wave_sdk.wave' not in sys.modules and 'pydantic' not in sys.modules\n"
        "from wave_sdk.wave import Wave\n"
        "assert wave_sdk.Wave is Wave\n"
        "try:\n"
        "    wave_sdk.NoSuchThing\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('missing names must raise AttributeError')\n"
    )
    assert "wave_sdk.wave" in modules


def test_cli_parser_imports_no_dependency() -> None:
    modules = _modules_after(
        "import json, sys\n"
        "import wave_sdk.cli.parser\n"
        "wave_sdk.cli.parser.build_parser().parse_args(['deploy', '--env', 'x'])\n"
    )
    heavy = {m for m in modules if m.split(".")[0] in {"pydantic", "pluggy", "httpx"}}
    assert heavy == set()


def test_wave_adapters_imports_no_platform_library() -> None:
    modules = _modules_after(
        "import json, sys\nfrom wave_sdk.cli import main\nassert main(['adapters']) == 0\n"
    )
    roots = {m.split(".")[0] for m in modules}
    assert roots.isdisjoint(
        {
            "docker",
            "kubernetes",
            "boto3",
            "botocore",
            "s3transfer",
            "paramiko",
            "asyncssh",
            "slack_sdk",
        }
    )
    assert "wave_example_static.plugin" in modules  # the entry point was loaded ...
    assert "wave_sdk_s3.plugin" in modules and "wave_sdk_s3.store" not in modules
    assert "wave_sdk_slack.plugin" in modules  # (a contrib plugin's too) ...
    # ... but no adapter implementation, config machinery or HTTP client was.
    for module in ("wave_example_static.adapter", "wave_sdk.builtin.local", "httpx"):
        assert module not in modules, module
    assert "wave_sdk_slack.config" not in modules


def test_importing_the_sdk_builds_no_model_schema() -> None:
    """Every model defers its schema to first use: a command pays for the models it uses.

    Building a pydantic schema is most of what importing a model costs, and a deploy uses
    a fraction of the SDK's models (issue 15: start-up).
    """
    modules = _modules_after(
        "import json, sys, importlib, pkgutil\n"
        "import pydantic, wave_sdk\n"
        "import wave_sdk_docker.config, wave_sdk_ssh.config\n"
        "for info in pkgutil.walk_packages(wave_sdk.__path__, 'wave_sdk.'):\n"
        "    if not info.name.startswith(('wave_sdk.testing', 'wave_sdk.cli.template')):\n"
        "        importlib.import_module(info.name)\n"
        "def walk(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from walk(sub)\n"
        "ours = {c for c in walk(pydantic.BaseModel) if c.__module__.startswith('wave_sdk')}\n"
        "assert len(ours) > 40, len(ours)\n"
        "eager = sorted(c.__qualname__ for c in ours if not c.model_config.get('defer_build'))\n"
        "assert not eager, eager\n"
        "built = sorted(c.__qualname__ for c in ours if c.__pydantic_complete__)\n"
        "assert not built, built\n"
        "from wave_sdk.models import Release\n"
        "assert Release(id='r1').id == 'r1' and Release.__pydantic_complete__\n"
    )
    assert "wave_sdk.models" in modules


def test_the_cli_does_not_import_httpx_command_line() -> None:
    """httpx imports click and pygments for its own CLI when installed; ``wave`` never runs it."""
    modules = _modules_after(
        "import json, sys, contextlib, io\n"
        "from wave_sdk.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['adapters']) == 0\n"
        "import httpx\n"
        "assert httpx.Client\n"
    )
    assert "httpx" in modules
    assert not {m for m in modules if m.split(".")[0] in {"click", "pygments", "rich"}}
