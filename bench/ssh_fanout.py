"""Fan-out of the SSH adapter: one deploy to 1, 5 and 20 real sshd hosts, each with pm2.

Each host is an ``sshd -D`` on its own 127.0.0.1 port with its own pm2 daemon (the test
kit in adapters/ssh/tests/sshd_farm.py); the app is the tests' Node app. Every host first
gets an untimed release (pm2 daemons up, app online); then each measured deploy sends a
new release to the first N hosts through ``SSHAdapter.deploy`` — upload, switch, ``pm2
startOrReload``, the host's health URL, ``pm2 jlist``, prune — exactly what ``wave deploy``
asks of the adapter.

Two variants, interleaved round by round in a shuffled order:

* ``pm2``: the real deploy above;
* ``layout``: the same deploy with the process manager replaced by a no-op — upload,
  switch and prune over SSH only — which isolates the adapter's own fan-out machinery
  (connections, commands, threads) from the cost of pm2 itself.

and two modes: ``parallel`` (``max_parallel = N``) and ``sequential`` (``max_parallel =
1``), the latter for 5 and 20 hosts, so their ratio comes from the same run.

Reported per case: median wall time, commands and connections per host, the client's CPU
time, and the hosts' CPU time (each sshd with the commands it ran, each pm2 daemon with
its apps, from ``/proc``) — on this machine every "host" shares the same two cores, so
``(client + hosts CPU) / cores`` is a floor under the wall time that real, separate
servers would not impose. Goal (reported, never asserted): 20 hosts in under 3x the time
of one.

Usage (as root, like the tests: the hosts log in to a dedicated account)::

    .venv/bin/python bench/ssh_fanout.py [--rounds 3] [--out bench/results/ssh_fanout.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "adapters" / "ssh" / "tests"))

import sshd_farm as kit  # noqa: E402
from wave_sdk_ssh.adapter import SSHAdapter  # noqa: E402
from wave_sdk_ssh.config import SSHTarget  # noqa: E402
from wave_sdk_ssh.process import AppState, Process  # noqa: E402

from wave_sdk import Release  # noqa: E402
from wave_sdk.adapter import TargetContext  # noqa: E402
from wave_sdk.reporting import ListReporter  # noqa: E402

SIZES = (1, 5, 20)
SEQUENTIAL = (5, 20)
DEFAULT_OUT = ROOT / "bench" / "results" / "ssh_fanout.json"


class NoManager:
    """The ``layout`` variant's process manager: does nothing, reports one process up."""

    name = "none"
    checks_cwd = False

    def activate(self, *args: Any) -> None:
        pass

    def state(self, *args: Any) -> AppState:
        return AppState("none", (Process(pid=None, status="online"),))

    running = state

    def reconcile(self, t: Any, host: Any, state: AppState) -> AppState:
        return state

    def stop(self, *args: Any) -> None:
        pass


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _adapter(farm: kit.Farm, hosts: list[kit.SSHHost], parallel: int, base: Path) -> SSHAdapter:
    config = SSHTarget.model_validate(farm.target(hosts, max_parallel=parallel, keep=3))
    context = TargetContext(
        target="web",
        environment="bench",
        project="bench",
        root=base,
        state_dir=base,
        reporter=ListReporter(),
    )
    return SSHAdapter(config=config, context=context)


