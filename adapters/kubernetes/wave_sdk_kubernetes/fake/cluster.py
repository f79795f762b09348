"""The fake cluster as a test holds it: server, store, controllers, clock and hooks.

Stepping. Nothing moves unless asked, so a test can see every intermediate state (e.g.
``observedGeneration < generation`` right after a PATCH):

* :meth:`FakeCluster.step` runs one pass of every controller (kubelet, ReplicaSet,
  Deployment); :meth:`run_until` steps until a predicate over the store holds;
  :meth:`settle` steps until a pass changes nothing.
* ``step_on_watch=True``: a watch that has sent everything and waits makes the fake step
  once — a blocking client (the adapter's wait, ``kubectl rollout status``) drives the
  rollout exactly as fast as it reads it, with no sleeping and no timer race.
* ``auto_step=seconds``: a background thread steps on the real clock (the program does).

``advance_per_step`` moves a :class:`~.clock.ManualClock` by that many seconds each
step, so a progress deadline of 600 s passes in a few steps.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wave_sdk_kubernetes.fake.clock import Clock, ManualClock
from wave_sdk_kubernetes.fake.controller import DeploymentController
from wave_sdk_kubernetes.fake.faults import Fault, Faults, RequestLog
from wave_sdk_kubernetes.fake.objects import Obj
from wave_sdk_kubernetes.fake.replicasets import Behaviour, PodPolicy, ReplicaSetController
from wave_sdk_kubernetes.fake.server import Server
from wave_sdk_kubernetes.fake.store import Store
from wave_sdk_kubernetes.fake.watch import WatchSession


class NotSettled(AssertionError):
    """:meth:`FakeCluster.run_until` ran out of steps before its condition held."""


class FakeCluster:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ready_after: int = 1,
        step_on_watch: bool = False,
        auto_step: float | None = None,
        advance_per_step: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.clock = clock if clock is not None else ManualClock()
        self.store = Store(self.clock)
        for namespace in ("default", "kube-node-lease", "kube-public", "kube-system"):
            self.store.create("namespaces", "", {"metadata": {"name": namespace}})
        self.policy = PodPolicy(ready_after)
        self.faults = Faults()
        self.requests = RequestLog()
        self.replicasets = ReplicaSetController(self.store, self.policy)
        self.deployments = DeploymentController(self.store)
        self.step_on_watch = step_on_watch
        self.advance_per_step = advance_per_step
        self.steps = 0
        self._auto_step = auto_step
        self._address = (host, port)
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._watches: set[WatchSession] = set()
        self._watch_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeCluster:
        self._server = Server(self, *self._address)
        serve = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-k8s-http", daemon=True
        )
        serve.start()
        self._threads.append(serve)
        if self._auto_step:
            ticker = threading.Thread(
                target=self._tick, args=(self._auto_step,), name="fake-k8s-controller", daemon=True
            )
            ticker.start()
            self._threads.append(ticker)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.drop_watches()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the cluster first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: str | os.PathLike[str], namespace: str = "default") -> Path:
        """A kubeconfig (JSON, which is YAML) whose current context is this server."""
        target = Path(path)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "wave-fake", "cluster": {"server": self.url}}],
            "users": [{"name": "wave-fake", "user": {"token": "wave-fake-token"}}],
            "contexts": [
                {
                    "name": "wave-fake",
                    "context": {
                        "cluster": "wave-fake",
                        "user": "wave-fake",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": "wave-fake",
        }
        target.write_text(json.dumps(config, indent=2) + "\n")
        target.chmod(0o600)
        return target

    # -- stepping ------------------------------------------------------------------------

    def step(self, n: int = 1) -> None:
        """``n`` passes of the kubelet, the ReplicaSet and the Deployment controllers."""
        for _ in range(n):
            with self.store.lock:
                if isinstance(self.clock, ManualClock) and self.advance_per_step:
                    self.clock.advance(self.advance_per_step)
                self.replicasets.step()
                self.deployments.sync_all()
                self.steps += 1

    def settle(self, max_steps: int = 200) -> int:
        """Step until a pass writes nothing; the number of steps taken."""
        for taken in range(1, max_steps + 1):
            before = self.store.rv
            self.step()
            if self.store.rv == before:
                return taken
        raise NotSettled(f"still changing after {max_steps} steps")

    def run_until(self, predicate: Callable[[FakeCluster], bool], max_steps: int = 200) -> int:
        """Step until ``predicate(self)`` holds (checked before each step); steps taken."""
        for taken in range(max_steps + 1):
            if predicate(self):
                return taken
            self.step()
        raise NotSettled(f"condition not reached in {max_steps} steps")

    def advance(self, seconds: float) -> None:
        """Move the manual clock (progress deadlines are decided on it)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("the cluster runs on the real clock")
        self.clock.advance(seconds)

    def _tick(self, interval: float) -> None:
        while not self._stopping.wait(interval):
            self.step()

    # -- hooks ---------------------------------------------------------------------------

    def pod_behaviour(self, image_glob: str, behaviour: str, ready_after: int = 1) -> None:
        """Pods whose image matches ``image_glob`` behave so (see :mod:`.replicasets`)."""
        self.policy.set(image_glob, Behaviour(behaviour, ready_after))

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        message: str | None = None,
        watch: bool | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``, changing nothing.

        ``status=0`` drops the connection unanswered; 410 on a watch is an ERROR event.
        """
        self.faults.add(
            Fault(
                method.upper(), re.compile(path_regex), status, times, retry_after, message, watch
            )
        )

    def expire_watches(self) -> None:
        """Every open watch gets ERROR 410 Expired, and history is compacted.

        Resuming from an old resourceVersion gets 410 too: the client must list again.
        """
        self.store.compact()
        self._flag("expire")

    def drop_watches(self) -> None:
        """Every open watch's connection is cut mid-stream (no terminating chunk)."""
        self._flag("drop")

    def send_bookmarks(self) -> None:
        """Every open watch that allowed bookmarks gets a BOOKMARK at the current version."""
        self._flag("bookmark")

    def open_watches(self) -> int:
        with self._watch_lock:
            return len(self._watches)

    def _flag(self, name: str) -> None:
        with self._watch_lock:
            for session in self._watches:
                setattr(session, name, True)
        with self.store.lock:
            self.store.lock.notify_all()

    def watch_opened(self, session: WatchSession) -> None:
        with self._watch_lock:
            self._watches.add(session)

    def watch_closed(self, session: WatchSession) -> None:
        with self._watch_lock:
            self._watches.discard(session)
        session.done.set()

    def watch_idle(self) -> bool:
        """A watch waits with nothing to send: step if so configured; True if that wrote."""
        if not self.step_on_watch or self._stopping.is_set():
            return False
        before = self.store.rv
        self.step()
        return self.store.rv != before

    # -- reading state -------------------------------------------------------------------

    def get(self, plural: str, name: str, namespace: str = "default") -> Obj:
        return self.store.get(plural, namespace, name)

    def objects(self, plural: str, namespace: str | None = "default") -> list[Obj]:
        return self.store.list(plural, namespace)[0]

    def create(self, plural: str, body: Obj, namespace: str = "default") -> Obj:
        return self.store.create(plural, namespace, body)

    def stats(self, since: int = 0) -> dict[str, Any]:
        """Requests, bytes (bodies both ways) and counts per method, from log entry ``since``.

        For benches: ``mark = len(fake.requests.entries())`` before a sequence, then
        ``fake.stats(mark)`` after it.
        """
        entries = self.requests.entries()[since:]
        by_method: dict[str, int] = {}
        for e in entries:
            by_method[e.method] = by_method.get(e.method, 0) + 1
        return {
            "requests": len(entries),
            "bytes": sum(e.bytes for e in entries),
            "by_method": by_method,
        }
