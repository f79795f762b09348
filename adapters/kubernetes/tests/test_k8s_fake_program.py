"""``python -m wave_sdk_kubernetes.fake``: a real process on the real clock, stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import k8s_testkit as kit
import pytest
from kubernetes import client, config, watch

from wave_sdk import procs

NS = "default"


def _wait_for(apps: client.AppsV1Api, done: Any, seconds: int) -> dict[str, Any]:
    """The first Deployment event for which ``done`` holds, watched for at most ``seconds``."""
    w = watch.Watch()
    for event in w.stream(
        apps.list_namespaced_deployment, NS, _preload_content=False, timeout_seconds=seconds
    ):
        obj = event["raw_object"]
        if done(obj):
            w.stop()
            return dict(obj)
    raise AssertionError(f"not reached within {seconds}s")


def _rolled_out(d: dict[str, Any]) -> bool:
    s = d.get("status") or {}
    return (
        d["metadata"]["generation"] <= s.get("observedGeneration", 0)
        and s.get("updatedReplicas", 0)
        == s.get("availableReplicas", 0)
        == s.get("replicas", 0)
        == d["spec"]["replicas"]
    )


def test_program_serves_steps_on_the_real_clock_and_exits_on_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    child, url = kit.start_program(kubeconfig, "--pod-behaviour", "app:bad=never-ready")
    with child:
        assert url.startswith("http://127.0.0.1:")
        written = json.loads(kubeconfig.read_text())
        assert written["clusters"][0]["cluster"]["server"] == url
        assert kubeconfig.stat().st_mode & 0o077 == 0
        api = config.new_client_from_config(config_file=str(kubeconfig))
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

        started = time.monotonic()
        apps.create_namespaced_deployment(NS, kit.deployment())
        _wait_for(apps, _rolled_out, 10)
        assert time.monotonic() - started < 5  # pods ready within a second each step round

        patched = apps.patch_namespaced_deployment(
            "web",
            NS,
            {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:bad"}]}}}},
        )
        _wait_for(
            apps,
            lambda d: (
                (d.get("status") or {}).get("observedGeneration", 0) >= patched.metadata.generation
                and d["status"].get("updatedReplicas", 0) >= 1
            ),
            10,
        )

        pod = None
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_pod, NS, label_selector="app=web", timeout_seconds=10
        ):
            candidate = event["object"]
            if (
                candidate.spec.containers[0].image == "app:bad"
                and candidate.status.container_statuses
            ):
                pod = candidate
                w.stop()
        assert pod is not None, "the new pod got no container status within 10s"
        app = pod.status.container_statuses[0]
        # A default pod is ready after its first kubelet pass; this one runs, unready.
        assert app.state.running is not None and not app.ready
        api.close()

        os.kill(child.pid, signal.SIGTERM)
        assert child.wait(10) == 0
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))


def test_program_rejects_bad_arguments_in_one_line(tmp_path: Path) -> None:
    run = procs.run(
        [
            sys.executable,
            "-m",
            "wave_sdk_kubernetes.fake",
            "--kubeconfig",
            str(tmp_path / "k"),
            "--pod-behaviour",
            "app:*=sleepy",
        ],
        timeout=30,
    )
    assert run.returncode == 2
    assert (
        "'app:*=sleepy': expected GLOB=BEHAVIOUR, BEHAVIOUR one of ready, never-ready, "
        "crashloop, image-pull-error" in run.stderr
    )
    unwritable = procs.run(
        [
            sys.executable,
            "-m",
            "wave_sdk_kubernetes.fake",
            "--kubeconfig",
            str(tmp_path / "no" / "such" / "dir"),
        ],
        timeout=30,
    )
    assert unwritable.returncode == 1
    assert (
        unwritable.stderr.startswith("error: cannot write --kubeconfig ")
        and unwritable.stderr.count("\n") == 1
    )
