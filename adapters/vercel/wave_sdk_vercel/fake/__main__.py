"""``python -m wave_sdk_vercel.fake``: the fake Vercel as a program, until SIGTERM.

Prints ``ready <url>`` first, where ``<url>`` is the API's base URL (the vercel CLI's
``--api``), then ``project <name> <id> <domain URL>`` for each project named by
``--project`` (default ``wave-site``; the API takes a project's name where it takes its
id). SIGTERM or SIGINT stops it with exit status 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from wave_sdk_vercel.fake.server import FakeVercel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wave_sdk_vercel.fake")
    parser.add_argument("--project", action="append", help="a project to create (repeatable)")
    parser.add_argument("--token", help="the only bearer token accepted (default: any)")
    parser.add_argument("--queue-delay", type=float, default=0.05, help="seconds QUEUED")
    parser.add_argument("--build-delay", type=float, default=0.2, help="seconds BUILDING")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with FakeVercel(
        token=args.token, queue_delay=args.queue_delay, build_delay=args.build_delay
    ) as fake:
        projects = [fake.add_project(name) for name in args.project or ["wave-site"]]
        print(f"ready {fake.url}", flush=True)
        for project in projects:
            print(f"project {project.name} {project.id} http://{project.domain}", flush=True)
        while not stop.wait(3600):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
