"""Hashing a static site: ``wave_sdk.digests.build_manifest`` against coreutils ``sha1sum``.

The digest-deploy toolkit hashes every file of an output directory before each deploy, so
its speed is a floor under every Netlify or Vercel deploy. The site is generated once per
run (``--files`` files, ``--megabytes`` in all: most files small, a few large, as a built
site is) and read once to warm the page cache. Then, in interleaved rounds with a fresh
shuffle each round:

* **wave** — ``build_manifest(site, algorithm="sha1")``: the walk, the checks and the hash
  of every file, in this process (what an adapter does);
* **sha1sum** — one ``sha1sum`` process over the same files (``xargs -0``);
* **sha1sum x2** — two ``sha1sum`` processes in parallel (``xargs -0 -P 2``): the floor a
  shell script could reach on two cores.

Reported: medians and MB/s, and the goal of issue 11 — wave at least 1.5x the throughput
of one ``sha1sum`` — as a verdict, never asserted. Results go to
``bench/results/static_hash.json``.

Usage::

    .venv/bin/python bench/static_hash.py [--files 10000] [--megabytes 300] [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "static_hash.json"
GOAL_RATIO = 1.5


def make_site(root: Path, files: int, megabytes: int, rng: random.Random) -> int:
    """``files`` files totalling about ``megabytes``: a long tail of small ones."""
    weights = [rng.paretovariate(1.2) for _ in range(files)]
    scale = megabytes * 1024 * 1024 / sum(weights)
    block = os.urandom(1 << 20)
    total = 0
    for i, weight in enumerate(weights):
        size = max(64, int(weight * scale))
        path = root / f"d{i % 97}" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            left, offset = size, i % 4096
            while left:
                chunk = block[offset : offset + min(left, len(block) - offset)]
                handle.write(chunk)
                left -= len(chunk)
                offset = 0
        total += size
    return total


def run_wave(site: Path) -> float:
    from wave_sdk.digests import build_manifest

    started = time.perf_counter()
    build_manifest(site, algorithm="sha1")
    return time.perf_counter() - started


def run_sha1sum(site: Path, listing: bytes, processes: int) -> float:
    files = listing.count(b"\0")
    started = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "-P", str(processes), "-n", str(files // processes + 1), "sha1sum"],
        input=listing,
        cwd=site,
        stdout=subprocess.DEVNULL,
        check=True,
        timeout=600,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="wave-bench-site-") as tmp:
        site = Path(tmp)
        total = make_site(site, args.files, args.megabytes, rng)
        names = sorted(str(p.relative_to(site)) for p in site.rglob("*.bin"))
        listing = "\0".join(names).encode() + b"\0"
        # xargs -n splits the list evenly between the processes of the x2 run.
        commands = {
            "wave": lambda: run_wave(site),
            "sha1sum": lambda: run_sha1sum(site, listing, 1),
            "sha1sum x2": lambda: run_sha1sum(site, listing, 2),
        }
        for command in commands.values():  # warm the page cache and the code
            command()
        times: dict[str, list[float]] = {name: [] for name in commands}
        print(
            f"static hash bench: {len(names)} files, {total / 1e6:.0f} MB, {args.rounds} rounds, "
            f"seed {seed}, {os.cpu_count()} CPUs",
            file=sys.stderr,
        )
        for _ in range(args.rounds):
            order = list(commands)
            rng.shuffle(order)
            for name in order:
                times[name].append(commands[name]())
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "command": name,
                "median_s": round(median, 4),
                "min_s": round(min(values), 4),
                "mb_per_s": round(total / 1e6 / median, 1),
                "runs": [round(v, 4) for v in values],
            }
        )
    by = {r["command"]: r for r in rows}
    ratio = by["sha1sum"]["median_s"] / by["wave"]["median_s"]
    goal = {
        "goal": f"build_manifest throughput >= {GOAL_RATIO}x one sha1sum on the same files",
        "ratio_to_sha1sum": round(ratio, 2),
        "ratio_to_sha1sum_x2": round(by["sha1sum x2"]["median_s"] / by["wave"]["median_s"], 2),
        "result": "PASS" if ratio >= GOAL_RATIO else "MISS",
    }
    print(f"{'command':<12} {'median s':>9} {'min s':>8} {'MB/s':>8}")
    for r in rows:
        print(f"{r['command']:<12} {r['median_s']:>9.3f} {r['min_s']:>8.3f} {r['mb_per_s']:>8.1f}")
    print(
        f"\n{goal['result']}: {goal['goal']}: {goal['ratio_to_sha1sum']}x "
        f"({goal['ratio_to_sha1sum_x2']}x two sha1sum processes)"
    )
    result: dict[str, Any] = {
        "benchmark": "static_hash",
        "settings": {"files": len(names), "bytes": total, "rounds": args.rounds, "seed": seed},
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "rows": rows,
        "goals": [goal],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
