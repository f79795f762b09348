"""The ``ssh`` adapter: the runbook's manual server deployment, for one host or a hundred.

On every host, the core's :class:`~wave_sdk.releases.ReleaseLayout` over an
:class:`~wave_sdk_ssh.transport.SSHTransport`::

    <deploy_path>/releases/<id>/     the release (REVISION written last: complete or absent)
    <deploy_path>/shared/            .env, uploads … linked into every release
    <deploy_path>/current            -> releases/<id>, switched with ln -sfn + mv -T
    <deploy_path>/revisions.log      one line per switch
    <deploy_path>/repo/              git mirror, when the hosts fetch the code themselves

A deploy goes batch by batch (``batch_size``, default all hosts in one batch); within a
batch, at most ``max_parallel`` hosts at a time. Each batch is first *staged* on all its
hosts (upload or ``git archive``, shared links, build — nothing live changes), then
*switched*: ``current`` moves, the process manager reloads, and the host's own health URL
and process list are checked. Any failure stops the rollout; every host already switched
goes back to the release it ran before, and the error names each host's end state.
"""

from __future__ import annotations

import posixpath
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from wave_sdk.adapter import LOG_LINES, Adapter, TargetContext
from wave_sdk.errors import AdapterError, ReleaseNotFound, RollbackUnavailable, WaveError
from wave_sdk.models import DeployResult, HealthResult, Release, RollbackResult, StatusReport
from wave_sdk.reporting import Event
from wave_sdk_ssh.config import Host, SSHTarget
from wave_sdk_ssh.errors import FleetDeployFailed, HostError
from wave_sdk_ssh.layout import SSHLayout
from wave_sdk_ssh.process import (
    Pm2,
    ProcessManager,
    Systemd,
    parse_df,
    probe_health,
    process_dirs,
    running,
)
from wave_sdk_ssh.rollout import NOT_SWITCHED, HostRun, each, report
from wave_sdk_ssh.transport import ConnectOptions, Session, SSHTransport

_GIT_FETCH = """
set -e
if [ -d "$1/repo" ]; then
  git --git-dir="$1/repo" remote set-url origin "$2"
  git --git-dir="$1/repo" remote update --prune >/dev/null
else
  git clone --quiet --mirror -- "$2" "$1/repo"
fi
commit=$(git --git-dir="$1/repo" rev-parse --verify --quiet "$3^{commit}") || {
  echo "$3 is not a commit of $2" >&2; exit 3; }
mkdir -- "$4"
git --git-dir="$1/repo" archive --format=tar -o "$4.tar" "$commit"
tar -x -f "$4.tar" -C "$4"
rm -f -- "$4.tar"
"""


