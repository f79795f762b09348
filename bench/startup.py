"""Start-up wall time of the ``wave`` CLI, against ``python -c pass`` and ``kubectl``.

Every command runs as a fresh process, started directly with ``os.posix_spawn`` (no shell,
no pyenv shim) with stdout and stderr sent to /dev/null, and reaped with ``os.wait4`` so
the child's own CPU time is recorded next to the wall time. Runs are interleaved: each
round runs every command once, in a freshly shuffled order, so drift on a shared machine
(other builds, CPU frequency, page cache) spreads over all commands instead of biasing one.
The first ``--warmup`` rounds are discarded.

Reported per command: median and p90 wall time, median CPU time, and the ratio of the
median to the medians of ``kubectl version --client`` and ``python -c pass``. Ratios taken
in one run are far steadier than absolute milliseconds on a noisy machine: quote those.

Goals (reported, never asserted — this script always exits 0):

* ``wave --help`` no slower than ``kubectl version --client`` (ratio <= 1.0);
* ``wave adapters`` within 2x of ``kubectl version --client`` (ratio <= 2.0).

Usage::

    .venv/bin/python bench/startup.py [--rounds 30] [--warmup 3] [--seed N]
                                      [--bytecode cached|as-is] [--out PATH]

By default the children run with compiled bytecode cached in a private directory (see
:func:`child_env`), as users of an installed wheel do. Standard library only. Results go to
``bench/results/startup.json``; a run that cannot measure something (kubectl missing, a
command failing or hanging) says so in the table and the JSON, and still exits 0.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
WAVE = VENV_BIN / "wave"
KUBECTL_DEFAULT = Path("/usr/bin/kubectl")
DEFAULT_OUT = ROOT / "bench" / "results" / "startup.json"
TIMEOUT_S = 30
"""A run taking longer is killed and counted as a failure (a bench must not hang)."""

PYTHON_LABEL = "python -c pass"
KUBECTL_LABEL = "kubectl version --client"

GOALS = (
    # (command label, max ratio to kubectl, wording)
    ("wave --help", 1.0, "`wave --help` no slower than `kubectl version --client`"),
    ("wave adapters", 2.0, "`wave adapters` within 2x of `kubectl version --client`"),
)


@dataclass
class Command:
    label: str
    argv: list[str]
    available: bool = True
    note: str = ""
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    failures: int = 0


def _find_kubectl() -> Path | None:
    if KUBECTL_DEFAULT.is_file() and os.access(KUBECTL_DEFAULT, os.X_OK):
        return KUBECTL_DEFAULT
    found = shutil.which("kubectl")
    return Path(found) if found else None


def build_commands() -> list[Command]:
    commands = [
        Command(PYTHON_LABEL, [str(PYTHON), "-c", "pass"]),
        Command("wave --help", [str(WAVE), "--help"]),
        Command("wave adapters", [str(WAVE), "adapters"]),
        Command("wave --version", [str(WAVE), "--version"]),
    ]
    kubectl = _find_kubectl()
    if kubectl is None:
        commands.append(
            Command(KUBECTL_LABEL, ["kubectl", "version", "--client"], False, "kubectl not found")
        )
    else:
        commands.append(Command(KUBECTL_LABEL, [str(kubectl), "version", "--client"]))
    for command in commands:
        exe = Path(command.argv[0])
        if command.available and not (exe.is_file() and os.access(exe, os.X_OK)):
            command.available, command.note = False, f"{exe} not found"
    return commands


def spawn_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run ``argv`` once in the current directory; return (wall ms, child CPU ms, exit code).

    Raises OSError when the executable cannot be started.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TIMEOUT_S)
    try:
        _, status, usage = os.wait4(pid, 0)
    except _Timeout:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return float("nan"), float("nan"), -1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    wall = (time.perf_counter_ns() - start) / 1e6
    cpu = (usage.ru_utime + usage.ru_stime) * 1000.0
    return wall, cpu, os.waitstatus_to_exitcode(status)


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Timeout


def check_commands(commands: list[Command], env: dict[str, str]) -> None:
    """Run each command once; a command that cannot start or exits non-zero is dropped."""
    for command in commands:
        if not command.available:
            continue
        try:
            _, _, code = spawn_once(command.argv, env)
        except OSError as exc:
            command.available, command.note = False, f"cannot start: {exc}"
            continue
        if code != 0:
            command.available = False
            command.note = f"timed out after {TIMEOUT_S}s" if code == -1 else f"exits {code}"


def run_rounds(
    commands: list[Command], rounds: int, warmup: int, rng: random.Random, env: dict[str, str]
) -> None:
    live = [c for c in commands if c.available]
    for round_no in range(warmup + rounds):
        order = live[:]
        rng.shuffle(order)
        for command in order:
            try:
                wall, cpu, code = spawn_once(command.argv, env)
            except OSError:
                command.failures += 1
                continue
            if code != 0:
                command.failures += 1
                continue
            if round_no >= warmup:
                command.wall_ms.append(wall)
                command.cpu_ms.append(cpu)
        done = round_no + 1
        if done == warmup or (done > warmup and (done - warmup) % 10 == 0):
            print(
                f"  round {done - warmup}/{rounds}" if done > warmup else "  warm-up done",
                file=sys.stderr,
                flush=True,
            )


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(value / base, 3)


def summarize(commands: list[Command]) -> list[dict[str, Any]]:
    medians = {c.label: statistics.median(c.wall_ms) for c in commands if c.wall_ms}
    kubectl = medians.get(KUBECTL_LABEL)
    python = medians.get(PYTHON_LABEL)
    rows = []
    for c in commands:
        median = medians.get(c.label)
        rows.append(
            {
                "command": c.label,
                "argv": c.argv,
                "available": c.available and bool(c.wall_ms),
                "note": c.note or (None if c.wall_ms else "no successful run"),
                "runs": len(c.wall_ms),
                "failures": c.failures,
                "median_ms": round(median, 2) if median is not None else None,
                "p90_ms": round(p90(c.wall_ms), 2) if c.wall_ms else None,
                "min_ms": round(min(c.wall_ms), 2) if c.wall_ms else None,
                "cpu_median_ms": round(statistics.median(c.cpu_ms), 2) if c.cpu_ms else None,
                "ratio_to_kubectl": _ratio(median, kubectl),
                "ratio_to_python": _ratio(median, python),
                "samples_ms": [round(v, 2) for v in c.wall_ms],
            }
        )
    return rows


def evaluate_goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_label = {r["command"]: r for r in rows}
    goals = []
    for label, limit, wording in GOALS:
        ratio = by_label.get(label, {}).get("ratio_to_kubectl")
        result = "UNKNOWN" if ratio is None else ("PASS" if ratio <= limit else "MISS")
        goals.append(
            {
                "goal": wording,
                "command": label,
                "max_ratio_to_kubectl": limit,
                "ratio_to_kubectl": ratio,
                "result": result,
            }
        )
    return goals


def _fmt(value: float | None, spec: str) -> str:
    return "null" if value is None else format(value, spec)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'command':<26} {'median ms':>10} {'p90 ms':>8} {'x kubectl':>10} "
        f"{'x python':>9} {'cpu ms':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if not r["available"]:
            dashes = f"{'-':>10} {'-':>8} {'null':>10} {'null':>9} {'-':>7}"
            print(f"{r['command']:<26} {dashes}  ({r['note']})")
            continue
        print(
            f"{r['command']:<26} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f} "
            f"{_fmt(r['ratio_to_kubectl'], '.2f'):>10} {_fmt(r['ratio_to_python'], '.2f'):>9} "
            f"{r['cpu_median_ms']:>7.1f}"
        )


def _capture(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def child_env(bytecode: str, cache_dir: str) -> dict[str, str]:
    """The children's environment.

    ``cached`` (default): what a user of an installed wheel gets — compiled bytecode is
    used. This sandbox exports PYTHONDONTWRITEBYTECODE=1 and wave_sdk is an editable
    install without ``__pycache__``, so as-is every wave_sdk module would be compiled
    from source on every run. The children therefore write and read bytecode under a
    private PYTHONPYCACHEPREFIX (nothing is written into the source tree); the check run
    and the warm-up rounds fill it. ``as-is``: the inherited environment, unchanged.
    """
    env = dict(os.environ)
    if bytecode == "cached":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def wave_plugins(env: dict[str, str]) -> dict[str, Any]:
    """The plugins ``wave adapters --json`` reports (entry points and the built-in one)."""
    raw = _capture([str(WAVE), "adapters", "--json"], env)
    if raw is None:
        return {"error": "`wave adapters --json` failed"}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return {"error": f"`wave adapters --json` printed invalid JSON: {exc}"}
    adapters = data.get("adapters", [])
    plugins = sorted({a.get("plugin", "?") for a in adapters})
    return {
        "entry_point_plugins": [p for p in plugins if not p.startswith("wave_sdk.")],
        "builtin_plugins": [p for p in plugins if p.startswith("wave_sdk.")],
        "adapters": [{"name": a.get("name"), "plugin": a.get("plugin")} for a in adapters],
        "broken": data.get("broken", []),
        "disabled": data.get("disabled", []),
    }


# Modules whose presence after a command says where its start-up time goes.
WATCHED_MODULES = (
    "typing",
    "re",
    "json",
    "pathlib",
    "threading",
    "inspect",
    "importlib.metadata",
    "email",
    "pluggy",
    "pydantic",
    "pydantic_core",
    "httpx",
    "uuid",
    "wave_sdk.models",
    "wave_sdk.config",
)

_MODULES_PROBE = """\
import os, sys
saved = os.dup(1)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
from wave_sdk.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
sys.stdout.flush()
os.dup2(saved, 1)
os.write(1, repr(sorted(sys.modules)).encode())
"""
"""Imports nothing before ``main`` (os and sys are loaded by every interpreter start)."""


def imported_modules(env: dict[str, str]) -> dict[str, Any]:
    """For each wave command: how many modules it leaves in sys.modules, and which heavy ones."""
    report: dict[str, Any] = {}
    for label, argv in (("wave --help", ["--help"]), ("wave adapters", ["adapters"])):
        raw = _capture([str(PYTHON), "-c", _MODULES_PROBE.format(argv=argv)], env)
        try:
            modules = set(ast.literal_eval(raw)) if raw else None
        except (ValueError, SyntaxError):
            modules = None
        if modules is None:
            report[label] = {"error": "probe failed"}
            continue
        report[label] = {
            "module_count": len(modules),
            "watched_imported": [m for m in WATCHED_MODULES if m in modules],
            "wave_modules": sorted(m for m in modules if m.startswith("wave")),
        }
    return report


def machine_info(kubectl: Command | None) -> dict[str, Any]:
    git = ["git", "-C", str(ROOT)]
    status = _capture([*git, "status", "--porcelain", "--untracked-files=no"])
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python_version": _capture([str(PYTHON), "-c", "import sys; print(sys.version)"]),
        "python_executable": str(PYTHON),
        "bench_python_version": sys.version,
        "kubectl_version": (
            _capture(kubectl.argv) if kubectl is not None and kubectl.available else None
        ),
        "git_commit": _capture([*git, "rev-parse", "HEAD"]),
        "git_dirty": None if status is None else bool(status),
        "inherited_PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded rounds (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="shuffle seed (default random)")
    parser.add_argument(
        "--bytecode",
        choices=["cached", "as-is"],
        default="cached",
        help="cached: children use compiled bytecode, as an installed wheel does (default); "
        "as-is: inherit the environment (here PYTHONDONTWRITEBYTECODE=1 recompiles wave_sdk "
        "on every run)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    args = parser.parse_args(argv)
    rounds, warmup = max(1, args.rounds), max(0, args.warmup)
    seed = args.seed if args.seed is not None else random.randrange(2**32)

    commands = build_commands()
    kubectl = next(c for c in commands if c.label == KUBECTL_LABEL)
    out = args.out.resolve()
    info = machine_info(kubectl)
    # A neutral working directory for every child: no wave.toml, no project files on
    # sys.path. posix_spawn has no cwd argument, so the children inherit ours.
    old_cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="wave-bench-") as cwd:
        env = child_env(args.bytecode, os.path.join(cwd, "pycache"))
        os.chdir(cwd)
        try:
            plugins = wave_plugins(env)
            modules = imported_modules(env)
            check_commands(commands, env)
            print(
                f"startup bench: {rounds} rounds (+{warmup} warm-up), interleaved, "
                f"shuffle seed {seed}, bytecode {args.bytecode}, {info['cpu_count']} CPUs, "
                f"load {info['load_average_at_start']}",
                file=sys.stderr,
            )
            started = time.perf_counter()
            run_rounds(commands, rounds, warmup, random.Random(seed), env)
            elapsed = time.perf_counter() - started
        finally:
            os.chdir(old_cwd)
    info["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]

    rows = summarize(commands)
    goals = evaluate_goals(rows)

    print()
    print_table(rows)
    print()
    print("goals (ratios of medians, measured in the same interleaved run):")
    for g in goals:
        ratio = _fmt(g["ratio_to_kubectl"], ".2f")
        why = " (kubectl missing)" if g["result"] == "UNKNOWN" else ""
        print(
            f"  {g['result']:<7} {g['goal']}: {ratio} x kubectl "
            f"(goal <= {g['max_ratio_to_kubectl']:g}){why}"
        )
    print()
    if "error" in plugins:
        print(f"wave plugins: {plugins['error']}")
    else:
        eps = plugins["entry_point_plugins"]
        print(f"wave_sdk entry-point plugins: {', '.join(eps) if eps else 'none'}")
    for label, probe in modules.items():
        if "error" in probe:
            print(f"{label}: module probe failed")
            continue
        print(
            f"{label}: {probe['module_count']} modules; imports "
            f"{', '.join(probe['watched_imported']) or 'none of the watched ones'}"
        )

    result = {
        "benchmark": "startup",
        "settings": {
            "rounds": rounds,
            "warmup": warmup,
            "seed": seed,
            "interleaved": True,
            "bytecode": args.bytecode,
            "spawn": "os.posix_spawn, stdio to /dev/null, neutral temp cwd",
            "elapsed_s": round(elapsed, 1),
        },
        "machine": info,
        "wave_plugins": plugins,
        "imported_modules": modules,
        "commands": rows,
        "goals": goals,
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {out}")
    except OSError as exc:
        print(f"could not write {out}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
