"""``kubectl rollout status``: watch the Deployment until its rollout is done or failed.

kubectl (``pkg/cmd/rollout/rollout_status.go``) lists the Deployment by name, then watches
it from the list's resourceVersion and evaluates ``Status()`` on every ``ADDED`` /
``MODIFIED`` event, printing its message, until done; ``DELETED`` is an error. wave does
the same, with what an unattended deploy also needs:

* it waits for the generation its own patch produced (``observedGeneration``), and fails
  when the template stops running the images it set: a deploy overtaken by another one
  (kubectl would report the other's rollout as its own). The revision annotation is not
  used for that: the controller may write it after it observed the generation;
* a 410 ``Expired`` (the resourceVersion is too old) or a dropped connection is followed
  by a fresh read and a new watch from there — never by a poll loop; a watch the server
  ends (its ``timeoutSeconds``) is simply started again from the last resourceVersion;
* the deadline (``timeout``) bounds it all, on top of the Deployment's
  ``progressDeadlineSeconds``, whose ``ProgressDeadlineExceeded`` is a failure — unless
  it is the verdict on the rollout *before* ours: after an undo of a rollout that timed
  out, the controller observes the new generation and keeps that condition, unchanged,
  until the restored ReplicaSet makes progress (``DeploymentTimedOut`` returns true for
  a condition that already says so). kubectl, started a moment later, usually sees the
  progress; wave starts watching at once, so it recognises the old condition by its
  ``lastUpdateTime`` (the one the object had when the wait began) and waits on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from wave_sdk_kubernetes.errors import BACKOFF, RETRIED, RolloutFailed, retry_after, translate
from wave_sdk_kubernetes.rollout import Obj, RolloutState, condition, images, rollout_state

if TYPE_CHECKING:
    from wave_sdk_kubernetes.cluster import Cluster

RESUMED_AFTER = 0.05
"""Seconds before watching again after a dropped connection (not a poll: one re-read)."""


class Rollout:
    """One wait for one rollout; ``emit`` hears kubectl's lines, each once."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        generation: int,
        expect: dict[str, str],
        emit: Callable[[str], None],
    ) -> None:
        self.cluster = cluster
        self.generation = generation
        self.expect = expect
        """Container → image the rollout is for; another image there means overtaken."""
        self.emit = emit
        self.said: str | None = None
        self.resumed = 0
        self.stale: object = None
        """``lastUpdateTime`` of a ProgressDeadlineExceeded the object had at the start."""
        """Watches started again after a 410 or a dropped connection (for reports and tests)."""

    def evaluate(self, deployment: Obj) -> RolloutState:
        """The ``Status()`` of kubectl, after the generation of our patch is observed."""
        status: Obj = deployment.get("status") or {}
        live = images(deployment)
        changed = {n: live.get(n) for n, image in self.expect.items() if live.get(n) != image}
        if changed:
            now = ", ".join(f"{n}={image}" for n, image in changed.items())
            state = RolloutState(
                "overtaken",
                f'deployment "{self.cluster.config.deployment}" was changed by someone else '
                f"during its rollout (now {now})",
            )
        elif int(status.get("observedGeneration") or 0) < self.generation:
            state = RolloutState(
                "waiting_observed", "Waiting for deployment spec update to be observed..."
            )
        else:
            state = rollout_state(deployment)
            progressing = condition(deployment, "Progressing") or {}
            if state.kind == "deadline_exceeded" and self.stale == progressing.get(
                "lastUpdateTime"
            ):
                state = RolloutState(
                    "waiting_progress",
                    f'Waiting for deployment "{self.cluster.config.deployment}" rollout to '
                    "make progress (the rollout before it exceeded its progress deadline)...",
                )
        if state.message != self.said:
            self.said = state.message
            self.emit(state.message)
        return state

    def wait(self, deployment: Obj) -> Obj:
        """Watch from ``deployment`` (a fresh read) until done; raise :class:`RolloutFailed`."""
        name = self.cluster.config.deployment
        before = condition(deployment, "Progressing") or {}
        if before.get("reason") == "ProgressDeadlineExceeded":
            self.stale = before.get("lastUpdateTime")
        while True:
            state = self.evaluate(deployment)
            if state.done:
                return deployment
            if state.failed:
                raise RolloutFailed(state.message, reason=state.kind)
            if time.monotonic() >= self.cluster.deadline:
                raise RolloutFailed(
                    f'deployment "{name}" did not finish its rollout within '
                    f"{self.cluster.config.timeout:g}s: {state.message}",
                    reason="timeout",
                )
            deployment = self._follow(deployment)

    def _follow(self, deployment: Obj) -> Obj:
        """Watch until the state is decided or the watch ends; the latest object seen."""
        import urllib3.exceptions
        from kubernetes.client.exceptions import ApiException

        version = str((deployment.get("metadata") or {}).get("resourceVersion") or "")
        try:
            for kind, obj in self.cluster.watch_deployment(version):
                if kind == "DELETED":
                    raise RolloutFailed(
                        f'deployment "{self.cluster.config.deployment}" was deleted during '
                        "its rollout",
                        reason="deleted",
                    )
                if kind in ("ADDED", "MODIFIED"):
                    deployment = obj
                    state = self.evaluate(deployment)
                    if state.done or state.failed:
                        return deployment
                elif kind == "BOOKMARK":
                    meta: Obj = deployment.setdefault("metadata", {})
                    meta["resourceVersion"] = (obj.get("metadata") or {}).get(
                        "resourceVersion", meta.get("resourceVersion")
                    )
                if time.monotonic() >= self.cluster.deadline:
                    return deployment
            return deployment  # the server ended the watch: watch again from here
        except ApiException as exc:
            if exc.status in RETRIED:  # throttled or unavailable: wait as asked, then resume
                left = self.cluster.deadline - time.monotonic()
                time.sleep(max(0.0, min(left, retry_after(exc) or BACKOFF[0])))
            elif exc.status != 410:
                raise translate(
                    exc, action="watch the deployment", server=self.cluster.server
                ) from exc
        except (urllib3.exceptions.HTTPError, OSError):
            time.sleep(RESUMED_AFTER)
        self.resumed += 1
        return self.cluster.call(self.cluster.read_deployment, "read the deployment")
