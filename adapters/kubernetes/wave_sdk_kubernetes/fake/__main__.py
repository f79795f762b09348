"""``python -m wave_sdk_kubernetes.fake --kubeconfig PATH``: the fake API server as a program.

Listens on a free 127.0.0.1 port (or ``--port``), writes a kubeconfig for it to PATH,
prints ``ready <url>`` once it accepts requests, steps its controllers on the real clock
(pods are ready within a second unless a ``--pod-behaviour`` says otherwise) and exits on
SIGTERM or SIGINT. For trying the adapter, or any kubectl, without a cluster.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from wave_sdk_kubernetes.fake.clock import Clock
from wave_sdk_kubernetes.fake.cluster import FakeCluster
from wave_sdk_kubernetes.fake.replicasets import BEHAVIOURS


def _behaviour(text: str) -> tuple[str, str]:
    glob, sep, kind = text.rpartition("=")
    if not sep or not glob or kind not in BEHAVIOURS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected GLOB=BEHAVIOUR, BEHAVIOUR one of {', '.join(BEHAVIOURS)}"
        )
    return glob, kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wave_sdk_kubernetes.fake", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--kubeconfig", required=True, help="where to write the kubeconfig for this server"
    )
    parser.add_argument(
        "--namespace",
        default="default",
        help="the kubeconfig context's namespace (default: default)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.25,
        help="seconds between controller steps (default: 0.25)",
    )
    parser.add_argument(
        "--pod-behaviour",
        type=_behaviour,
        action="append",
        default=[],
        metavar="GLOB=BEHAVIOUR",
        help="pods whose image matches GLOB behave so: never-ready, crashloop or "
        "image-pull-error (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error("--interval must be positive")
    cluster = FakeCluster(clock=Clock(), auto_step=args.interval, port=args.port)
    for glob, kind in args.pod_behaviour:
        cluster.pod_behaviour(glob, kind)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        cluster.start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        cluster.write_kubeconfig(args.kubeconfig, args.namespace)
    except OSError as exc:
        cluster.stop()
        print(
            f"error: cannot write --kubeconfig {args.kubeconfig}: {exc.strerror}", file=sys.stderr
        )
        return 1
    print(f"ready {cluster.url}", flush=True)
    stop.wait()
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
