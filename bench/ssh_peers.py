"""wave's SSH adapter side by side with Capistrano, Ansible and the OpenSSH floor.

The same release — the SSH tests' Node app, the same files — goes to the same 1, 5 and 20
hosts (the test kit's: one ``sshd -D`` and one pm2 daemon each, adapters/ssh/tests/
sshd_farm.py) through five tools, in interleaved rounds of shuffled order:

* ``wave-cli``: ``wave deploy --env fleet --release ID --source DIR`` as a command, with
  ``max_parallel`` = hosts (every host at once, as the others work; the default is 10);
* ``wave-sdk``: ``Wave.deploy()`` in this process;
* ``capistrano``: ``cap farm deploy`` with bench/peers/capistrano (Capistrano 3's own flow);
* ``ansible``: ``ansible-playbook deploy.yml`` with bench/peers/ansible (pipelining,
  forks = hosts, ControlPersist — its masters persist from one run to the next, as
  they would for a user; an untimed first run at each size opens them);
* ``floor``: the same steps as one shell script per host over OpenSSH ControlMaster
  connections opened beforehand, every host at once — what no tool can beat.

Every tool does the same on every host (adapters/ssh/tests/peer_tools.py): upload into
``releases/<id>``, link ``shared/logs``, ``REVISION``, switch ``current``, pm2's ecosystem
file and ``startOrReload``, the health URL, keep 3 releases. After each deploy the bench
asks every host's app (HTTP, loopback) for its version: a tool that did not deploy is a
failed sample, not a fast one. Then the rollback (``current`` back, reload, health) at 20
hosts: wave first deploys twice (its rollback goes back to its own previous deploy), the
others' rollback takes the newest release before ``current`` whoever staged it, so the
floor deploys once for them (untimed); then the tool rolls back, timed.

Reported per tool and size: median wall time, the client's CPU (this process for
``wave-sdk``; the tool's reaped processes otherwise, plus ControlMaster processes), the
hosts' CPU (each sshd and pm2 daemon with everything under it, from ``/proc``), and
round trips per host: SSH sessions sshd started (``Starting session:`` lines of each
host's log: one per command, sftp or scp transfer), counted, not estimated; and
connections (logins) per host. Goals, recorded and never asserted: wave faster than
Capistrano and Ansible at every size, within 1.5x of the floor at 20 hosts, and the
fewest round trips per host of the three tools.

Usage (as root, like the SSH tests)::

    .venv/bin/python bench/ssh_peers.py [--rounds 3] [--sizes 1,5,20] [--rollback-size 20]
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "adapters" / "ssh" / "tests"))

import peer_tools as peers  # noqa: E402
import sshd_farm as kit  # noqa: E402

from wave_sdk import Release  # noqa: E402
from wave_sdk.reporting import ListReporter  # noqa: E402

TOOLS = ("wave-cli", "wave-sdk", "capistrano", "ansible", "floor")
RIVALS = ("capistrano", "ansible")
DEFAULT_OUT = ROOT / "bench" / "results" / "ssh_peers.json"


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Bench:
    """The farm, one wave project and one :class:`peer_tools.Peers` per size."""

    def __init__(self, farm: kit.Farm, hosts: list[kit.SSHHost], sizes: list[int], base: Path):
        self.farm, self.hosts, self.base = farm, hosts, base
        self.projects: dict[int, kit.Project] = {}
        self.peers: dict[int, peers.Peers] = {}
        for n in sizes:
            project = kit.Project(base / f"project-{n}")
            # Every host at once, as Capistrano does and Ansible with forks = hosts (wave's
            # default is 10 at a time).
            target = farm.target(hosts[:n], shared=["logs"], keep=peers.KEEP, max_parallel=n)
            project.write(target, endpoints=[])
            self.projects[n] = project
            self.peers[n] = peers.Peers(farm, hosts[:n], base / f"peers-{n}")
        self.counter = int(dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S"))

    def release(self) -> tuple[str, Path, Path]:
        """A new release id (14 digits: Capistrano's names), its source and its tar file."""
        self.counter += 1
        rid = str(self.counter)
        source = kit.write_app(self.base / "src" / rid, rid)
        return rid, source, peers.release_tar(source, self.base / "src" / f"{rid}.tar")

    def deploy(self, tool: str, n: int, rid: str, source: Path, tar: Path) -> peers.Run:
        if tool == "wave-cli":
            # Other tools' deploys in between prune wave's last release (keep 3): what the
            # flag allows; the check itself (one command per host) is made all the same.
            return self._wave_cli(
                n, "deploy", "--release", rid, "--source", str(source), "--allow-no-rollback"
            )
        if tool == "wave-sdk":
            return self._wave_sdk(
                lambda: (
                    self.projects[n]
                    .wave(reporter=ListReporter())
                    .deploy("fleet", release=Release(id=rid, source=source), allow_no_rollback=True)
                )
            )
        if tool == "capistrano":
            return self.peers[n].cap("deploy", rid, tar)
        if tool == "ansible":
            return self.peers[n].ansible("deploy.yml", rid, tar)
        return self.peers[n].floor(rid, tar)

    def rollback(self, tool: str, n: int, rid: str) -> peers.Run:
        if tool == "wave-cli":
            return self._wave_cli(n, "rollback")
        if tool == "wave-sdk":
            return self._wave_sdk(
                lambda: self.projects[n].wave(reporter=ListReporter()).rollback("fleet")
            )
        if tool == "capistrano":
            return self.peers[n].cap("deploy:rollback", rid)
        if tool == "ansible":
            return self.peers[n].ansible("rollback.yml", rid)
        return self.peers[n].floor(rid, None)

    def _wave_cli(self, n: int, *args: str) -> peers.Run:
        before, started = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
        done = subprocess.run(
            [kit.WAVE, *args[:1], "--env", "fleet", *args[1:]],
            cwd=self.projects[n].root,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        wall = time.perf_counter() - started
        return peers.Run(
            wall,
            _cpu(resource.RUSAGE_CHILDREN) - before,
            done.returncode,
            done.stdout + done.stderr,
        )

    def _wave_sdk(self, call: Callable[[], Any]) -> peers.Run:
        before, started = _cpu(resource.RUSAGE_SELF), time.perf_counter()
        try:
            call()
            code, output = 0, ""
        except Exception as exc:  # a failed sample is recorded, not fatal to the bench
            code, output = 1, f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - started
        return peers.Run(wall, _cpu(resource.RUSAGE_SELF) - before, code, output)

    def measure(
        self, n: int, action: Callable[[], peers.Run], expect: Callable[[kit.SSHHost], str]
    ) -> dict[str, Any]:
        """Run ``action`` on the first ``n`` hosts; its sessions, logins, CPU, and whether
        every host's app then answers the version ``expect(host)``."""
        hosts = self.hosts[:n]
        sessions = [h.sessions() for h in hosts]
        logins = [h.logins() for h in hosts]
        machine = kit.hosts_cpu(self.hosts)
        run = action()
        time.sleep(0.3)  # let sshd log and reap the closed sessions
        machine = kit.hosts_cpu(self.hosts) - machine
        wanted = [expect(h) for h in hosts]
        answers = []
        for host in hosts:
            try:
                answers.append(host.get("/")[1].get("version"))
            except OSError:
                answers.append(None)
        return {
            "wall_s": run.wall_s,
            "client_cpu_s": run.client_cpu_s,
            "hosts_cpu_s": machine,
            "round_trips_per_host": statistics.median(
                h.sessions() - s for h, s in zip(hosts, sessions, strict=True)
            ),
            "connections_per_host": statistics.median(
                h.logins() - s for h, s in zip(hosts, logins, strict=True)
            ),
            "ok": run.ok and answers == wanted,
            "error": "" if run.ok and answers == wanted else run.output.strip()[-600:],
            "served": []
            if answers == wanted
            else [f"{a} (not {w})" for a, w in zip(answers, wanted, strict=True) if a != w],
        }


def summarise(runs: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    good = [r for r in runs if r["ok"]] or runs

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in good), 3)

    return {
        "wall_s_median": med("wall_s"),
        "wall_s": [round(r["wall_s"], 3) for r in runs],
        "client_cpu_s_median": med("client_cpu_s"),
        "hosts_cpu_s_median": med("hosts_cpu_s"),
        "cpu_floor_s": round(
            statistics.median(r["client_cpu_s"] + r["hosts_cpu_s"] for r in good) / cores, 3
        ),
        "round_trips_per_host": statistics.median(r["round_trips_per_host"] for r in good),
        "connections_per_host": statistics.median(r["connections_per_host"] for r in good),
        "samples": len(runs),
        "failed": sum(1 for r in runs if not r["ok"]),
        "errors": sorted({f"served {r['served']}: {r['error']}" for r in runs if not r["ok"]}),
    }


def goals(
    results: dict[str, dict[str, dict[str, Any]]], sizes: list[int], big: int
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for wave in ("wave-cli", "wave-sdk"):
        for n in sizes:
            key = str(n)
            if key not in results.get(wave, {}):
                continue
            mine = results[wave][key]["wall_s_median"]
            for rival in RIVALS:
                if key in results.get(rival, {}):
                    theirs = results[rival][key]["wall_s_median"]
                    found[f"{wave} faster than {rival}, {n} hosts"] = {
                        "ratio": round(mine / theirs, 3),
                        "pass": mine < theirs,
                    }
        key = str(big)
        if key in results.get(wave, {}) and key in results.get("floor", {}):
            ratio = results[wave][key]["wall_s_median"] / results["floor"][key]["wall_s_median"]
            found[f"{wave} within 1.5x of the floor, {big} hosts"] = {
                "ratio": round(ratio, 3),
                "pass": ratio <= 1.5,
            }
    for n in sizes:
        key = str(n)
        trips = {
            t: results[t][key]["round_trips_per_host"]
            for t in (*TOOLS[:2], *RIVALS)
            if key in results.get(t, {})
        }
        if trips:
            wave = max(trips.get("wave-cli", 0), trips.get("wave-sdk", 0))
            rivals = [trips[t] for t in RIVALS if t in trips]
            found[f"fewest round trips per host of the tools, {n} hosts"] = {
                "round_trips_per_host": trips,
                "pass": bool(rivals) and wave < min(rivals),
            }
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1,5,20")
    parser.add_argument("--rollback-size", type=int, default=20, help="0: no rollback rounds")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    tools = [t for t in args.tools.split(",") if t]
    big = args.rollback_size
    pm2 = kit.find_pm2() or kit.install_pm2()
    missing = [
        name
        for name, found in (
            ("sshd", kit.find_sshd()),
            ("node", shutil.which("node")),
            ("pm2", pm2),
            ("cap", peers.find_cap() if "capistrano" in tools else "-"),
            ("ansible-playbook", peers.find_ansible() if "ansible" in tools else "-"),
        )
        if not found
    ]
    if missing:
        print(
            f"ssh_peers: needs {', '.join(missing)} (scripts/install-test-deps, make setup)",
            file=sys.stderr,
        )
        return 0
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    base = Path(tempfile.mkdtemp(prefix="wave-bench-peers-"))
    base.chmod(0o755)
    farm = kit.Farm(Path("/tmp"), pm2=pm2)
    deploys: dict[tuple[str, int], list[dict[str, Any]]] = {}
    rollbacks: dict[tuple[str, int], list[dict[str, Any]]] = {}
    load_before = os.getloadavg()
    started = time.monotonic()
    bench: Bench | None = None
    try:
        hosts = farm.start(max([*sizes, big]))
        bench = Bench(farm, hosts, sorted({*sizes, big} - {0}), base)
        print(f"warming up {len(hosts)} hosts (pm2 daemons, connections) …", file=sys.stderr)
        rid, source, tar = bench.release()
        first = bench.measure(
            len(hosts),
            lambda: bench.deploy("wave-sdk", len(hosts), rid, source, tar),
            lambda h: rid,
        )
        if not first["ok"]:
            raise RuntimeError(f"warm-up deploy failed: {first['error'] or first['served']}")
        for n in bench.peers:
            bench.peers[n].open_floor()  # the floor's, and the rollbacks' preparation
            if "ansible" in tools:
                rid, source, tar = bench.release()
                bench.deploy("ansible", n, rid, source, tar)
        cases = [(t, n) for t in tools for n in sizes]
        for round_ in range(args.rounds):
            rng.shuffle(cases)
            for tool, n in cases:
                rid, source, tar = bench.release()
                sample = bench.measure(
                    n,
                    lambda t=tool, n=n, r=rid, s=source, a=tar: bench.deploy(t, n, r, s, a),
                    lambda h, r=rid: r,
                )
                deploys.setdefault((tool, n), []).append(sample)
                print(
                    f"round {round_ + 1}/{args.rounds} deploy   {tool:<11}{n:>3} hosts "
                    f"{sample['wall_s']:7.2f} s {sample['round_trips_per_host']:>5g} trips/host"
                    + ("" if sample["ok"] else f"  FAILED {sample['error'] or sample['served']}"),
                    file=sys.stderr,
                )
            if not big:
                continue
            order = list(tools)
            rng.shuffle(order)
            for tool in order:
                # A release to leave, untimed. wave goes back to its own previous deploy
                # (from its history): two wave deploys. The others go back to the newest
                # release before `current`, whoever staged it: one deploy by the floor.
                prep, by = (2, "wave-sdk") if tool.startswith("wave") else (1, "floor")
                live: list[str] = []
                for _ in range(prep):
                    rid, source, tar = bench.release()
                    done = bench.deploy(by, big, rid, source, tar)
                    if not done.ok:
                        raise RuntimeError(
                            f"{tool}: deploy before the rollback failed: {done.output}"
                        )
                    live.append(rid)
                sample = bench.measure(
                    big,
                    lambda t=tool, r=live[-1]: bench.rollback(t, big, r),
                    lambda h, r=live[-1]: _back(h, r),
                )
                rollbacks.setdefault((tool, big), []).append(sample)
                print(
                    f"round {round_ + 1}/{args.rounds} rollback {tool:<11}{big:>3} hosts "
                    f"{sample['wall_s']:7.2f} s {sample['round_trips_per_host']:>5g} trips/host"
                    + ("" if sample["ok"] else f"  FAILED {sample['error'] or sample['served']}"),
                    file=sys.stderr,
                )
    finally:
        if bench is not None:
            for p in bench.peers.values():
                p.close()
        farm.stop()
        shutil.rmtree(base, ignore_errors=True)

    cores = os.cpu_count() or 1
    results = {
        "deploy": _table(deploys, cores),
        "rollback": _table(rollbacks, cores),
    }
    verdicts = {
        "deploy": goals(results["deploy"], sizes, max(sizes)),
        "rollback": goals(results["rollback"], [big], big) if big else {},
    }
    report = {
        "benchmark": "ssh_peers",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "settings": {
            "rounds": args.rounds,
            "seed": seed,
            "sizes": sizes,
            "rollback_size": big,
            "tools": tools,
            "keep": peers.KEEP,
            "minutes": round((time.monotonic() - started) / 60, 1),
            "versions": _versions(),
        },
        "machine": {
            # Every host is an sshd on these cores too: the load says how busy they were.
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": cores,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
        "goals": verdicts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    _print(results, verdicts)
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def _back(host: kit.SSHHost, left: str) -> str:
    """What a host's app must answer after a rollback from ``left``: the release ``current``
    now points to, if the tool moved it (each tool picks the release to go back to its own
    way; the first hosts, which also got the small sizes' deploys, hold more releases)."""
    now = host.current()
    return now if now and now != left else f"a release other than {left}"


def _table(samples: dict[tuple[str, int], list[dict[str, Any]]], cores: int) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {}
    for (tool, n), runs in sorted(samples.items()):
        table.setdefault(tool, {})[str(n)] = summarise(runs, cores)
    return table


def _versions() -> dict[str, str]:
    found = {}
    for name, argv in (
        ("capistrano", [peers.find_cap() or "cap", "--version"]),
        ("ansible-core", [peers.find_ansible() or "ansible-playbook", "--version"]),
        ("openssh", ["ssh", "-V"]),
    ):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
            found[name] = (done.stdout + done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            found[name] = "?"
    return found


def _print(results: dict[str, Any], verdicts: dict[str, Any]) -> None:
    for action, table in results.items():
        if not table:
            continue
        print(
            f"\n{action:<10}{'tool':<12}{'hosts':>6}{'wall':>9}{'trips/host':>12}{'conns':>7}"
            f"{'client cpu':>12}{'hosts cpu':>11}{'failed':>8}"
        )
        for tool, by_size in table.items():
            for n, r in sorted(by_size.items(), key=lambda x: int(x[0])):
                print(
                    f"{'':<10}{tool:<12}{n:>6}{r['wall_s_median']:>8.2f}s{r['round_trips_per_host']:>12g}"
                    f"{r['connections_per_host']:>7g}{r['client_cpu_s_median']:>11.2f}s"
                    f"{r['hosts_cpu_s_median']:>10.2f}s{r['failed']:>8}"
                )
    for action, found in verdicts.items():
        for name, goal in found.items():
            figure = goal.get("ratio", goal.get("round_trips_per_host"))
            print(f"goal {action}: {name}: {figure} {'PASS' if goal['pass'] else 'MISS'}")


if __name__ == "__main__":
    sys.exit(main())
