"""Wall time of a ``wave`` deploy+verify on Docker against the raw ``docker`` CLI sequence.

Both sides replace a running container with one of the same two images, alternately
(``a`` → ``b`` → ``a`` …), on a real engine, with host networking on loopback ports:

* **raw** — one bash process: ``docker stop OLD``; ``docker run -d --network host --init
  NEW``; wait until healthy; ``docker rm OLD``. "Healthy" is what the scenario's image
  offers: Docker's health status (``docker inspect`` every 20 ms) when the image has a
  HEALTHCHECK, else the first ``curl`` of ``/api/health/`` that answers 200.
* **wave** — ``wave deploy --env <scenario> --release <a|b>`` as a fresh process: plan,
  checks, lock, state, signals and history, the adapter's recreate (create, stop, swap
  names, start, wait for health or the port, retention), then verification: one round of
  the three HTTP health endpoints plus the adapter's container check (``consecutive = 1``).
* **wave (API)** — the same deploy through ``Wave(...).deploy()`` in this process: the
  SDK's cost without an interpreter start-up and imports.

Scenarios: ``healthcheck`` (HEALTHCHECK every 250 ms) and ``port`` (no HEALTHCHECK). Every
round runs each command once in a freshly shuffled order, so drift on a shared machine
spreads over all of them; the first ``--warmup`` rounds are dropped. Reported: medians,
p90, and per scenario the overhead of wave over raw, as a ratio and in ms. Ratios taken in
one run are far steadier than absolute times on a noisy machine: quote those.

Goals (reported, never asserted — this script exits 0 whenever it could measure): the SDK's
overhead (``Wave.deploy()``) under 10 % of the raw sequence, and ``wave deploy`` as a
command, interpreter start-up and imports included, within 1.5x of it. Beside the command's
goal, the floor any Python command on the same libraries would meet, measured in the same
rounds: the API's deploy plus a fresh interpreter that imports only pydantic, httpx,
docker-py, pluggy, tenacity and tomllib (``imports of its libraries only``) — when that
floor is above 1.5x, no start-up work in wave's own code can meet the goal.

Usage::

    .venv/bin/python bench/docker_deploy.py [--rounds 15] [--warmup 2] [--seed N]
                                            [--docker-host unix:///…] [--out PATH]

The engine is the first that answers among ``--docker-host``, ``$DOCKER_HOST``, the system
socket and the test engine's socket; if none does and this runs as root, the tests' engine
is started under /var/lib/wave-test-docker and stopped at the end (see
adapters/docker/tests/docker_testkit.py, reused here). Images are built ``FROM scratch``
with the static busybox; everything the bench makes carries the label ``wave-bench`` and
is removed at the end. Results go to ``bench/results/docker_deploy.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "adapters" / "docker" / "tests"))

import docker_testkit as kit  # noqa: E402 - the tests' engine, registry and image helpers
from importtime import DEPLOY_IMPORTS, LIBRARY_IMPORTS  # noqa: E402 - bench/, this directory

VENV_BIN = ROOT / ".venv" / "bin"
WAVE = VENV_BIN / "wave"
DEFAULT_OUT = ROOT / "bench" / "results" / "docker_deploy.json"
LABEL = "wave-bench"
GOAL = 0.10
"""The SDK's goal: ``Wave.deploy()`` adds under 10 % to the raw sequence."""
CLI_GOAL = 1.5
"""The command's goal (issue 15): ``wave deploy``, start-up included, within 1.5x of raw."""
TIMEOUT_S = 120

SCENARIOS = {
    "healthcheck": "image with a HEALTHCHECK (every 250 ms): wait for Docker's `healthy`",
    "port": "image without a HEALTHCHECK: wait for the first 200 from /api/health/",
}

IMPORTS = "import sys; sys.modules['httpx._main'] = None; " + DEPLOY_IMPORTS["docker"]
"""What a `wave deploy` to a docker target imports, give or take: its fixed start-up cost."""
LIBRARIES = "import sys\nsys.modules['httpx._main'] = None\n" + LIBRARY_IMPORTS["docker"]
"""Only the third-party libraries among those: what any Python command built on them pays
before its first request, however little code of its own it has."""

