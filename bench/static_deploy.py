"""A static site deployed to the fake Netlify and Vercel APIs: ``wave deploy`` against each CLI.

The site is generated once (``--files`` files, ``--megabytes`` in all, as
bench/static_hash.py makes it). For each side, in a shuffled order, a fresh fake API runs as
its own process (``python -m wave_sdk_netlify.fake`` or ``python -m wave_sdk_vercel.fake``,
so it does not share an interpreter with the client), and the side makes:

* a **first deploy** — every file hashed and uploaded;
* a **one-file redeploy** — one file changed: hashed again, one file uploaded.

The sides are ``wave deploy`` (the adapter through the whole pipeline: plan, state, the
adapter's manifest and upload, verification by the adapter's health) and the platform's
CLI, pinned by scripts/install-test-deps: ``netlify deploy --prod --no-build --dir SITE``
(netlify-cli) and ``vercel deploy --prebuilt --prod`` (vercel 60.1.3, the same files as a
Build Output directory, ``.vercel/output/static``, hard links to the site's). ``sha1sum``
over the same files is measured too, as the floor of hashing. Goal of issues 11 and 12,
reported and never asserted: wave at least 2x faster than each CLI on both deploys.
Results go to ``bench/results/static_deploy.json``.

Usage::

    .venv/bin/python bench/static_deploy.py [--files 10000] [--megabytes 300] [--rounds 1]
        [--platform netlify --platform vercel]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
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
VERCEL = ROOT / ".venv" / "vercel" / "node_modules" / ".bin" / "vercel"
CLIS = {"netlify": NETLIFY, "vercel": VERCEL}
SITE_ID = "bench-site"
TOKEN = "benchtoken"  # the vercel CLI refuses a token with "-" in it
VERCEL_OUTPUT = Path(".vercel") / "output"


class FakeProcess:
    """The platform's fake API in its own process group, stopped by PID.

    Entered, it gives the API's URL (and, for Vercel, sets :attr:`project_id`).
    """

    def __init__(self, platform: str = "netlify") -> None:
        self.platform = platform
        self.project_id = ""

    def __enter__(self) -> str:
        if self.platform == "netlify":
            argv = [
                "wave_sdk_netlify.fake",
                "--site",
                SITE_ID,
                "--diff-delay",
                "0.05",
                "--process-delay",
                "0.05",
            ]
        else:
            argv = [
                "wave_sdk_vercel.fake",
                "--project",
                SITE_ID,
                "--queue-delay",
                "0.05",
                "--build-delay",
                "0.05",
            ]
        self.proc = subprocess.Popen(
            [str(PY), "-m", *argv, "--token", TOKEN],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready "):
            raise SystemExit(f"the fake did not start: {line!r}")
        if self.platform == "vercel":  # then "project <name> <id> <domain URL>"
            self.project_id = self.proc.stdout.readline().split()[2]
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
page = ""
consecutive = 1
""")
    env = {**os.environ, "NETLIFY_AUTH_TOKEN": TOKEN, "CI": "1"}
    return timed(
        [str(WAVE), "deploy", "--env", "development", "--release", release], cwd=project, env=env
    )


def wave_vercel_side(project: Path, api_url: str, release: str) -> float:
    (project / "wave.toml").write_text(f"""
[environments.development]
target = "site"

[targets.site]
adapter = "vercel"
token = "${{VERCEL_TOKEN}}"
project = "{SITE_ID}"
api_url = "{api_url}"
url_scheme = "http"
output_dir = "{VERCEL_OUTPUT.as_posix()}"
production = true
concurrency = 16

[health]
endpoints = []
page = ""
consecutive = 1
""")
    env = {**os.environ, "VERCEL_TOKEN": TOKEN, "CI": "1"}
    return timed(
        [str(WAVE), "deploy", "--env", "development", "--release", release], cwd=project, env=env
    )


