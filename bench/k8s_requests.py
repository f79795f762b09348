"""Requests, bytes and wall time of a Kubernetes deploy + wait + rollback: wave vs kubectl.

Both sides run against the same fake API server (``wave_sdk_kubernetes.fake``: its
controllers step every 20 ms on a clock that moves one second per step, the same for
both), which counts every request and byte it serves:

* **wave** — ``KubernetesAdapter.deploy`` (one strategic-merge patch, then the wait
  ``kubectl rollout status`` would do, by watch) and ``KubernetesAdapter.rollback``
  (``rollout undo`` step for step, then the same wait), in this process;
* **kubectl** — the pinned kubectl: ``set image``, ``rollout status``, ``rollout undo``,
  ``rollout status``: what a person types for the same result.

Rounds alternate the two sides (each deploys a new release, then rolls back); the first
round is a warm-up. Reported: medians of requests, bytes and wall time per sequence, and
the goals of issue 10 — no more requests than kubectl, wall time within 1.2x — as
verdicts, never asserted. Results go to ``bench/results/k8s_requests.json``.

Usage::

    .venv/bin/python bench/k8s_requests.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "k8s_requests.json"
sys.path.insert(0, str(ROOT / "adapters" / "kubernetes" / "tests"))

import k8s_adapter_kit as kit  # noqa: E402  (the tests' fake cluster and adapter set-up)

from wave_sdk import procs  # noqa: E402
from wave_sdk.models import Release  # noqa: E402


def kubectl_binary() -> str:
    found = ROOT / ".venv" / "bin" / "kubectl"
    if found.exists():
        return str(found)
    which = shutil.which("kubectl")
    if which is None:
        raise SystemExit("kubectl not found: run `make setup` (it installs the pinned one)")
    return which


def measure(fake: Any, action: Any) -> dict[str, float]:
    mark = len(fake.requests.entries())
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    time.sleep(0.1)  # let the server finish logging the last answer
    stats = fake.stats(mark)
    return {"requests": stats["requests"], "bytes": stats["bytes"], "seconds": elapsed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    kubectl = kubectl_binary()
    rows: dict[str, list[dict[str, float]]] = {"wave": [], "kubectl": []}
    with tempfile.TemporaryDirectory(prefix="wave-bench-k8s-") as tmp:
        directory = Path(tmp)
        with kit.fake_cluster(directory) as (fake, kubeconfig):
            adapter = kit.adapter(directory, kubeconfig=str(kubeconfig))
            env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(directory)}

            def run_kubectl(*words: str) -> None:
                done = procs.run([kubectl, *words], timeout=120, env=env)
                if done.returncode != 0:
                    raise SystemExit(f"kubectl {' '.join(words)}: {done.stderr.strip()}")

            release = 1
            for index in range(args.rounds + 1):
                for side in ("wave", "kubectl") if index % 2 == 0 else ("kubectl", "wave"):
                    release += 1
                    tag = f"r{release}"
                    if side == "wave":

                        def sequence(tag: str = tag) -> None:
                            adapter.deploy(Release(id=tag))
                            adapter.rollback()

                    else:

                        def sequence(tag: str = tag) -> None:
                            image = f"app={kit.REPOSITORY}:{tag}"
                            run_kubectl("set", "image", "deployment/web", image)
                            run_kubectl("rollout", "status", "deployment/web", "--timeout=120s")
                            run_kubectl("rollout", "undo", "deployment/web")
                            run_kubectl("rollout", "status", "deployment/web", "--timeout=120s")

                    result = measure(fake, sequence)
                    if index > 0:
                        rows[side].append(result)
            adapter.close()
    summary = {}
    for side, results in rows.items():
        summary[side] = {
            key: round(statistics.median(r[key] for r in results), 4)
            for key in ("requests", "bytes", "seconds")
        }
        summary[side]["runs"] = results
    wave, peer = summary["wave"], summary["kubectl"]
    goals = [
        {
            "goal": "no more HTTP requests than kubectl for deploy + wait + rollback",
            "wave": wave["requests"],
            "kubectl": peer["requests"],
            "result": "PASS" if wave["requests"] <= peer["requests"] else "MISS",
        },
        {
            "goal": "wall time within 1.2x kubectl's",
            "ratio": round(wave["seconds"] / peer["seconds"], 2),
            "result": "PASS" if wave["seconds"] <= 1.2 * peer["seconds"] else "MISS",
        },
    ]
    print(f"{'side':<8} {'requests':>9} {'bytes':>9} {'seconds':>8}")
    for side in ("wave", "kubectl"):
        s = summary[side]
        print(f"{side:<8} {s['requests']:>9.0f} {s['bytes']:>9.0f} {s['seconds']:>8.3f}")
    print()
    for goal in goals:
        print(f"{goal['result']}: {goal['goal']}")
    result = {
        "benchmark": "k8s_requests",
        "settings": {"rounds": args.rounds, "kubectl": kubectl},
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "summary": summary,
        "goals": goals,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
