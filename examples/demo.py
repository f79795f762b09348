"""The quick start's demo (`make demo`): a deploy, a failed deploy rolled back, status, history.

It runs the real `wave` command against examples/demo/wave.toml, exactly as a person would:

1. deploy v1 (examples/app) to `development` — healthy, `deployment-complete` written;
2. deploy v2 (examples/app-broken, whose /api/health/db answers 503) — verification fails,
   wave rolls back to v1 by itself and exits 7;
3. `wave status` and `wave history`;
4. stop the app it started, by the pid the local target recorded.

Exits non-zero if any step does not behave as described.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "demo"
WAVE = str(Path(sys.executable).parent / "wave")


def run(*args: str, expect: int) -> None:
    print(f"\n$ wave {' '.join(args)}", flush=True)
    code = subprocess.call([WAVE, *args], cwd=PROJECT)
    if code != expect:
        sys.exit(f"demo: `wave {' '.join(args)}` exited {code}, expected {expect}")


def stop_app() -> None:
    pid_file = PROJECT / ".wave" / "local" / "web" / "app.pid"
    if not pid_file.exists():
        return
    pid = json.loads(pid_file.read_text())["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    print(f"\nstopped the demo app (pid {pid})")


def main() -> None:
    # Start from nothing, so the demo shows a first deploy every time.
    stop_app()
    for leftover in (".wave", ".claude"):
        shutil.rmtree(PROJECT / leftover, ignore_errors=True)
    try:
        run("deploy", "--env", "development", "--release", "v1", expect=0)
        run("deploy", "--env", "development", "--release", "v2", "--source", "../app-broken",
            expect=7)
        run("status", expect=0)
        run("history", expect=0)
        signals = sorted(p.name for p in (PROJECT / ".claude").glob("signal-*.json"))
        print("\nsignals written:\n  " + "\n  ".join(signals))
    finally:
        stop_app()


if __name__ == "__main__":
    main()
