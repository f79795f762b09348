"""Releases as containers on a Docker engine: build, push, recreate, roll back.

Every kept release is one container, labelled with the project, target, environment,
release, deploy id and a hash of its configuration. The live one carries the target's
container name; the others are stopped and named ``<name>--<release>``::

    web          v3   running   ← the live release
    web--v2      v2   exited    kept: `wave rollback` starts it again as it was
    web--v1      v1   exited

so a rollback is a stop, two renames and a start: no build, no pull, no registry, and the
exact configuration (environment, command, limits) the release ran with.

A deploy (the ``recreate`` strategy) first makes the release's image present — built from
the context and tagged ``<image>:<release>``, pushed; or pulled — and creates the new
container. Only then does it stop the live one, swap the names and start the new one, and
wait until it is ready: Docker reports it ``healthy`` when it has a health check, else its
port accepts connections. A container that exits at start (or never gets ready) is removed,
the previous one is renamed back and started again, and the error quotes the exit code and
the last lines of its log. Retention removes the oldest stopped releases beyond ``keep`` —
never the live one or the one before it — and untags their images.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shlex
import signal
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from wave_sdk.adapter import LOG_BYTES, Adapter, TargetContext
from wave_sdk.adapter import LOG_LINES as LOGS_LIMIT
from wave_sdk.errors import AdapterError, ReleaseNotFound, RollbackUnavailable
from wave_sdk.logs import split_lines
from wave_sdk.models import (
    DeployResult,
    HealthResult,
    Release,
    RollbackResult,
    StatusReport,
    new_deploy_id,
    utcnow,
)
from wave_sdk.reporting import Event
from wave_sdk_docker import containers, engine
from wave_sdk_docker.config import DockerTarget
from wave_sdk_docker.containers import (
    CONFIG,
    DEPLOY_ID,
    DEPLOYED_AT,
    ENVIRONMENT,
    PROJECT,
    RELEASE,
    TARGET,
    Inventory,
    Kept,
    default_name,
    kept_name,
)
from wave_sdk_docker.errors import (
    ContainerExited,
    DaemonUnreachable,
    PortTaken,
    docker_errors,
)
from wave_sdk_docker.images import Images

if TYPE_CHECKING:
    from collections.abc import Iterable

    from docker import APIClient

LOG_LINES = 10
"""Lines of a failed container's log quoted in the error."""
POLL = 0.02
"""Seconds between looks at a starting container (an inspect costs ~2 ms on a socket)."""
STEADY = 1.0
"""A container with neither a health check nor a port must stay up this long to count as started."""


@dataclass(frozen=True)
class Spec:
    """What ``create_container`` receives for a release, and the hash that identifies it."""

    kwargs: dict[str, Any]
    digest: str


