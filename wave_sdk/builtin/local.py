"""The embedded ``local`` target: a directory and a start command, run as a detached process.

It is the smallest real adapter — the one the quick start deploys, the one the conformance
suite is first proven on — and it uses the same release layout as the SSH adapter
(:class:`~wave_sdk.releases.ReleaseLayout` over a local transport)::

    <root>/releases/<id>/  current -> releases/<id>  shared/  revisions.log
    <root>/app.pid         {"pid": …, "start": …, "release": …, "log_offset": …} of the
                           running process (where its log ended when it started)
    <root>/logs/<id>.log   the process's stdout and stderr (0600, in a 0700 directory)

The process runs in its own session, so it outlives ``wave`` and is stopped by its pid
(the whole process group) on the next deploy or rollback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from wave_sdk import secrets
from wave_sdk.adapter import LOG_BYTES, LOG_LINES, Adapter, TargetContext
from wave_sdk.config import Environment, InsidePath, Settings
from wave_sdk.errors import AdapterError, ReleaseNotFound, clip
from wave_sdk.fileio import atomic_write
from wave_sdk.logs import split_lines
from wave_sdk.models import (
    DeployResult,
    HealthResult,
    Release,
    RollbackResult,
    StatusReport,
)
from wave_sdk.releases import ReleaseLayout
from wave_sdk.reporting import Event
from wave_sdk.state import pid_alive, process_start_time
from wave_sdk.transport import LocalTransport


class LocalTarget(Settings):
    """``[targets.<name>]`` with ``adapter = "local"``."""

    source: str | None = Field(
        None, description="Directory to deploy, relative to the project; `--source` overrides it."
    )
    command: str | list[str] = Field(
        description="Start command, run in the release directory without a shell "
        "(a string is split like a shell would). $PORT is set for it."
    )
    port: int = Field(ge=1, le=65535, description="Port the process listens on (127.0.0.1).")
    host: str = Field("127.0.0.1", description="Host part of the release's URL.")
    root: str | None = Field(
        None,
        description="Where releases live; default .wave/local/<target> in the project. "
        "A relative path stays inside the project; an absolute one may be anywhere.",
    )
    env: Environment = Field(
        default_factory=dict, description="Environment of the process; ${VAR} values stay secret."
    )
    shared: list[InsidePath] = Field(
        default_factory=list, description="Paths kept in shared/ and linked into every release."
    )
    keep: int = Field(5, ge=2, description="Releases kept; the rollback target is never pruned.")
    start_timeout: float = Field(15.0, gt=0, description="Seconds for the port to accept.")
    stop_timeout: float = Field(10.0, gt=0, description="Seconds between SIGTERM and SIGKILL.")

    @field_validator("root")
    @classmethod
    def _inside_the_project(cls, value: str | None) -> str | None:
        # `..` in a relative root is how a copied config writes releases (and deletes old
        # ones) outside the project; a root elsewhere must be asked for by absolute path.
        if value is not None and not os.path.isabs(value):
            normal = os.path.normpath(value)
            if normal == ".." or normal.startswith("../"):
                raise ValueError(
                    f"relative root {clip(value)!r} leaves the project directory; "
                    "use a path inside the project, or an absolute path"
                )
        return value

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        if not (shlex.split(value) if isinstance(value, str) else value):
            raise ValueError("must name a program to run")
        return value


class LocalAdapter(Adapter):
    """Deploys to this machine; see the module docstring for the layout."""

    name = "local"
    config: LocalTarget

    def __init__(self, *, config: LocalTarget, context: TargetContext) -> None:
        super().__init__(config=config, context=context)
        root = Path(config.root) if config.root else Path(".wave") / "local" / self.context.target
        if not root.is_absolute():
            root = self.context.root / root
        self.root = root.resolve()
        self.layout = ReleaseLayout(LocalTransport(), str(self.root))
        self.pid_file = self.root / "app.pid"

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    # -- the process -------------------------------------------------------------------

    def _running(self) -> dict[str, object] | None:
        try:
            record = json.loads(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if pid_alive(int(record["pid"]), record.get("start")):
            return dict(record)
        return None

    def stop(self) -> None:
        """Stop the running release's process group: SIGTERM, then SIGKILL after a grace."""
        record = self._running()
        if record is not None:
            pid = int(str(record["pid"]))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.config.stop_timeout
            while pid_alive(pid, str(record.get("start"))) and time.monotonic() < deadline:
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)

    def _start(self, release_id: str) -> None:
        argv = (
            shlex.split(self.config.command)
            if isinstance(self.config.command, str)
            else list(self.config.command)
        )
        env = {**os.environ, "PORT": str(self.config.port), "WAVE_RELEASE": release_id}
        for key, value in self.config.env.items():
            env[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
        log_path = self._log(release_id)
        offset = log_path.stat().st_size  # a rolled-back-to release appends to its old log
        self._check_port_free()
        with open(log_path, "ab") as log:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=self.layout.path(release_id),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise AdapterError(
                    f"cannot start {argv[0]!r}: {exc.strerror}",
                    hint="check `command` of the target",
                ) from None
        atomic_write(
            self.pid_file,
            json.dumps(
                {
                    "pid": proc.pid,
                    "start": process_start_time(proc.pid),
                    "release": release_id,
                    "log_offset": offset,
                }
            ),
        )
        deadline = time.monotonic() + self.config.start_timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                raise AdapterError(
                    f"release {release_id} exited at start with code {code}; last log lines: "
                    + " | ".join(_tail(log_path, 5)),
                    hint=f"see {log_path}",
                )
            if _port_open(self.config.host, self.config.port):
                return
            time.sleep(0.05)
        self.stop()
        raise AdapterError(
            f"release {release_id} did not listen on port {self.config.port} within "
            f"{self.config.start_timeout:g}s; last log lines: " + " | ".join(_tail(log_path, 5)),
            hint="raise start_timeout or check that the app reads $PORT",
        )

    def _log(self, release_id: str) -> Path:
        """The release's log file, private (0600 in a 0700 directory).

        The app writes to it straight (it outlives wave, so wave cannot mask what it
        prints), and it may print its secrets. Modes are set on an existing file and
        directory too (older versions of wave left them 0644).
        """
        logs = self.root / "logs"
        logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        logs.chmod(0o700)
        path = logs / f"{release_id}.log"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        path.chmod(0o600)
        return path

    def _check_port_free(self) -> None:
        if _port_open(self.config.host, self.config.port):
            raise AdapterError(
                f"port {self.config.port} is already in use by another process",
                hint="stop it or choose another `port` for the target",
            )

    def _activate(self, release_id: str, action: str) -> None:
        self.stop()
        self.layout.switch(release_id, action=action)
        self._start(release_id)

    # -- the Adapter interface ---------------------------------------------------------

    def deploy(self, release: Release) -> DeployResult:
        source = release.source or (
            self.context.root / self.config.source if self.config.source else None
        )
        previous = self.layout.current()
        if previous == release.id and self._running():
            return DeployResult(
                target=self.context.target,
                release=release.id,
                url=self.url,
                previous=previous,
                message="already live; nothing to do",
            )
        self.layout.ensure()
        if not self.layout.has(release.id):
            if source is None or not Path(source).is_dir():
                raise AdapterError(
                    f"no source directory for release {release.id}"
                    + (f": {source} does not exist" if source else ""),
                    hint="set `source` in the target or pass --source DIR",
                )
            self._emit(f"staging {release.id} from {source}")
            self.layout.stage(release.id, Path(source), linked=self.config.shared)
        self._emit(f"starting {release.id} on port {self.config.port}")
        self._activate(release.id, "deploy")
        pruned = self.layout.prune(
            self.config.keep, protect=(release.id, previous, *self.context.protected)
        )
        return DeployResult(
            target=self.context.target,
            release=release.id,
            url=self.url,
            previous=previous,
            message=f"{release.id} running (pid {self._pid()})",
            details={"pruned": pruned, "root": str(self.root)},
        )

    def rollback(self, to: str | None = None) -> RollbackResult:
        current = self.layout.current()
        target = to or self.layout.previous()
        if not self.layout.has(target):
            raise ReleaseNotFound(
                f"release {target} is not kept on target {self.context.target}",
                hint=f"available: {', '.join(self.layout.releases()) or 'none'}",
            )
        self._emit(f"rolling back {current} → {target}", step="rollback")
        self._activate(target, "rollback")
        return RollbackResult(
            target=self.context.target,
            from_release=current,
            to_release=target,
            message=f"{target} running (pid {self._pid()})",
        )

    def status(self) -> StatusReport:
        record = self._running()
        current = self.layout.current()
        state = "running" if record else ("stopped" if current else "absent")
        return StatusReport(
            target=self.context.target,
            adapter=self.name,
            current=current,
            state=state,
            url=self.url,
            releases=tuple(self.layout.releases()),
            details={"pid": record["pid"] if record else None, "root": str(self.root)},
        )

    def health(self) -> list[HealthResult]:
        record = self._running()
        if record is None:
            return [HealthResult(source=self.name, name="process", ok=False, detail="not running")]
        listening = _port_open(self.config.host, self.config.port)
        return [
            HealthResult(
                source=self.name,
                name="process",
                ok=listening,
                detail=f"pid {record['pid']} "
                + ("listening" if listening else f"not listening on {self.config.port}"),
            )
        ]

    def releases(self) -> list[str]:
        return self.layout.releases()

    def logs(self, since: datetime, *, limit: int = LOG_LINES) -> list[str]:
        """The running release's lines since it started: its log file has no time stamps.

        Read from where the file ended at the start (a rolled-back-to release appends to
        the log of its earlier run), at most :data:`~wave_sdk.adapter.LOG_BYTES` of its end;
        nothing when the file was last written before ``since``.
        """
        record = self._running()
        if record is None:
            raise AdapterError(
                f"no running release on target {self.context.target}: no log to read",
                hint=f"deploy first: wave deploy --env {self.context.environment}",
            )
        path = self.root / "logs" / f"{record['release']}.log"
        start = int(str(record.get("log_offset") or 0))
        try:
            with open(path, "rb") as log:
                if os.fstat(log.fileno()).st_mtime < since.timestamp():
                    return []  # nothing written since: the one thing a file's time tells
                end = log.seek(0, os.SEEK_END)
                begin = max(start, end - LOG_BYTES)
                log.seek(begin)
                data = log.read(end - begin)
        except OSError as exc:
            raise AdapterError(f"cannot read {path}: {exc.strerror}") from None
        return split_lines(data, cut=begin > start, limit=limit)

    # -- helpers -----------------------------------------------------------------------

    def _pid(self) -> object:
        record = self._running()
        return record["pid"] if record else "?"

    def _emit(self, message: str, *, step: str = "deploy") -> None:
        self.context.reporter.emit(Event("info", step, message))


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _reap(pid: int) -> None:
    # If we started the process in this interpreter it is our child: collect it so that it
    # does not linger as a zombie that still answers kill(pid, 0).
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, lines: int) -> list[str]:
    """The log's last ``lines`` lines, masked before they are split (a secret may hold one)."""
    try:
        text = secrets.redact(path.read_text(errors="replace"))
    except OSError:
        return ["(no log)"]
    return text.strip().splitlines()[-lines:] or ["(empty log)"]
