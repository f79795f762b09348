"""``python -m wave_sdk_netlify.fake``: the fake Netlify as a program, until SIGTERM.

Prints one line, ``ready <url>``, where ``<url>`` is the ``NETLIFY_API_URL`` to use
(``http://127.0.0.1:PORT/api/v1``); the sites named by ``--site`` exist (default
``wave-site``). SIGTERM or SIGINT stops it with exit status 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from wave_sdk_netlify.fake.server import FakeNetlify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wave_sdk_netlify.fake")
    parser.add_argument("--site", action="append", help="a site id to create (repeatable)")
    parser.add_argument("--token", help="the only bearer token accepted (default: any)")
    parser.add_argument("--diff-delay", type=float, default=0.3, help="seconds an async diff takes")
    parser.add_argument(
        "--process-delay", type=float, default=0.2, help="seconds from uploaded to ready"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with FakeNetlify(
        token=args.token, diff_delay=args.diff_delay, process_delay=args.process_delay
    ) as fake:
        for site_id in args.site or ["wave-site"]:
            fake.add_site(site_id)
        print(f"ready {fake.api_url}", flush=True)
        while not stop.wait(3600):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