class DockerAdapter(Adapter):
    """Deploys to a Docker engine; see the module docstring."""

    name = "docker"
    config: DockerTarget

    def __init__(self, *, config: DockerTarget, context: TargetContext) -> None:
        super().__init__(config=config, context=context)
        self.container = config.name or default_name(context.project, context.target)
        self._api: APIClient | None = None
        self._deploy_id = new_deploy_id()
        # The release a deploy of this command tried: when it failed before replacing the
        # live one, the rollback the pipeline then asks for has nothing left to do, and
        # reports where it came from.
        self._attempted: str | None = None

    # -- the engine --------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Where the engine is, as the user would write it."""
        return engine.endpoint(self.config)

    @property
    def api(self) -> APIClient:
        """The engine's API client, connected on first use (never in ``__init__``)."""
        if self._api is None:
            self._api = engine.connect(self.config)
        return self._api

    def _errors(self, action: str, **image: str | None) -> contextlib.AbstractContextManager[None]:
        return docker_errors(action, endpoint=self.endpoint, **image)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    # -- what is there -----------------------------------------------------------------

    def inventory(self) -> Inventory:
        """The target's containers (one list call)."""
        with self._errors("list containers"):
            return containers.inventory(
                self.api,
                project=self.context.project,
                target=self.context.target,
                container=self.container,
            )

    @property
    def images(self) -> Images:
        return Images(self.api, config=self.config, context=self.context, emit=self._emit)

    def _kept_name(self, release: str) -> str:
        return kept_name(self.container, release)

    def releases(self) -> list[str]:
        return self.inventory().releases

    # -- containers --------------------------------------------------------------------

    def _labels(self, release: str) -> dict[str, str]:
        return {
            PROJECT: self.context.project,
            TARGET: self.context.target,
            ENVIRONMENT: self.context.environment,
            RELEASE: release,
        }

    def spec(self, release: Release, image_id: str) -> Spec:
        """The container ``release`` runs as; its digest changes with any setting."""
        config = self.config
        env: dict[str, str] = {}
        inside = _container_port(config) or config.port  # where the app listens
        if inside is not None:
            env["PORT"] = str(inside)
        env.update({k: _plain(v) for k, v in config.env.items()})
        command = shlex.split(config.command) if isinstance(config.command, str) else config.command
        bindings: dict[str, Any] = {}
        for container_port, host in config.ports.items():
            ip, _, host_port = str(host).rpartition(":")
            bindings[container_port] = (ip.strip("[]"), int(host_port)) if ip else int(host_port)
        restart = (
            None
            if config.restart == "no"
            else {
                "Name": config.restart,
                **(
                    {"MaximumRetryCount": config.max_restarts}
                    if config.restart == "on-failure"
                    else {}
                ),
            }
        )
        host_config = {
            "network_mode": config.network,
            "port_bindings": bindings or None,
            "binds": [self._volume(v) for v in config.volumes] or None,
            "restart_policy": restart,
            "mem_limit": config.memory,
            "nano_cpus": int(config.cpus * 1e9) if config.cpus else None,
            "init": config.init or None,
        }
        healthcheck = None
        if config.healthcheck is not None:
            check = config.healthcheck
            healthcheck = {
                "test": ["CMD", *check.test],
                "interval": int(check.interval * 1e9),
                "timeout": int(check.timeout * 1e9),
                "retries": check.retries,
                "start_period": int(check.start_period * 1e9),
            }
        kwargs: dict[str, Any] = {
            "image": config.reference(release.id),
            "command": command,
            "entrypoint": config.entrypoint,
            "environment": env,
            "user": config.user,
            "ports": list(bindings) or None,
            "host_config": host_config,
            "healthcheck": healthcheck,
            "labels": {**config.labels, **self._labels(release.id)},
        }
        # Secrets take part as they are: `docker inspect` shows the environment anyway.
        digest = hashlib.sha256(
            json.dumps([kwargs, image_id], sort_keys=True).encode()
        ).hexdigest()[:16]
        return Spec(kwargs=kwargs, digest=digest)

    def _volume(self, volume: str) -> str:
        source, _, rest = volume.partition(":")
        if source.startswith("."):
            source = str((self.context.root / source).resolve())
        return f"{source}:{rest}"

    def _create(self, release: Release, spec: Spec) -> Kept:
        options = dict(spec.kwargs)
        host = self.api.create_host_config(**options.pop("host_config"))
        labels = {
            **options.pop("labels"),
            # The pipeline's run id when the release carries one, else this command's.
            DEPLOY_ID: str(release.metadata.get("deploy_id") or self._deploy_id),
            DEPLOYED_AT: utcnow().isoformat(timespec="milliseconds"),
            CONFIG: spec.digest,
        }
        check = options.pop("healthcheck")
        name = self._kept_name(release.id)
        with self._errors(f"create the container {name}"):
            created = self.api.create_container(
                name=name,
                host_config=host,
                labels=labels,
                healthcheck=check,
                detach=True,
                **options,
            )
        return Kept(
            id=created["Id"],
            name=name,
            release=release.id,
            state="created",
            image_id="",
            labels=labels,
        )

    def _inspect(self, container: str) -> dict[str, Any] | None:
        with self._errors(f"inspect the container {container}"):
            try:
                info: dict[str, Any] = self.api.inspect_container(container)
            except Exception as exc:
                if engine.is_not_found(exc):
                    return None
                raise
        return info

    def _stop(self, kept: Kept) -> None:
        with self._errors(f"stop the container {kept.name}"):
            self.api.stop(kept.id, timeout=self.config.stop_timeout)

    def _rename(self, kept: Kept, name: str) -> None:
        with self._errors(f"rename the container {kept.name} to {name}"):
            self.api.rename(kept.id, name)

    def _remove(self, kept: Kept) -> None:
        with self._errors(f"remove the container {kept.name}"):
            try:
                self.api.remove_container(kept.id, force=True)
            except Exception as exc:
                if not engine.is_not_found(exc):  # already gone is as good as removed
                    raise

    def _logs(self, container: str) -> list[str]:
        try:
            with self._errors(f"read the log of {container}"):
                raw: bytes = self.api.logs(container, stdout=True, stderr=True, tail=LOG_LINES)
        except DaemonUnreachable:
            raise  # the engine went away: that, not the container, is the news
        except AdapterError:
            return ["(log unavailable)"]
        lines = [
            line.rstrip() for line in raw.decode(errors="replace").splitlines() if line.strip()
        ]
        return lines[-LOG_LINES:] or ["(empty log)"]

    # -- making a container live -------------------------------------------------------

    def _activate(
        self, new: Kept, live: Kept | None, *, created: bool, replace: bool, step: str = "deploy"
    ) -> None:
        """Make ``new`` the live container; on failure, put ``live`` back and raise.

        ``live`` is stopped and parked under its kept name, or — with ``replace`` (a
        rollback away from it, or the same release with another configuration) — under a
        temporary one, and removed once ``new`` is ready. ``created``: ``new`` was made for
        this deploy and is removed if it fails; a kept container that fails stays kept.
        """
        was_running = live is not None and live.running
        stopped = parked = renamed = False
        try:
            if live is not None:
                self._emit(f"stopping {live.release} ({live.name})", step=step)
                self._stop(live)
                stopped = True
                suffix = f"--{live.id[:12]}" if replace else ""
                self._rename(live, self._kept_name(live.release) + suffix)
                parked = True
            self._check_port_free()
            self._rename(new, self.container)
            renamed = True
            self._start(new, step=step)
        except DaemonUnreachable as exc:
            if stopped and live is not None:  # nothing can be undone without the engine
                exc.message += (
                    f"; {new.release} was being started and {live.release} was stopped "
                    "(see `wave status` once the engine is back)"
                )
            raise
        except AdapterError as exc:
            restored = self._undo(
                new,
                live if stopped else None,
                created=created,
                renamed=renamed,
                parked=parked,
                restart=was_running,
            )
            if restored:  # same error, same class; the message says what state it left
                exc.message = f"{exc.message}; {restored}"
            raise
        if live is not None and replace:
            self._remove(live)

    def _undo(
        self,
        new: Kept,
        live: Kept | None,
        *,
        created: bool,
        renamed: bool,
        parked: bool,
        restart: bool,
    ) -> str:
        """Put the previous release back after a failed start; say what was done."""
        problems: list[str] = []
        try:
            if created:
                self._remove(new)  # its log is quoted in the error already
            else:
                self._stop(new)  # a kept release that failed to start stays kept
                if renamed:
                    self._rename(new, self._kept_name(new.release))
        except AdapterError as exc:
            problems.append(str(exc))
        if live is None:
            return "; ".join(problems)
        try:
            if parked:
                self._rename(live, self.container)
            if restart:
                with self._errors(f"start the container {self.container}"):
                    self.api.start(live.id)
        except AdapterError as exc:
            return f"and putting {live.release} back failed: {exc}"
        state = "left running" if restart else "left in place (it was not running)"
        return f"previous release {live.release} {state}" + (
            f" ({'; '.join(problems)})" if problems else ""
        )

    def _check_port_free(self) -> None:
        port = self.config.release_port
        if self.config.network != "host" or port is None:
            return  # published ports: the engine itself refuses a taken one
        if _port_open(self.config.url_host, port):
            raise PortTaken(
                f"port {port} on {self.config.url_host} is already taken by a process that is "
                f"not a release of target {self.context.target}",
                hint="stop it, or choose another `port` for the target",
            )

    def _start(self, kept: Kept, *, step: str = "deploy") -> None:
        """Start a container and wait until it is ready (see :meth:`_wait_ready`)."""
        # A kept container remembers the restarts of its earlier life; only new ones count.
        baseline = 0
        if kept.state != "created":
            baseline = int((self._inspect(kept.id) or {}).get("RestartCount") or 0)
        self._emit(f"starting {kept.release} as {self.container}", step=step)
        with self._errors(f"start the container {self.container}"):
            self.api.start(kept.id)
        self._wait_ready(kept, baseline)

    def _wait_ready(self, kept: Kept, baseline: int) -> None:
        """Until the container is healthy (or listening, or steady); raise if it exits."""
        config = self.config
        port = config.release_port
        started = time.monotonic()
        deadline = started + config.start_timeout
        while True:
            info = self._inspect(kept.id)
            if info is None:
                raise AdapterError(f"the container of release {kept.release} disappeared at start")
            state: dict[str, Any] = info.get("State") or {}
            status = state.get("Status")
            restarts = int(info.get("RestartCount") or 0) - baseline
            if status in ("exited", "dead") or state.get("Restarting") or restarts > 0:
                code = state.get("ExitCode")
                lines = self._logs(kept.id)
                raise ContainerExited(
                    f"release {kept.release} exited at start with code {_exit_code(code)}; "
                    f"last log lines: {' | '.join(lines)}",
                    exit_status=code,
                    hint="run it by hand to see more: docker run --rm "
                    + config.reference(kept.release),
                )
            health = state.get("Health")
            if status == "running":
                if health and config.wait_healthy:
                    if health.get("Status") == "healthy":
                        return
                    if health.get("Status") == "unhealthy":
                        raise AdapterError(
                            f"release {kept.release} is unhealthy: {_health_output(health)}",
                            hint="see the image's HEALTHCHECK (or `healthcheck`) and the app's log",
                        )
                elif port is not None:
                    if _port_open(config.url_host, port):
                        return
                elif time.monotonic() - started >= STEADY:
                    return
            if time.monotonic() > deadline:
                what = (
                    "healthy"
                    if health and config.wait_healthy
                    else f"listening on {config.url_host}:{port}"
                    if port
                    else "steady"
                )
                raise AdapterError(
                    f"release {kept.release} was not {what} within {config.start_timeout:g}s; "
                    f"last log lines: {' | '.join(self._logs(kept.id))}",
                    hint="raise start_timeout, or check that the app listens on $PORT",
                )
            time.sleep(POLL)

    def _prune(self, protect: Iterable[str | None]) -> list[str]:
        """Remove kept releases beyond ``keep`` (never a protected one); return them."""
        protected = {p for p in protect if p}
        inventory = self.inventory()
        for stray in inventory.stray:
            if not stray.running:
                self._remove(stray)
        removed: list[str] = []
        for kept in inventory.kept[self.config.keep :]:
            if kept is inventory.live or kept.release in protected:
                continue
            self._remove(kept)
            removed.append(kept.release)
            if self.config.prune_images:
                self.images.untag(kept.release)
        if removed:
            self._emit(f"retention: removed {', '.join(removed)} (keep = {self.config.keep})")
        return removed

    # -- the Adapter interface ---------------------------------------------------------

    @property
    def url(self) -> str | None:
        if self.config.url:
            return self.config.url
        port = self.config.release_port
        return f"http://{self.config.url_host}:{port}" if port else None

    def deploy(self, release: Release) -> DeployResult:
        self._attempted = release.id
        inventory = self.inventory()
        live = inventory.live
        previous = live.release if live else None
        if live is None:
            self._check_name_free()
        info = self.images.ensure(release)
        spec = self.spec(release, str(info["Id"]))
        if live is not None and live.release == release.id and live.config_hash == spec.digest:
            if live.running:
                return self._result(release, previous, "already live; nothing to do")
            self._emit(f"{release.id} is live but stopped: starting it again")
            self._start(live)
            return self._result(release, previous, f"{release.id} started again")
        reuse = inventory.find(release.id)
        if reuse is live or (reuse is not None and reuse.config_hash != spec.digest):
            if reuse is not live and reuse is not None:
                self._remove(reuse)  # same release, other settings: make it anew
            reuse = None
        created = reuse is None
        new = reuse or self._create(release, spec)
        self._activate(new, live, created=created, replace=previous == release.id)
        pruned = self._prune(protect=(release.id, previous, *self.context.protected))
        return self._result(
            release,
            previous,
            f"{release.id} running as {self.container} ({new.id[:12]})",
            details={"container": new.id[:12], "image": info["Id"], "pruned": pruned},
        )

    def _result(
        self,
        release: Release,
        previous: str | None,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> DeployResult:
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=self.url,
            previous=previous,
            message=message,
            details=details or {},
        )

    def _check_name_free(self) -> None:
        info = self._inspect(self.container)
        if info is not None:
            labels = (info.get("Config") or {}).get("Labels") or {}
            owner = f"{labels.get(PROJECT)}/{labels.get(TARGET)}" if RELEASE in labels else None
            whose = f"a release of {owner}" if owner else "not made by wave"
            raise AdapterError(
                f"a container named {self.container} already exists ({whose})",
                hint="remove or rename it, or set `name` for the target",
            )

    def rollback(self, to: str | None = None) -> RollbackResult:
        inventory = self.inventory()
        live = inventory.live
        current = live.release if live else None
        if to is not None and to == current and live is not None:
            came_from = self._attempted or current
            if not live.running:
                self._start(live, step="rollback")
            return RollbackResult(
                target=self.context.target,
                from_release=came_from,
                to_release=to,
                message=f"{to} is live"
                + (f" ({came_from} never replaced it)" if came_from != to else ""),
            )
        if to is None:
            candidates = [k for k in inventory.kept if k is not live]
            if not candidates:
                raise RollbackUnavailable(
                    f"target {self.context.target} keeps no release besides {current or 'none'}",
                    hint="deploy an earlier release by id instead: wave deploy --release ID",
                )
            goal = candidates[0]
        else:
            found = inventory.find(to)
            if found is None:
                raise ReleaseNotFound(
                    f"release {to} is not kept on target {self.context.target} "
                    f"(engine {self.endpoint})",
                    hint=f"kept: {', '.join(inventory.releases) or 'none'}; or deploy it "
                    f"again: wave deploy --release {to}",
                )
            goal = found
        self._activate(goal, live, created=False, replace=True, step="rollback")
        return RollbackResult(
            target=self.context.target,
            from_release=current,
            to_release=goal.release,
            message=f"{goal.release} running as {self.container} ({goal.id[:12]})",
        )

    def logs(self, since: datetime, *, limit: int = LOGS_LIMIT) -> list[str]:
        """The live container's lines since ``since``: ``docker logs --since … --tail limit``.

        The engine stamps every line, so ``since`` is exact (to the engine's clock); each
        kept release is its own container, so an earlier release's lines never come back.
        ``--tail`` bounds the read; what arrives is cut to :data:`LOG_BYTES` as well.
        """
        live = self.inventory().live
        if live is None:
            raise AdapterError(
                f"no live container for target {self.context.target}: no log to read",
                hint=f"deploy first: wave deploy --env {self.context.environment}",
            )
        with self._errors(f"read the log of {live.name}"):
            raw: bytes = self.api.logs(
                live.id, stdout=True, stderr=True, since=since.timestamp(), tail=max(1, limit)
            )
        return split_lines(raw[-LOG_BYTES:], cut=len(raw) > LOG_BYTES, limit=limit)

    def status(self) -> StatusReport:
        inventory = self.inventory()
        live = inventory.live
        details: dict[str, Any] = {
            "engine": self.endpoint,
            "container_name": self.container,
            "kept": [
                {"release": k.release, "container": k.id[:12], "name": k.name, "state": k.state}
                for k in inventory.kept
            ],
        }
        state = "absent"
        if live is not None:
            info = self._inspect(live.id) or {}
            st: dict[str, Any] = info.get("State") or {}
            health = (st.get("Health") or {}).get("Status")
            details.update(
                {
                    "container": live.id[:12],
                    "release": live.release,
                    "image": (info.get("Config") or {}).get("Image"),
                    "image_id": live.image_id,
                    "digest": self.images.digest(live.image_id) if live.image_id else None,
                    "health": health,
                    "started_at": st.get("StartedAt"),
                    "restart_count": info.get("RestartCount", 0),
                    "deploy_id": live.labels.get(DEPLOY_ID),
                    "environment": live.labels.get(ENVIRONMENT),
                }
            )
            if st.get("Running") and not st.get("Restarting"):
                state = "degraded" if health == "unhealthy" else "running"
            elif st.get("Restarting"):
                state = "degraded"
            else:
                state = "stopped"
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=live.release if live else None,
            state=state,
            url=self.url,
            releases=tuple(inventory.releases),
            details=details,
        )

    def health(self) -> list[HealthResult]:
        info = self._inspect(self.container)
        labels = ((info or {}).get("Config") or {}).get("Labels") or {}
        ours = (labels.get(PROJECT), labels.get(TARGET)) == (
            self.context.project,
            self.context.target,
        )
        if info is None or not ours:
            return [
                HealthResult(
                    source=self.name,
                    name="container",
                    ok=False,
                    detail=f"no container {self.container} of this target",
                )
            ]
        state: dict[str, Any] = info.get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        running = bool(state.get("Running")) and not state.get("Restarting")
        ok = running and health in (None, "healthy")
        words = [
            "running" if running else str(state.get("Status", "unknown")),
            *([f"health {health}"] if health else []),
            f"{info.get('RestartCount', 0)} restarts",
        ]
        if health == "unhealthy":
            words.append(_health_output(state["Health"]))
        return [
            HealthResult(
                source=self.name,
                name="container",
                ok=ok,
                detail=f"{self.container} ({labels.get(RELEASE)}): " + ", ".join(words),
            )
        ]

    # -- helpers -----------------------------------------------------------------------

    def _emit(self, message: str, *, step: str = "deploy") -> None:
        self.context.reporter.emit(Event("info", step, message))


def _plain(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _container_port(config: DockerTarget) -> int | None:
    for key in config.ports:
        return int(key.split("/")[0])
    return None


def _exit_code(code: Any) -> str:
    """``137 (SIGKILL)``: a code above 128 is the signal that ended the process."""
    if isinstance(code, int) and 128 < code < 128 + 65:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(code - 128).name})"
    return str(code)


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _health_output(health: dict[str, Any]) -> str:
    log: list[dict[str, Any]] = health.get("Log") or []
    if not log:
        return "no health check result yet"
    last = log[-1]
    output = " ".join(str(last.get("Output", "")).split())
    return f"last check exited {last.get('ExitCode')}" + (f": {output[:200]}" if output else "")