RAW_SCRIPT = r"""
set -euo pipefail
docker stop -t 10 "$OLD" >/dev/null
docker run -d --name "$NEW" --network host --init -e PORT="$PORT" \
  --label "$LABEL=raw" "$IMAGE" >/dev/null
if [ "$WAIT" = health ]; then
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$NEW")" = healthy ]; do
    sleep 0.02
  done
else
  until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/api/health/"; do sleep 0.02; done
fi
docker rm "$OLD" >/dev/null
"""


@dataclass
class Series:
    label: str
    scenario: str
    kind: str  # raw | wave | api
    wall_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_engine(explicit: str | None) -> str | None:
    candidates = [explicit, os.environ.get("DOCKER_HOST"), "unix:///var/run/docker.sock"]
    candidates.append(f"unix://{kit.STATE_ROOT / 'docker.sock'}")
    for host in candidates:
        if host and kit.engine_answers(host):
            return host
    return None


def build_images(api: Any, busybox: str, workdir: Path, tag: str) -> dict[str, str]:
    """Two releases per scenario; returns {scenario: repository}."""
    repositories = {}
    for scenario in SCENARIOS:
        repository = f"wave-bench/{scenario}-{tag}"
        for release in ("a", "b"):
            context = kit.write_context(
                workdir / "contexts" / scenario / release,
                release,
                busybox=busybox,
                healthcheck=scenario == "healthcheck",
            )
            for chunk in api.build(
                path=str(context),
                tag=f"{repository}:{release}",
                labels={LABEL: "image"},
                rm=True,
                forcerm=True,
                decode=True,
            ):
                if "error" in chunk:
                    raise RuntimeError(f"building {repository}:{release}: {chunk['error']}")
        repositories[scenario] = repository
    return repositories


def write_project(
    root: Path, host: str, repositories: dict[str, str], ports: dict[str, int]
) -> None:
    """One environment and target per (scenario, side): ``healthcheck`` for the CLI,
    ``healthcheck-api`` for the in-process API, each with its container and port."""
    endpoints = ", ".join(f'{{ path = "{p}" }}' for p in kit.HEALTH_PATHS)
    names = [f"{s}{side}" for s in repositories for side in ("", "-api")]
    approvals = "".join(f'{name} = "L5"\n' for name in names)
    parts = [
        '[project]\nname = "bench"\n',
        f"[health]\nendpoints = [{endpoints}]\ninterval = 0.02\nconsecutive = 1\n"
        "retries = 50\ndeadline = 30\ntimeout = 2\n",
        f"[approvals.deploy]\n{approvals}\n[approvals.rollback]\n{approvals}",
    ]
    for scenario, repository in repositories.items():
        for side in ("", "-api"):
            name = f"{scenario}{side}"
            parts.append(
                f'[environments.{name}]\ntarget = "{name}"\n\n'
                f"[targets.{name}]\n"
                'adapter = "docker"\n'
                f'image = "{repository}"\n'
                f'name = "wave-bench-{name}"\n'
                f'docker_host = "{host}"\n'
                'network = "host"\n'
                f"port = {ports[name]}\n"
                "init = true\n"
                "keep = 2\n"
                f'labels = {{ "{LABEL}" = "wave" }}\n'
            )
    (root / "wave.toml").write_text("\n".join(parts))


