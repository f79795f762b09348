"""Releases as image tags of one Deployment: set image, rollout status, rollout undo.

A release ``r7`` of a target with ``containers = { app = "registry/shop/web" }`` is the
Deployment running ``registry/shop/web:r7`` in its container ``app``. The Deployment
controller keeps one ReplicaSet per pod template, numbered by revision, so the releases a
target keeps are its ReplicaSets (``revisionHistoryLimit`` of them) and a rollback is
``kubectl rollout undo``: the same ReplicaSet runs again, its revision advanced.

* **deploy** (``kubectl set image`` + ``rollout status``): build and push the image when
  the target has a build context; one strategic-merge patch of the listed containers'
  images with the ``kubernetes.io/change-cause`` annotation (sidecars untouched; no patch
  at all when the images are already the release's); then wait as ``kubectl rollout
  status`` decides (:mod:`~wave_sdk_kubernetes.watching`). A rollout that fails names its
  pods' reasons (``CrashLoopBackOff`` …), and the pipeline rolls back.
* **rollback** (``kubectl rollout undo [--to-revision]``): the previous revision, or the
  newest revision whose template runs the named release
  (:mod:`~wave_sdk_kubernetes.rollout`), then the same wait.
* **status** (``rollout history``, ``get deployment``) and **health** (``Available``, the
  pods of the live ReplicaSet and what keeps them from being ready).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from wave_sdk.adapter import Adapter, TargetContext
from wave_sdk.errors import AdapterError, ReleaseNotFound
from wave_sdk.models import DeployResult, HealthResult, Release, RollbackResult, StatusReport
from wave_sdk.reporting import Event
from wave_sdk_kubernetes import health as pods
from wave_sdk_kubernetes import rollout
from wave_sdk_kubernetes.cluster import Cluster
from wave_sdk_kubernetes.config import CHANGE_CAUSE, KubernetesTarget
from wave_sdk_kubernetes.errors import ObjectNotFound, RolloutFailed
from wave_sdk_kubernetes.rollout import Obj, PausedDeployment
from wave_sdk_kubernetes.watching import Rollout


class KubernetesAdapter(Adapter):
    """Deploys to a Kubernetes Deployment; see the module docstring."""

    name = "kubernetes"
    config: KubernetesTarget

    def __init__(self, *, config: KubernetesTarget, context: TargetContext) -> None:
        super().__init__(config=config, context=context)
        self.cluster = Cluster(config, context.root)
        self.cluster.on_retry = lambda line: self._emit(line, level="detail")
        self.last_rollout: Rollout | None = None
        """The wait of the last deploy or rollback (how often its watch resumed …)."""

    def close(self) -> None:
        self.cluster.close()

    @property
    def _where(self) -> str:
        return f"deployment {self.cluster.namespace}/{self.config.deployment}"

    # -- reading -----------------------------------------------------------------------

    def _read(self) -> Obj:
        return self.cluster.call(self.cluster.read_deployment, f"read {self._where}")

    def _replicasets(self, deployment: Obj) -> list[Obj]:
        return self.cluster.call(
            lambda: self.cluster.list_replicasets(deployment),
            f"list the replicasets of {self._where}",
        )

    def _pods(self, deployment: Obj) -> list[Obj]:
        return self.cluster.call(
            lambda: self.cluster.list_pods(deployment), f"list the pods of {self._where}"
        )

    def _release(self, obj: Obj) -> str | None:
        """The release a Deployment's or ReplicaSet's template runs, if it is one of ours."""
        return self.config.release_of(rollout.images(obj).get(self.config.primary))

    def _check_containers(self, deployment: Obj) -> None:
        have = rollout.images(deployment)
        missing = [name for name in self.config.containers if name not in have]
        if missing:
            raise AdapterError(
                f"{self._where} has no container {', '.join(repr(m) for m in missing)} "
                f"(it has {', '.join(repr(h) for h in have) or 'none'})",
                hint="name the Deployment's containers under `containers` in the target",
            )

    # -- deploy ------------------------------------------------------------------------

    def deploy(self, release: Release) -> DeployResult:
        self.cluster.start()
        self._build(release)
        cause = self.config.change_cause.format(
            release=release.id,
            environment=self.context.environment,
            commit=release.commit or release.digest or "",
        )
        wanted = {name: self.config.image(name, release.id) for name in self.config.containers}
        seen: dict[str, Any] = {}

        def set_image() -> Obj:  # retried whole on 409: a fresh read each time
            deployment = self.cluster.read_deployment()
            seen["before"] = deployment
            self._check_containers(deployment)
            if (deployment.get("spec") or {}).get("paused"):
                raise PausedDeployment(
                    f"{self._where} is paused: its rollout would not start",
                    hint=f"kubectl rollout resume deployment/{self.config.deployment}, "
                    "then deploy again",
                )
            live = rollout.images(deployment)
            if all(live[name] == image for name, image in wanted.items()):
                return deployment  # the live images: nothing to change, nothing sent
            patch: Obj = {
                "metadata": {"annotations": {**self.config.annotations, CHANGE_CAUSE: cause}},
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": name, "image": image} for name, image in wanted.items()
                            ]
                        }
                    }
                },
            }
            return self.cluster.patch_deployment(patch)

        deployment = self.cluster.call(set_image, f"set the image of {self._where}")
        previous = self._release(seen["before"])
        changed = deployment is not seen["before"]
        self._emit(
            f"deployment.apps/{self.config.deployment} image updated"
            if changed
            else f"{release.id} is the live image of {self._where}; nothing to change"
        )
        deployment = self._wait(deployment, action="deploy")
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=self.config.url,
            previous=previous,
            message=f"{release.id} rolled out on {self._where} "
            f"(revision {rollout.revision(deployment)})",
            details={"revision": rollout.revision(deployment), "changed": changed},
        )

    def _build(self, release: Release) -> None:
        """Build and push the primary container's image when there is a build context."""
        source = release.source or (
            (self.context.root / self.config.build) if self.config.build else None
        )
        if source is None:
            return
        try:
            from wave_sdk_docker.config import DockerTarget
            from wave_sdk_docker.images import publish
        except ImportError as exc:
            raise AdapterError(
                f"target {self.context.target} has a build context ({source}) but wave-sdk-docker "
                "is not installed to build it",
                hint="pip install 'wave-sdk-kubernetes[build]', or remove `build` and push "
                "the image yourself",
            ) from exc
        build_args: dict[str, str | SecretStr] = dict(self.config.build_args)
        docker = DockerTarget(
            image=self.config.containers[self.config.primary],
            build=str(Path(source)),
            dockerfile=self.config.dockerfile,
            build_args=build_args,
            push=True,
            docker_host=self.config.docker_host,
        )
        publish(docker, release, context=self.context, emit=self._emit)

    def _wait(self, deployment: Obj, *, action: str) -> Obj:
        """Wait for the rollout of ``deployment`` (just written or read); name pod reasons."""
        live = rollout.images(deployment)
        waiting = Rollout(
            self.cluster,
            generation=int((deployment.get("metadata") or {}).get("generation") or 0),
            expect={name: live[name] for name in self.config.containers if name in live},
            emit=lambda line: self._emit(line, step=action),
        )
        self.last_rollout = waiting
        try:
            return waiting.wait(deployment)
        except RolloutFailed as exc:
            why = self._why()
            if why:
                exc.message = f"{exc.message}; {why}"
            if exc.reason != "deleted":
                exc.hint = exc.hint or (
                    f"kubectl describe pods -n {self.cluster.namespace} -l "
                    f"{_selector_hint(deployment)} says more"
                )
            raise

    def _why(self) -> str:
        """The pods of the new ReplicaSet, described, for a failed rollout's message."""
        try:
            self.cluster.start(self.config.request_timeout * 2)
            deployment = self._read()
            new = self._new_replicaset(deployment, self._replicasets(deployment))
            if new is None:
                return ""
            name = str(new["metadata"]["name"])
            seen = pods.pods_seen(pods.owned_by(self._pods(deployment), name))
            return f"replicaset {name}: {seen.describe()}"
        except AdapterError:
            return ""

    def _new_replicaset(self, deployment: Obj, replicasets: list[Obj]) -> Obj | None:
        """``FindNewReplicaSet``: the oldest controlled RS whose template is the Deployment's."""
        matching = [
            rs
            for rs in rollout.controlled(deployment, replicasets)
            if rollout.equal_ignore_hash(rollout.template(rs), rollout.template(deployment))
        ]
        matching.sort(
            key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"])
        )
        return matching[0] if matching else None

    # -- rollback ----------------------------------------------------------------------

    def rollback(self, to: str | None = None) -> RollbackResult:
        self.cluster.start()
        seen: dict[str, Any] = {}

        def undo() -> Obj:  # retried whole on 409: a fresh read each time
            deployment = self.cluster.read_deployment()
            replicasets = self.cluster.list_replicasets(deployment)
            target = rollout.rollback_target(
                deployment, replicasets, self._revision_of(deployment, replicasets, to)
            )
            seen.update(before=deployment, target=target)
            skipped = rollout.check_undo(deployment, target)
            seen["skipped"] = skipped
            if skipped is not None:
                return deployment
            return self.cluster.patch_deployment(rollout.undo_patch(deployment, target))

        deployment = self.cluster.call(undo, f"roll back {self._where}")
        target: Obj = seen["target"]
        message = seen["skipped"] or f"deployment.apps/{self.config.deployment} rolled back"
        self._emit(message, step="rollback")
        deployment = self._wait(deployment, action="rollback")
        return RollbackResult(
            target=self.context.target,
            from_release=self._release(seen["before"]),
            to_release=self._release(target) or to or f"revision {rollout.revision(target)}",
            message=f"{message} (revision {rollout.revision(target)} → "
            f"{rollout.revision(deployment)})"
            if seen["skipped"] is None
            else message,
            details={"revision": rollout.revision(deployment)},
        )

    def _revision_of(self, deployment: Obj, replicasets: list[Obj], to: str | None) -> int:
        """The revision to undo to: 0 (the previous) or the newest that runs release ``to``."""
        if to is None:
            return 0
        found = [
            r.revision
            for r in rollout.history(deployment, replicasets)
            if self.config.release_of(r.images.get(self.config.primary)) == to
        ]
        if not found:
            kept = self._kept(deployment, replicasets)
            raise ReleaseNotFound(
                f"release {to} is not in the rollout history of {self._where} "
                f"(kept: {', '.join(kept) or 'none'})",
                hint=f"deploy it again: wave deploy --release {to} (revisionHistoryLimit "
                "bounds how far back a rollback can go)",
            )
        return max(found)

    def _kept(self, deployment: Obj, replicasets: list[Obj]) -> list[str]:
        """Our releases in the history, newest revision first, each once."""
        kept: list[str] = []
        for entry in reversed(rollout.history(deployment, replicasets)):
            release = self.config.release_of(entry.images.get(self.config.primary))
            if release and release not in kept:
                kept.append(release)
        return kept

    def releases(self) -> list[str]:
        self.cluster.start(self.config.request_timeout * 3)
        try:
            deployment = self._read()
        except ObjectNotFound:
            return []
        return self._kept(deployment, self._replicasets(deployment))

    # -- status and health -------------------------------------------------------------

    def status(self) -> StatusReport:
        self.cluster.start(self.config.request_timeout * 3)
        try:
            deployment = self._read()
        except ObjectNotFound:
            return StatusReport(
                target=self.context.target,
                adapter=self.name,
                current=None,
                state="absent",
                url=self.config.url,
                details={"deployment": self._where, "exists": False},
            )
        replicasets = self._replicasets(deployment)
        spec: Obj = deployment.get("spec") or {}
        status: Obj = deployment.get("status") or {}
        state = rollout.rollout_state(deployment)
        ok, _ = pods.available(deployment)
        wanted = int(spec["replicas"]) if spec.get("replicas") is not None else 1
        ready = int(status.get("availableReplicas") or 0)
        if wanted == 0 or ready == 0:
            word = "stopped"
        elif state.done and ok and ready >= wanted:
            word = "running"
        else:
            word = "degraded"
        details: dict[str, Any] = {
            "deployment": self._where,
            "revision": rollout.revision(deployment),
            "images": rollout.images(deployment),
            "paused": bool(spec.get("paused")),
            "rollout": state.message,
            "replicas": {
                "desired": wanted,
                "current": int(status.get("replicas") or 0),
                "updated": int(status.get("updatedReplicas") or 0),
                "ready": int(status.get("readyReplicas") or 0),
                "available": ready,
            },
            "conditions": [
                {k: c.get(k) for k in ("type", "status", "reason", "message")}
                for c in status.get("conditions") or []
            ],
            "history": [r.to_dict() for r in rollout.history(deployment, replicasets)],
        }
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=self._release(deployment),
            state=word,
            url=self.config.url,
            releases=tuple(self._kept(deployment, replicasets)),
            details=details,
        )

    def health(self) -> list[HealthResult]:
        self.cluster.start(self.config.request_timeout * 3)
        try:
            deployment = self._read()
        except ObjectNotFound as exc:
            return [HealthResult(source=self.name, name="deployment", ok=False, detail=str(exc))]
        ok, why = pods.available(deployment)
        state = rollout.rollout_state(deployment)
        results = [
            HealthResult(
                source=self.name,
                name=f"deployment/{self.config.deployment}",
                ok=ok,
                detail=f"Available={'True' if ok else 'False'} ({why}); {state.message}",
            )
        ]
        new = self._new_replicaset(deployment, self._replicasets(deployment))
        wanted = int((deployment.get("spec") or {}).get("replicas") or 0)
        if new is None:
            seen = pods.PodsSeen()
            detail = "no ReplicaSet runs the Deployment's template yet"
        else:
            name = str(new["metadata"]["name"])
            seen = pods.pods_seen(pods.owned_by(self._pods(deployment), name))
            detail = f"replicaset {name}: {seen.describe()}"
        bad = any(reason in pods.NAMED_REASONS for reason in seen.reasons)
        results.append(
            HealthResult(
                source=self.name,
                name="pods",
                ok=wanted > 0 and seen.ready >= wanted and not bad,
                detail=detail,
            )
        )
        return results

    # -- helpers -----------------------------------------------------------------------

    def _emit(self, message: str, *, step: str = "deploy", level: str = "info") -> None:
        self.context.reporter.emit(Event(level, step, message))


def _selector_hint(deployment: Obj) -> str:
    from wave_sdk_kubernetes.cluster import selector

    return selector(deployment) or "<the Deployment's selector>"