def vercel_side(project: Path, api_url: str, home: Path, project_id: str) -> float:
    """``vercel deploy --prebuilt --prod``, linked to the fake's project (.vercel/project.json)."""
    (project / ".vercel" / "project.json").write_text(
        json.dumps({"orgId": "team_wavetest", "projectId": project_id})
    )
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "VERCEL_TELEMETRY_DISABLED": "1",
        "NO_UPDATE_NOTIFIER": "1",
        "CI": "1",
    }
    argv = [str(VERCEL), "deploy", "--prebuilt", "--prod", "--api", api_url, "--token", TOKEN]
    return timed([*argv, "--yes"], cwd=project, env=env)


def vercel_project(tmp: Path, site: Path) -> Path:
    """A second project whose Build Output directory holds hard links to the site's files.

    Hard links, not copies (the same bytes, no second 300 MB) and not a symbolic link (both
    tools refuse or skip a linked directory); the changed file is rewritten in place, so
    both projects see the change.
    """
    project = tmp / "vercel-project"
    static = project / VERCEL_OUTPUT / "static"
    for path in site.rglob("*"):
        if path.is_file():
            (static / path.relative_to(site)).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, static / path.relative_to(site))
    (project / VERCEL_OUTPUT / "config.json").write_text(json.dumps({"version": 3}))
    return project


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
    parser.add_argument("--platform", action="append", choices=sorted(CLIS), help="default: both")
    args = parser.parse_args(argv)
    platforms = args.platform or ["netlify", "vercel"]
    for name in platforms:
        if not CLIS[name].exists():
            raise SystemExit(f"no {CLIS[name]}: run `make deps` (scripts/install-test-deps)")
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
        vproject = vercel_project(Path(tmp), site) if "vercel" in platforms else project
        run_sha1sum(site, listing, 1)  # warm the page cache
        print(
            f"static deploy bench: {len(names)} files, {total / 1e6:.0f} MB, "
            f"{args.rounds} round(s), seed {seed}",
            file=sys.stderr,
        )
        # Netlify's rows keep their names ("wave first", "netlify-cli first") from issue 11.
        sides = [s for s in ("wave", "netlify-cli") if "netlify" in platforms]
        sides += [s for s in ("wave vercel", "vercel-cli") if "vercel" in platforms]
        for round_number in range(args.rounds):
            rng.shuffle(sides)
            for side in sides:
                changed.write_bytes(original)
                fake = FakeProcess("vercel" if "vercel" in side else "netlify")
                if side.startswith("wave"):
                    # Each round's fake is a new platform with nothing deployed: wave's
                    # record starts empty too (else it looks for last round's release).
                    shutil.rmtree(
                        (project if side == "wave" else vproject) / ".wave" / "state",
                        ignore_errors=True,
                    )
                with fake as api_url:
                    for kind in ("first", "one-file"):
                        if kind == "one-file":
                            with changed.open("ab") as grown:  # in place: hard links follow
                                grown.write(b"changed")
                        release = f"r{round_number}-{kind}"
                        home = Path(tmp) / f"home-{side.replace(' ', '-')}"
                        if side == "wave":
                            seconds = wave_side(project, api_url, release)
                        elif side == "netlify-cli":
                            seconds = netlify_side(project, api_url, home)
                        elif side == "wave vercel":
                            seconds = wave_vercel_side(vproject, api_url, release)
                        else:
                            seconds = vercel_side(vproject, api_url, home, fake.project_id)
                        times.setdefault(f"{side} {kind}", []).append(seconds)
                        print(f"  {side:<12} {kind:<9} {seconds:7.2f}s", file=sys.stderr)
            times.setdefault("sha1sum", []).append(run_sha1sum(site, listing, 1))
    medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
    goals: list[dict[str, Any]] = []
    pairs = [("wave", "netlify-cli")] if "netlify" in platforms else []
    pairs += [("wave vercel", "vercel-cli")] if "vercel" in platforms else []
    for ours, theirs in pairs:
        for kind in ("first", "one-file"):
            ratio = medians[f"{theirs} {kind}"] / medians[f"{ours} {kind}"]
            goals.append(
                {
                    "goal": f"{kind} deploy at least 2x faster than {theirs}",
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
        "settings": {
            "files": args.files,
            "bytes": total,
            "rounds": args.rounds,
            "seed": seed,
            "platforms": platforms,
        },
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