def child_env(host: str, cache: str) -> dict[str, str]:
    """The children's environment: compiled bytecode cached, as an installed wheel has it."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"PYTHONPYCACHEPREFIX": cache, "DOCKER_HOST": host, "CI": "1", "LABEL": LABEL})
    return env


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return float("nan"), f"timed out after {TIMEOUT_S}s"
    wall = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        return wall, f"exit {done.returncode}: {tail}"
    return wall, None


class Bench:
    """The three ways to deploy, each to its own container and port.

    Every deploy is of a new release: one of the two images (alternately) tagged
    ``r<N>`` just before, untimed — so neither side can reuse a container it already has
    for that release (wave would: a redeploy of a kept release is its rollback path).
    """

    def __init__(self, api: Any, host: str, project: Path, repositories: dict[str, str]) -> None:
        self.api = api
        self.host = host
        self.project = project
        self.repositories = repositories
        # Bytecode outside the project: it is not the user's code, and would be in its digest.
        self.env = child_env(host, str(project.parent / "pycache"))
        self.raw_live: dict[str, str] = {}
        self.flip: dict[str, bool] = {}
        self.counter = 0

    def new_release(self, key: str, scenario: str) -> str:
        self.counter += 1
        self.flip[key] = not self.flip.get(key, False)
        repository = self.repositories[scenario]
        release = f"r{self.counter}"
        self.api.tag(f"{repository}:{'a' if self.flip[key] else 'b'}", repository, release)
        return release

    def run_raw(self, scenario: str, port: int) -> tuple[float, str | None]:
        release = self.new_release(f"raw-{scenario}", scenario)
        new = f"wave-bench-raw-{scenario}-{release}"
        env = {
            **self.env,
            "OLD": self.raw_live[scenario],
            "NEW": new,
            "PORT": str(port),
            "IMAGE": f"{self.repositories[scenario]}:{release}",
            "WAIT": "health" if scenario == "healthcheck" else "http",
        }
        wall, failure = timed(["bash", "-c", RAW_SCRIPT], env, self.project)
        if failure is None:
            self.raw_live[scenario] = new
        return wall, failure

    def run_wave(self, scenario: str) -> tuple[float, str | None]:
        release = self.new_release(f"wave-{scenario}", scenario)
        argv = [str(WAVE), "deploy", "--env", scenario, "--release", release]
        return timed(argv, self.env, self.project)

    def run_api(self, scenario: str) -> tuple[float, str | None]:
        from wave_sdk.reporting import NullReporter
        from wave_sdk.wave import Wave

        release = self.new_release(f"api-{scenario}", scenario)
        started = time.perf_counter()
        try:
            Wave(self.project, reporter=NullReporter(), deployer="bench").deploy(
                f"{scenario}-api", release=release
            )
        except Exception as exc:  # a failed run is reported, never raised
            return (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"
        return (time.perf_counter() - started) * 1000, None

    def run_imports(self, scenario: str) -> tuple[float, str | None]:
        """The floor under any `wave deploy`: an interpreter that imports what it uses."""
        argv = [str(VENV_BIN / "python"), "-c", IMPORTS]
        return timed(argv, self.env, self.project)

    def run_libraries(self, scenario: str) -> tuple[float, str | None]:
        """The floor under any Python command on this stack: an interpreter importing only
        pydantic, httpx, docker-py, pluggy, tenacity and tomllib."""
        argv = [str(VENV_BIN / "python"), "-c", LIBRARIES]
        return timed(argv, self.env, self.project)


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def summarize(series: list[Series]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = []
    medians: dict[tuple[str, str], float] = {}
    for s in series:
        median = statistics.median(s.wall_ms) if s.wall_ms else None
        if median is not None:
            medians[(s.scenario, s.kind)] = median
        rows.append(
            {
                "command": s.label,
                "scenario": s.scenario,
                "kind": s.kind,
                "runs": len(s.wall_ms),
                "failures": len(s.failures),
                "failure_examples": s.failures[:3],
                "median_ms": round(median, 1) if median is not None else None,
                "p90_ms": round(p90(s.wall_ms), 1) if s.wall_ms else None,
                "min_ms": round(min(s.wall_ms), 1) if s.wall_ms else None,
                "samples_ms": [round(v, 1) for v in s.wall_ms],
            }
        )
    goals = []
    floor = medians.get(("-", "imports"))
    libraries = medians.get(("-", "libraries"))
    for scenario in SCENARIOS:
        raw = medians.get((scenario, "raw"))
        for kind in ("wave", "api"):
            value = medians.get((scenario, kind))
            if raw is None or value is None:
                goals.append({"scenario": scenario, "kind": kind, "result": "UNKNOWN"})
                continue
            overhead = (value - raw) / raw
            met = value / raw <= CLI_GOAL if kind == "wave" else overhead <= GOAL
            beyond = value - raw - floor if kind == "wave" and floor is not None else None
            # Any Python command on these libraries: start, import them, deploy as the API does.
            api = medians.get((scenario, "api"))
            stack = api + libraries if kind == "wave" and api and libraries else None
            goals.append(
                {
                    "scenario": scenario,
                    "kind": kind,
                    "raw_median_ms": round(raw, 1),
                    "median_ms": round(value, 1),
                    "ratio_to_raw": round(value / raw, 3),
                    "overhead_ms": round(value - raw, 1),
                    "overhead_share": round(overhead, 3),
                    "goal": (
                        f"ratio_to_raw <= {CLI_GOAL}"
                        if kind == "wave"
                        else f"overhead_share <= {GOAL}"
                    ),
                    "import_floor_ms": round(floor, 1) if kind == "wave" and floor else None,
                    "overhead_beyond_imports_ms": None if beyond is None else round(beyond, 1),
                    "stack_floor_ms": None if stack is None else round(stack, 1),
                    "stack_floor_ratio_to_raw": None if stack is None else round(stack / raw, 3),
                    "reachable_on_this_stack": None if stack is None else stack / raw <= CLI_GOAL,
                    "result": "PASS" if met else "MISS",
                }
            )
    return rows, goals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="discarded rounds (default 2)")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (default random)")
    parser.add_argument("--docker-host", default=None, help="engine address (default: find one)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    args = parser.parse_args(argv)
    rounds, warmup = max(1, args.rounds), max(0, args.warmup)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)

    busybox = kit.static_busybox()
    if busybox is None or shutil.which("curl") is None or shutil.which("docker") is None:
        print("docker bench: needs a static busybox, curl and the docker CLI", file=sys.stderr)
        return 0
    from docker import APIClient

    with ExitStack() as stack:
        host = find_engine(args.docker_host)
        if host is None:
            if os.geteuid() != 0:
                print("docker bench: no engine answers, and starting one needs root")
                return 0
            daemon = kit.Daemon(kit.STATE_ROOT)
            daemon.start()
            stack.callback(daemon.stop)
            host = daemon.host
        api = APIClient(base_url=host, version="auto", timeout=60)
        stack.callback(api.close)
        stack.callback(kit.purge, api, LABEL)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wave-bench-")))
        tag = uuid.uuid4().hex[:6]
        print(f"docker bench: engine {host}; building images", file=sys.stderr)
        repositories = build_images(api, busybox, workdir, tag)
        project = workdir / "project"
        project.mkdir()
        ports = {f"{s}{side}": free_port() for s in repositories for side in ("", "-api")}
        raw_ports = {s: free_port() for s in repositories}
        write_project(project, host, repositories, ports)
        # A project is a git checkout, as the runbook has it: the release is its commit.
        for git in (["init", "-q"], ["add", "wave.toml"], ["commit", "-qm", "bench"]):
            subprocess.run(
                ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *git],
                cwd=project,
                check=True,
            )

        bench = Bench(api, host, project, repositories)
        # Something live to replace on every side before the first measured run.
        for scenario in repositories:
            first = f"wave-bench-raw-{scenario}-0"
            subprocess.run(
                [
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    first,
                    "--network",
                    "host",
                    "--init",
                    "-e",
                    f"PORT={raw_ports[scenario]}",
                    "--label",
                    f"{LABEL}=raw",
                    f"{repositories[scenario]}:b",
                ],
                env=bench.env,
                check=True,
                capture_output=True,
            )
            bench.raw_live[scenario] = first
            for run in (bench.run_wave, bench.run_api):
                wall, failure = run(scenario)
                if failure:
                    print(f"docker bench: set-up deploy failed: {failure}", file=sys.stderr)
                    return 0

        series = []
        for scenario in repositories:
            series += [
                Series(f"raw docker CLI ({scenario})", scenario, "raw"),
                Series(f"wave deploy ({scenario})", scenario, "wave"),
                Series(f"Wave.deploy() API ({scenario})", scenario, "api"),
            ]
        series.append(Series("imports of wave deploy only", "-", "imports"))
        series.append(Series("imports of its libraries only", "-", "libraries"))
        runners = {
            "raw": lambda s: bench.run_raw(s, raw_ports[s]),
            "wave": bench.run_wave,
            "api": bench.run_api,
            "imports": bench.run_imports,
            "libraries": bench.run_libraries,
        }
        load_start = [round(v, 2) for v in os.getloadavg()]
        print(
            f"docker bench: {rounds} rounds (+{warmup} warm-up), interleaved, seed {seed}",
            file=sys.stderr,
        )
        started = time.perf_counter()
        for round_no in range(warmup + rounds):
            order = series[:]
            rng.shuffle(order)
            for s in order:
                wall, failure = runners[s.kind](s.scenario)
                if failure:
                    s.failures.append(failure)
                elif round_no >= warmup:
                    s.wall_ms.append(wall)
            if round_no + 1 > warmup and (round_no + 1 - warmup) % 5 == 0:
                print(f"  round {round_no + 1 - warmup}/{rounds}", file=sys.stderr)
        elapsed = time.perf_counter() - started

    rows, goals = summarize(series)
    print()
    header = f"{'command':<36} {'median ms':>10} {'p90 ms':>8} {'runs':>5} {'fail':>5}"
    print(header)
    print("-" * len(header))
    for r in rows:
        median = "-" if r["median_ms"] is None else f"{r['median_ms']:.0f}"
        p90_ = "-" if r["p90_ms"] is None else f"{r['p90_ms']:.0f}"
        print(f"{r['command']:<36} {median:>10} {p90_:>8} {r['runs']:>5} {r['failures']:>5}")
    print()
    print(
        f"goals: the API's overhead under {GOAL:.0%} of the raw sequence, the command within"
        f" {CLI_GOAL}x of it (ratios of medians):"
    )
    for g in goals:
        if g["result"] == "UNKNOWN":
            print(f"  UNKNOWN {g['scenario']} {g['kind']}")
            continue
        side = "wave CLI" if g["kind"] == "wave" else "API"
        print(
            f"  {g['result']:<7} {g['scenario']:<12} {side:<9}"
            f" {g['ratio_to_raw']:.2f} x raw, {g['overhead_ms']:+.0f} ms "
            f"({g['overhead_share']:+.0%})"
            + (
                f"; of which imports {g['import_floor_ms']:.0f} ms, the rest "
                f"{g['overhead_beyond_imports_ms']:+.0f} ms"
                if g.get("import_floor_ms")
                else ""
            )
        )
        if g.get("stack_floor_ms"):
            print(
                f"{'':<31} floor on this stack: {g['stack_floor_ratio_to_raw']:.2f} x raw (the"
                f" API's deploy + a process importing only the libraries,"
                f" {g['stack_floor_ms']:.0f} ms)"
                + ("" if g["reachable_on_this_stack"] else f": {CLI_GOAL}x is out of reach")
            )
    for r in rows:
        for example in r["failure_examples"]:
            print(f"  failure in {r['command']}: {example}")

    result = {
        "benchmark": "docker_deploy",
        "settings": {
            "rounds": rounds,
            "warmup": warmup,
            "seed": seed,
            "interleaved": True,
            "scenarios": SCENARIOS,
            "raw_script": RAW_SCRIPT.strip(),
            "wave_health": "3 HTTP endpoints + the container check, consecutive = 1",
            "elapsed_s": round(elapsed, 1),
        },
        "machine": {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpu_count": os.cpu_count(),
            "load_average_at_start": load_start,
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
            "platform": platform.platform(),
            "python_version": sys.version,
            "engine": host,
            "docker_cli": shutil.which("docker"),
        },
        "commands": rows,
        "goals": goals,
    }
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