def deploy(
    farm: kit.Farm,
    hosts: list[kit.SSHHost],
    release: Release,
    *,
    parallel: int,
    variant: str,
    base: Path,
) -> dict[str, Any]:
    adapter = _adapter(farm, hosts, parallel, base)
    if variant == "layout":
        adapter.manager = NoManager()
    every = farm.hosts
    machine, own, started = kit.hosts_cpu(every), _own_cpu(), time.perf_counter()
    try:
        result = adapter.deploy(release)
    finally:
        wall = time.perf_counter() - started
        adapter.close()
        time.sleep(0.3)  # let sshd reap the closed sessions, so their CPU is counted
        machine, own = kit.hosts_cpu(every) - machine, _own_cpu() - own
    per_host = result.details["hosts"].values()
    phases: dict[str, float] = {}
    for name in ("connect", "stage", "switch", "reload", "health", "processes", "prune"):
        values = [h["timings"].get(name, 0.0) for h in per_host]
        phases[name] = round(statistics.median(values), 4)
    return {
        "wall_s": wall,
        "hosts_cpu_s": machine,
        "client_cpu_s": own,
        "commands_per_host": statistics.median(h["commands"] for h in per_host),
        "connections_per_host": max(h["connections"] for h in per_host),
        "phases_median_s": phases,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    pm2 = kit.find_pm2() or kit.install_pm2()
    if pm2 is None or kit.find_sshd() is None or shutil.which("node") is None:
        print("ssh_fanout: needs sshd, node and pm2 (scripts/install-test-deps)", file=sys.stderr)
        return 0
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    base = Path(tempfile.mkdtemp(prefix="wave-bench-ssh-"))
    farm = kit.Farm(Path("/tmp"), pm2=pm2)
    samples: dict[str, list[dict[str, Any]]] = {}
    load_before = os.getloadavg()
    try:
        hosts = farm.start(max(SIZES))
        source = kit.write_app(base / "app", "bench")
        print(f"warming up {len(hosts)} hosts (pm2 daemons, first release) …", file=sys.stderr)
        deploy(
            farm,
            hosts,
            Release(id="warm", source=source),
            parallel=len(hosts),
            variant="pm2",
            base=base,
        )
        cases = [(v, "parallel", n) for v in ("pm2", "layout") for n in SIZES]
        cases += [(v, "sequential", n) for v in ("pm2", "layout") for n in SEQUENTIAL]
        for round_ in range(args.rounds):
            rng.shuffle(cases)
            for variant, mode, n in cases:
                key = f"{variant}/{mode}/{n}"
                release = Release(id=f"r{round_}-{variant}-{mode}-{n}", source=source)
                sample = deploy(
                    farm,
                    hosts[:n],
                    release,
                    parallel=n if mode == "parallel" else 1,
                    variant=variant,
                    base=base,
                )
                samples.setdefault(key, []).append(sample)
                print(
                    f"round {round_ + 1}/{args.rounds} {key:<22} {sample['wall_s']:7.2f} s",
                    file=sys.stderr,
                )
    finally:
        farm.stop()
        shutil.rmtree(base, ignore_errors=True)

    cores = os.cpu_count() or 1
    results: dict[str, Any] = {}
    for key, runs in sorted(samples.items()):
        wall = statistics.median(r["wall_s"] for r in runs)
        machine = statistics.median(r["hosts_cpu_s"] + r["client_cpu_s"] for r in runs)
        results[key] = {
            "wall_s_median": round(wall, 3),
            "wall_s": [round(r["wall_s"], 3) for r in runs],
            "commands_per_host": statistics.median(r["commands_per_host"] for r in runs),
            "connections_per_host": max(r["connections_per_host"] for r in runs),
            "client_cpu_s_median": round(statistics.median(r["client_cpu_s"] for r in runs), 3),
            "hosts_cpu_s_median": round(statistics.median(r["hosts_cpu_s"] for r in runs), 3),
            "cpu_floor_s": round(machine / cores, 3),
            "phases_median_s": {
                name: round(statistics.median(r["phases_median_s"][name] for r in runs), 4)
                for name in runs[0]["phases_median_s"]
            },
        }

    def ratio(a: str, b: str) -> float:
        return round(results[a]["wall_s_median"] / results[b]["wall_s_median"], 2)

    ratios = {
        f"{v}: 20 hosts / 1 host": ratio(f"{v}/parallel/20", f"{v}/parallel/1")
        for v in ("pm2", "layout")
    }
    ratios |= {
        f"{v}: 5 hosts / 1 host": ratio(f"{v}/parallel/5", f"{v}/parallel/1")
        for v in ("pm2", "layout")
    }
    ratios |= {
        f"{v}: sequential / parallel, {n} hosts": ratio(f"{v}/sequential/{n}", f"{v}/parallel/{n}")
        for v in ("pm2", "layout")
        for n in SEQUENTIAL
    }
    goals = {
        f"{v}: 20 hosts under 3x one host": {
            "ratio": ratios[f"{v}: 20 hosts / 1 host"],
            "pass": ratios[f"{v}: 20 hosts / 1 host"] < 3.0,
        }
        for v in ("pm2", "layout")
    }
    report = {
        "benchmark": "ssh_fanout",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "settings": {
            "rounds": args.rounds,
            "seed": seed,
            "sizes": SIZES,
            "sequential_sizes": SEQUENTIAL,
        },
        "machine": {
            # Other work on this shared machine slows every case; the load says how much.
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": cores,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
        "ratios": ratios,
        "goals": goals,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"\n{'case':<24}{'wall':>9}{'cmds/host':>11}{'conns':>7}{'client cpu':>12}"
        f"{'hosts cpu':>13}{'cpu floor':>11}"
    )
    for key, r in results.items():
        print(
            f"{key:<24}{r['wall_s_median']:>8.2f}s{r['commands_per_host']:>11g}"
            f"{r['connections_per_host']:>7}{r['client_cpu_s_median']:>11.2f}s"
            f"{r['hosts_cpu_s_median']:>12.2f}s{r['cpu_floor_s']:>10.2f}s"
        )
    print()
    for name, value in ratios.items():
        print(f"{name:<40} {value:>6.2f}x")
    for name, goal in goals.items():
        print(f"goal {name}: {goal['ratio']:.2f}x {'PASS' if goal['pass'] else 'FAIL'}")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