class SSHAdapter(Adapter):
    """Deploys to servers over SSH; see the module docstring and docs/adapters/ssh.md."""

    name = "ssh"
    config: SSHTarget

    def __init__(self, *, config: SSHTarget, context: TargetContext) -> None:
        super().__init__(config=config, context=context)
        self.hosts: list[Host] = config.resolved_hosts()
        self.manager: ProcessManager
        if config.pm2 is not None:
            self.manager = Pm2(config.pm2)
        else:
            assert config.systemd is not None  # the model validator saw to it
            self.manager = Systemd(config.systemd)
        self._session = Session()
        self._transports: dict[str, SSHTransport] = {}
        self._last_deploy: dict[str, HostRun] | None = None
        self._emit_lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------

    @property
    def options(self) -> ConnectOptions:
        c = self.config
        keys = [self._local_path(c.identity_file)] if c.identity_file else []
        return ConnectOptions(
            known_hosts=self._local_path(c.known_hosts) if c.verify_host_keys else None,
            client_keys=tuple(keys),
            passphrase=c.passphrase,
            agent=c.agent,
            connect_timeout=c.connect_timeout,
            keepalive_interval=c.keepalive_interval,
            keepalive_count_max=c.keepalive_count_max,
            command_timeout=c.command_timeout,
        )

    def _local_path(self, value: str) -> str:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else self.context.root / path)

    def transport(self, host: Host) -> SSHTransport:
        """The host's transport: one connection for the adapter's whole life."""
        t = self._transports.get(host.name)
        if t is None:
            options = self.options
            if host.identity_file and host.identity_file != self.config.identity_file:
                options = replace(options, client_keys=(self._local_path(host.identity_file),))
            t = self._transports[host.name] = SSHTransport(host, options, self._session)
        return t

    def _runs(self) -> list[HostRun]:
        return [
            HostRun(host=h, transport=self.transport(h), layout=self._layout(h)) for h in self.hosts
        ]

    def _layout(self, host: Host) -> SSHLayout:
        return SSHLayout(self.transport(host), host.deploy_path)

    def _emit(self, kind: str, message: str, *, step: str = "deploy", **data: Any) -> None:
        with self._emit_lock:  # hosts report from their own threads
            self.context.reporter.emit(Event(kind, step, message, data))

    def close(self) -> None:
        for t in self._transports.values():
            t.close()
        self._transports.clear()
        self._session.close()

    # -- deploy ------------------------------------------------------------------------

    def deploy(self, release: Release) -> DeployResult:
        c = self.config
        if not c.verify_host_keys:
            self._emit("warn", "host keys are NOT verified (verify_host_keys = false)")
        fill = self._source(release)
        runs = self._runs()
        size = c.batch_size or len(runs)
        batches = [runs[i : i + size] for i in range(0, len(runs), size)]
        self._last_deploy = {r.name: r for r in runs}
        failed = False
        for number, batch in enumerate(batches, 1):
            if number > 1 and c.batch_pause:
                self._emit("info", f"pausing {c.batch_pause:g}s before batch {number}")
                time.sleep(c.batch_pause)
            if len(batches) > 1:
                names = ", ".join(r.name for r in batch)
                self._emit("info", f"batch {number}/{len(batches)}: {names}")
            each(
                batch,
                lambda r: self._stage(r, release, fill),
                parallel=c.max_parallel,
                on_error=self._failed,
            )
            if any(r.error for r in batch):
                failed = True
                break
            each(
                batch,
                lambda r: self._activate(r, release.id),
                parallel=c.max_parallel,
                on_error=self._failed,
            )
            if any(r.error for r in batch):
                failed = True
                break
        if failed:
            switched = [r for r in runs if r.state not in NOT_SWITCHED]
            if switched:
                self._emit("info", "rolling back " + ", ".join(r.name for r in switched))
                each(switched, self._undo, parallel=c.max_parallel, on_error=self._undo_failed)
            hosts = {r.name: r.to_dict(release.id) for r in runs}
            bad = sum(1 for r in runs if r.error)
            raise FleetDeployFailed(
                f"deploy of {release.id} failed on {bad} of {len(runs)} hosts: "
                + report(runs, release.id),
                hosts=hosts,
                hint="`wave status` shows every host; fix the host named first and redeploy",
            )
        each(
            runs,
            lambda r: self._prune(r, release.id),
            parallel=c.max_parallel,
            on_error=lambda r, exc: self._emit("warn", f"{r.name}: pruning failed: {exc}"),
        )
        previous = Counter(r.previous for r in runs).most_common(1)[0][0]
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=c.url,
            previous=previous,
            message=f"{release.id} live on {len(runs)} host{'s' * (len(runs) != 1)}",
            details={"hosts": {r.name: r.to_dict(release.id) for r in runs}},
        )

    def _source(self, release: Release) -> Callable[[HostRun], Path | Callable[[str], None]]:
        """How the release reaches a host: an uploaded directory, or git on the host."""
        git = self.config.git
        if git is not None and release.source is None:
            ref = git.ref or release.commit
            if not ref:
                raise AdapterError(
                    f"release {release.id} has no commit to fetch on the hosts",
                    hint="deploy from a git checkout, set git.ref, or pass --source DIR",
                )

            def fetch(run: HostRun) -> Callable[[str], None]:
                def fill(staging: str) -> None:
                    self._emit("info", f"{run.name}: git archive {ref[:12]}")
                    run.transport.run(
                        ["sh", "-c", _GIT_FETCH, "sh", run.host.deploy_path, git.repo, ref, staging]
                    )

                return fill

            return fetch
        source = release.source or (
            self.context.root / self.config.source if self.config.source else None
        )
        if source is None or not Path(source).is_dir():
            raise AdapterError(
                f"no source directory for release {release.id}"
                + (f": {source} does not exist" if source else ""),
                hint="set `source` (or [git]) in the target, or pass --source DIR",
            )
        directory = Path(source)
        # Archived (and its entries checked) now, once: a source wave refuses is refused
        # before any host is touched, and every host gets the same bytes.
        self._session.bundle(directory, self._exclude()).path()
        return lambda run: directory

    def _exclude(self) -> tuple[str, ...]:
        return (".git", ".wave", *self.config.exclude)

    def _stage(
        self,
        run: HostRun,
        release: Release,
        fill: Callable[[HostRun], Path | Callable[[str], None]],
    ) -> None:
        t, layout = run.transport, run.layout
        with run.timed("connect"):
            t.connect()
        run.previous, staged = layout.inspect(release.id)
        run.state = "staged"  # nothing live changes before the switch, whatever happens here
        if staged:
            return
        self._emit("info", f"{run.name}: staging {release.id}")
        build = self._build(run) if self.config.build else None
        with run.timed("stage"):
            layout.stage(
                release.id,
                fill(run),
                linked=self.config.shared,
                exclude=self._exclude(),
                build=build,
            )

    def _build(self, run: HostRun) -> Callable[[str], None]:
        def build(path: str) -> None:
            env = {**run.host.env, "WAVE_RELEASE": posixpath.basename(path)}
            for command in self.config.build:
                self._emit("info", f"{run.name}: {command}")
                run.transport.run(["sh", "-c", command], cwd=path, env=env)

        return build

    def _activate(self, run: HostRun, release_id: str) -> None:
        if run.previous == release_id:
            probe = probe_health(run.transport, run.host.health_url, wait=0)
            if probe.ok:
                run.state, run.health = "unchanged", probe
                return
        with run.timed("switch"):
            run.layout.switch(release_id)
        run.state = "switched"
        self._emit("info", f"{run.name}: reloading {self.manager.name}")
        with run.timed("reload"):
            self.manager.activate(run.transport, run.host, run.host.deploy_path, release_id)
        self._verify(run, release_id)
        run.state = "live"
        self._emit("ok", f"{run.name}: {run.previous or '-'} → {release_id}, healthy")

    def _verify(self, run: HostRun, release_id: str) -> None:
        """The host's own view: health URL answers, every process up, running this release."""
        with run.timed("health"):
            probe = probe_health(
                run.transport, run.host.health_url, wait=self.config.health_timeout
            )
        run.health = probe
        if not probe.ok:
            raise HostError(f"{run.name}: health check failed: {probe.detail}", host=run.name)
        with run.timed("processes"):
            # The app answered; its other processes may still be starting: give them the
            # same time the health check had.
            deadline = time.monotonic() + self.config.health_timeout
            while True:
                app = running(self.manager, run.transport, run.host)
                app = self.manager.reconcile(run.transport, run.host, app)
                if app.online or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            run.app = app
            if not app.online:
                raise HostError(f"{run.name}: {app.summary()}", host=run.name)
            if self.manager.checks_cwd:
                expected = run.layout.path(release_id)
                dirs: dict[int, str | None] = {
                    p.pid: p.cwd for p in app.processes if p.pid and p.cwd
                }
                unread = [p.pid for p in app.processes if p.pid and not p.cwd]
                dirs |= process_dirs(run.transport, unread)
                for pid, directory in dirs.items():
                    if directory is not None and directory != expected:
                        raise HostError(
                            f"{run.name}: process {pid} still runs {directory}, not {expected}",
                            host=run.name,
                            hint=f"check `{self.manager.name}` on the host",
                        )

    def _failed(self, run: HostRun, exc: WaveError) -> None:
        run.error = _short(exc, run.name)
        if run.state in ("untouched", "staged"):
            run.state = "failed"
        self._emit("fail", f"{run.name}: {run.error}", host=run.name)

    def _undo(self, run: HostRun) -> None:
        t = run.transport
        if t.lost:
            self._emit("info", f"{run.name}: reconnecting to roll back", step="rollback")
        t.connect(again=True)
        if run.previous is None:
            self.manager.stop(t, run.host)
            t.run(["rm", "-f", "--", run.layout.current_link])
            run.state = "removed"
            self._emit("ok", f"{run.name}: undone (no earlier release)", step="rollback")
            return
        run.layout.switch(run.previous, action="rollback")
        self.manager.activate(t, run.host, run.host.deploy_path, run.previous)
        probe = probe_health(t, run.host.health_url, wait=self.config.health_timeout)
        run.state = "rolled_back"
        if not probe.ok:
            run.rollback_error = f"back on {run.previous} but unhealthy: {probe.detail}"
        self._emit("ok", f"{run.name}: back on {run.previous}", step="rollback")

    def _undo_failed(self, run: HostRun, exc: WaveError) -> None:
        run.state = "rollback_failed"
        run.rollback_error = _short(exc, run.name)
        self._emit("fail", f"{run.name}: rollback failed: {run.rollback_error}", step="rollback")

    def _prune(self, run: HostRun, release_id: str) -> None:
        with run.timed("prune"):
            removed = run.layout.prune(
                self.config.keep, protect=(release_id, run.previous, *self.context.protected)
            )
        if removed:
            run.extra["pruned"] = removed

    # -- rollback ----------------------------------------------------------------------

    def rollback(self, to: str | None = None) -> RollbackResult:
        c = self.config
        runs = self._runs()
        last = self._last_deploy
        if last is not None:
            # After a deploy in this same command: a host the deploy never switched is still
            # on its release — it is not touched now either (not even connected to).
            runs = [r for r in runs if last[r.name].state not in NOT_SWITCHED]
        # Read every host before changing any: a rollback that cannot finish does not start.
        each(
            runs,
            lambda r: self._read_current(r, to),
            parallel=c.max_parallel,
            on_error=self._failed,
        )
        unreachable = [r for r in runs if r.error]
        if unreachable:
            raise AdapterError(
                "rollback not started: " + "; ".join(f"{r.name}: {r.error}" for r in unreachable),
                hint="every host must be reachable; fix them or remove them from `hosts`",
            )
        goal = to or self._previous_everywhere(runs)
        missing = [
            r.name
            for r in runs
            if r.previous != goal and not (r.extra.get("has_goal") or r.layout.has(goal))
        ]
        if missing:
            kept = (
                sorted(set.intersection(*(set(r.layout.releases()) for r in runs))) if runs else []
            )
            raise ReleaseNotFound(
                f"release {goal} is not kept on {', '.join(missing)}",
                hint=f"releases on every host: {', '.join(kept) or 'none'}",
            )
        acting = [r for r in runs if r.previous != goal]
        each(
            acting,
            lambda r: self._roll_back_host(r, goal),
            parallel=c.max_parallel,
            on_error=self._undo_failed,
        )
        failed = [r for r in acting if r.state == "rollback_failed"]
        if failed:
            raise AdapterError(
                f"rollback to {goal} failed on "
                + "; ".join(f"{r.name}: {r.rollback_error}" for r in failed),
                hint="the hosts named need a human: check `wave status`",
            )
        before = Counter(r.previous for r in acting or runs).most_common(1)
        return RollbackResult(
            target=self.context.target,
            from_release=before[0][0] if before else goal,
            to_release=goal,
            message=f"{goal} live on {len(self.hosts)} host{'s' * (len(self.hosts) != 1)}"
            + (
                f" ({len(self.hosts) - len(acting)} already on it)"
                if len(acting) < len(self.hosts)
                else ""
            ),
            details={
                "hosts": {r.name: {"from": r.previous, "to": goal, "state": r.state} for r in runs}
            },
        )

    def _read_current(self, run: HostRun, goal: str | None) -> None:
        run.transport.connect(again=True)
        if goal is None:
            run.previous = run.layout.current()
        else:  # and whether the goal is there, in the same command
            run.previous, run.extra["has_goal"] = run.layout.inspect(goal)

    def _previous_everywhere(self, runs: list[HostRun]) -> str:
        found: dict[str, list[str]] = {}
        for r in runs:
            found.setdefault(r.layout.previous(), []).append(r.name)
        if len(found) == 1:
            return next(iter(found))
        if not found:
            raise RollbackUnavailable("no host to roll back")
        raise AdapterError(
            "the hosts do not agree on the previous release: "
            + "; ".join(f"{', '.join(names)}: {rel}" for rel, names in found.items()),
            hint="name the release with --to",
        )

    def _roll_back_host(self, run: HostRun, goal: str) -> None:
        self._emit("info", f"{run.name}: {run.previous or '-'} → {goal}", step="rollback")
        run.layout.switch(goal, action="rollback")
        self.manager.activate(run.transport, run.host, run.host.deploy_path, goal)
        probe = probe_health(run.transport, run.host.health_url, wait=self.config.health_timeout)
        run.state = "rolled_back"
        if not probe.ok:
            run.state = "rollback_failed"
            run.rollback_error = f"on {goal} but unhealthy: {probe.detail}"

    # -- status, health, releases ------------------------------------------------------

    def status(self) -> StatusReport:
        """Every host's release, releases, disk and processes (``pm2 jlist``: memory, restarts)."""
        return self._report(self._status_of)

    def brief_status(self) -> StatusReport:
        """The same release, state and releases, with the processes read from pid files.

        The pipeline's read around every rollback: ``pm2 jlist`` starts Node and loads pm2
        on each host (~0.3 s of CPU) for memory and restart counts nobody reads there.
        The survey and the processes in one session: one round trip per host.
        """
        return self._report(self._brief_of)

    def _report(self, read: Callable[[HostRun], None]) -> StatusReport:
        runs = self._runs()
        each(runs, read, parallel=self.config.max_parallel, on_error=self._unreachable)
        reachable = [r for r in runs if not r.error]
        currents = Counter(r.previous for r in reachable)
        current = currents.most_common(1)[0][0] if currents else None
        agree = len(currents) == 1 and len(reachable) == len(runs)
        online = all(r.app is not None and r.app.online for r in reachable)
        if not reachable:
            state = "unknown"
        elif current is None and len(currents) == 1:
            state = "absent"
        elif agree and online:
            state = "running"
        elif not any(r.app is not None and r.app.online for r in reachable):
            state = "stopped"
        else:
            state = "degraded"
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=current,
            state=state,
            url=self.config.url,
            releases=tuple(_common(r.extra.get("releases", []) for r in reachable)),
            details={"hosts": {r.name: r.extra for r in runs}},
        )

    def _status_of(self, run: HostRun, *, brief: bool = False) -> None:
        t = run.transport
        started = time.monotonic()
        t.connect()
        if brief:  # one session: the survey and the processes together
            surveyed, processes = t.run_together(
                [run.layout.survey_command(), self.manager.running_command()]
            )
            run.previous, releases, df = run.layout.survey_from(surveyed)
            run.app = self.manager.running_from(t, run.host, processes)
        else:
            run.previous, releases, df = run.layout.survey(run.host.deploy_path)
            run.app = self.manager.state(t, run.host)
        run.extra.update(
            reachable=True,
            connect_ms=round((t.connect_seconds or time.monotonic() - started) * 1000, 1),
            address=f"{run.host.address}:{run.host.port}",
            current=run.previous,
            releases=releases,
            process_manager=self.manager.name,
            app=run.app.summary(),
            processes=[p.to_dict() for p in run.app.processes],
            **({} if brief else {"disk": parse_df(df)}),
        )

    def _brief_of(self, run: HostRun) -> None:
        self._status_of(run, brief=True)

    def _unreachable(self, run: HostRun, exc: WaveError) -> None:
        run.error = _short(exc, run.name)
        run.extra.update(
            reachable=False, error=run.error, address=f"{run.host.address}:{run.host.port}"
        )

    def health(self) -> list[HealthResult]:
        runs = self._runs()
        results: dict[str, HealthResult] = {}

        def probe(run: HostRun) -> None:
            found = probe_health(run.transport, run.host.health_url, wait=0)
            results[run.name] = HealthResult(
                source=self.name,
                name=f"{run.name} {_path_of(run.host.health_url)}",
                ok=found.ok,
                detail=found.detail,
                status_code=found.status,
                response_time_ms=round(found.elapsed_ms, 2),
            )

        def unreachable(run: HostRun, exc: WaveError) -> None:
            results[run.name] = HealthResult(
                source=self.name, name=run.name, ok=False, detail=_short(exc, run.name)
            )

        each(runs, probe, parallel=self.config.max_parallel, on_error=unreachable)
        return [results[h.name] for h in self.hosts]

    def logs(self, since: datetime, *, limit: int = LOG_LINES) -> list[str]:
        """The app's lines on every host since its release started (pm2's log files).

        pm2's files carry no time stamps by default, so they are read from the sizes noted
        on each host just before the live release started (``.wave-pm2-<app>.logmark``):
        every line at or after ``since`` when ``since`` is the deploy's start, and none of
        an earlier release. Over the existing connection, one host after another; with
        several hosts, each line starts with the host's name.
        """
        lines: list[str] = []
        for host in self.hosts:
            found = self.manager.read_logs(self.transport(host), host.deploy_path, limit)
            lines += [f"{host.name}: {x}" for x in found] if len(self.hosts) > 1 else found
        return lines[-limit:] if limit > 0 else []

    def releases(self) -> list[str]:
        """Releases kept on every host, newest first (a rollback target must be everywhere)."""
        runs = self._runs()
        each(
            runs,
            lambda r: r.extra.update(releases=r.layout.releases()),
            parallel=self.config.max_parallel,
            on_error=self._unreachable,
        )
        down = [r for r in runs if r.error]
        if down:
            raise AdapterError(
                "; ".join(f"{r.name}: {r.error}" for r in down),
                hint="every host must answer before a deploy or rollback changes any",
            )
        return _common(r.extra["releases"] for r in runs)


def _common(lists: Any) -> list[str]:
    """The names in every list, in the order of the first."""
    lists = [list(x) for x in lists]
    if not lists:
        return []
    rest = [set(x) for x in lists[1:]]
    return [name for name in lists[0] if all(name in s for s in rest)]


def _path_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def _short(exc: WaveError, host: str) -> str:
    """The error without the host's name in front (the report puts it there)."""
    text = str(exc)
    return text[len(host) + 2 :] if text.startswith(f"{host}: ") else text
