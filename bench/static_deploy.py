"""A static site deployed to the fake Netlify API: ``wave deploy`` against ``netlify deploy``.

The site is generated once (``--files`` files, ``--megabytes`` in all, as
bench/static_hash.py makes it). For each side, in a shuffled order, a fresh fake API runs as
its own process (``python -m wave_sdk_netlify.fake``, so it does not share an interpreter
with the client), and the side makes:

* a **first deploy** — every file hashed and uploaded;
* a **one-file redeploy** — one file changed: hashed again, one file uploaded.

The sides are ``wave deploy`` (the Netlify adapter through the whole pipeline: plan,
state, the adapter's manifest and upload, verification by the adapter's health) and
``netlify deploy --prod --no-build --dir SITE`` (netlify-cli, pinned by
scripts/install-test-deps). ``sha1sum`` over the same files is measured too, as the floor
of hashing. Goal of issue 11, reported and never asserted: wave at least 2x faster than
netlify-cli on both. Results go to ``bench/results/static_deploy.json``.

Usage::

    .venv/bin/python bench/static_deploy.py [--files 10000] [--megabytes 300] [--rounds 1]
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
sys.path.insert(0, str(ROOT / "bench"))

from static_hash import make_site, run_sha1sum  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "results" / "static_deploy.json"
PY = ROOT / ".venv" / "bin" / "python"
WAVE = ROOT / ".venv" / "bin" / "wave"
NETLIFY = ROOT / ".venv" / "node" / "node_modules" / ".bin" / "netlify"
SITE_ID = "bench-site"
TOKEN = "bench-token"


class FakeProcess:
    """``python -m wave_sdk_netlify.fake`` in its own process group, stopped by PID."""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [str(PY), "-m", "wave_sdk_netlify.fake", "--site", SITE_ID, "--token", TOKEN,
             "--diff-delay", "0.05", "--process-delay", "0.05"],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready "):
            raise SystemExit(f"the fake did not start: {line!r}")
        return line.split(" ", 1)[1]

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)


def timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{output}")
    return elapsed


def wave_side(project: Path, api_url: str, release: str) -> float:
    (project / "wave.toml").write_text(f"""
[environments.development]
target = "site"

[targets.site]
adapter = "netlify"
token = "${{NETLIFY_AUTH_TOKEN}}"
site = "{SITE_ID}"
api_url = "{api_url}"
output_dir = "site"
concurrency = 16

[health]
endpoints = []
consecutive = 1
""")
    env = {**os.environ, "NETLIFY_AUTH_TOKEN": TOKEN, "CI": "1"}
    return timed(
        [str(WAVE), "deploy", "--env", "development", "--release", release], cwd=project, env=env
    )


def netlify_side(project: Path, api_url: str, home: Path) -> float:
    config = home / ".config" / "netlify" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"telemetryDisabled": True, "cliId": "wave-bench"}))
    base = api_url.removesuffix("/api/v1")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "NETLIFY_API_URL": api_url,
        "NETLIFY_AUTH_TOKEN": TOKEN,
        "NETLIFY_SITE_ID": SITE_ID,
        "NETLIFY_TEST_TRACK_URL": base + "/telemetry/track",
        "NETLIFY_TEST_IDENTIFY_URL": base + "/telemetry/identify",
        "NO_UPDATE_NOTIFIER": "1",
        "CI": "1",
    }
    return timed(
        [str(NETLIFY), "deploy", "--prod", "--no-build", "--dir", "site"], cwd=project, env=env
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not NETLIFY.exists():
        raise SystemExit(f"no {NETLIFY}: run `make deps` (scripts/install-test-deps)")
    # Bytecode as an installed wave has it (pip compiles on install), whatever
    # PYTHONDONTWRITEBYTECODE says: the bench measures deploying, not compiling.
    subprocess.run(
        [str(PY), "-m", "compileall", "-q", str(ROOT / "wave_sdk"), str(ROOT / "adapters")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="wave-bench-static-") as tmp:
        project = Path(tmp) / "project"
        site = project / "site"
        site.mkdir(parents=True)
        total = make_site(site, args.files, args.megabytes, rng)
        names = sorted(str(p.relative_to(site)) for p in site.rglob("*.bin"))
        listing = "\0".join(names).encode() + b"\0"
        changed = site / names[len(names) // 2]
        original = changed.read_bytes()
        run_sha1sum(site, listing, 1)  # warm the page cache
        print(
            f"static deploy bench: {len(names)} files, {total / 1e6:.0f} MB, "
            f"{args.rounds} round(s), seed {seed}",
            file=sys.stderr,
        )
        for round_number in range(args.rounds):
            sides = ["wave", "netlify-cli"]
            rng.shuffle(sides)
            for side in sides:
                changed.write_bytes(original)
                with FakeProcess() as api_url:
                    for kind in ("first", "one-file"):
                        if kind == "one-file":
                            changed.write_bytes(original + b"changed")
                        release = f"r{round_number}-{kind}"
                        if side == "wave":
                            seconds = wave_side(project, api_url, release)
                        else:
                            seconds = netlify_side(project, api_url, Path(tmp) / "home")
                        times.setdefault(f"{side} {kind}", []).append(seconds)
                        print(f"  {side:<12} {kind:<9} {seconds:7.2f}s", file=sys.stderr)
            times.setdefault("sha1sum", []).append(run_sha1sum(site, listing, 1))
    medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
    goals: list[dict[str, Any]] = []
    for kind in ("first", "one-file"):
        ratio = medians[f"netlify-cli {kind}"] / medians[f"wave {kind}"]
        goals.append(
            {
                "goal": f"{kind} deploy at least 2x faster than netlify-cli",
                "speedup": round(ratio, 2),
                "result": "PASS" if ratio >= 2 else "MISS",
            }
        )
    print(f"{'what':<22} {'median s':>9}")
    for name, value in medians.items():
        print(f"{name:<22} {value:>9.3f}")
    print()
    for goal in goals:
        print(f"{goal['result']}: {goal['goal']}: {goal['speedup']}x")
    result = {
        "benchmark": "static_deploy",
        "settings": {"files": args.files, "bytes": total, "rounds": args.rounds, "seed": seed},
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "medians_s": medians,
        "runs_s": times,
        "goals": goals,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
