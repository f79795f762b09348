"""What runs the app on a host: pm2 or systemd, behind one small interface.

A manager *activates* the release that ``current`` points at (reload the app so it runs
from the new directory), reports the app's *processes* (for status and for the check that
the new release is what runs), and *stops* the app (when a first deploy is undone and no
earlier release exists). The environment reaches the app through a file written with
mode 600 — pm2's ecosystem file, systemd's ``EnvironmentFile`` — never a command line.

Also here: the two probes every host gets whatever the manager, the health URL as seen
from the host (``curl``, the runbook's own check) and the disk space of the deploy path.
"""

from __future__ import annotations

import json
import posixpath
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from wave_sdk.adapter import LOG_BYTES
from wave_sdk.errors import AdapterError
from wave_sdk.logs import split_lines
from wave_sdk_ssh.transport import MISSING

if TYPE_CHECKING:
    from wave_sdk.transport import CommandResult
    from wave_sdk_ssh.config import Host, Pm2Config, SystemdConfig
    from wave_sdk_ssh.transport import SSHTransport


@dataclass(frozen=True)
class Process:
    """One process of the app as the manager sees it."""

    pid: int | None
    status: str
    """``online``, ``stopped``, ``errored`` … (pm2) or ``active``, ``failed`` … (systemd)."""
    restarts: int | None = None
    memory: int | None = None
    """Resident memory in bytes."""
    uptime_s: float | None = None
    cpu: float | None = None
    cwd: str | None = None
    """The working directory, symlinks resolved, when the query read it."""

    @property
    def up(self) -> bool:
        return self.status in ("online", "active")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "status": self.status,
            "restarts": self.restarts,
            "memory": self.memory,
            "uptime_s": None if self.uptime_s is None else round(self.uptime_s, 1),
            "cpu": self.cpu,
        }


@dataclass(frozen=True)
class AppState:
    """The app on one host: its processes, or why they could not be read."""

    manager: str
    processes: tuple[Process, ...] = ()
    note: str = ""
    """Why there are no processes: ``pm2 is not running``, the error of the query."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def online(self) -> bool:
        return bool(self.processes) and all(p.up for p in self.processes)

    def summary(self) -> str:
        if not self.processes:
            return self.note or "not running"
        up = sum(p.up for p in self.processes)
        return f"{up}/{len(self.processes)} {self.manager} processes online"


class ProcessManager(Protocol):
    name: str

    def activate(self, t: SSHTransport, host: Host, root: str, release_id: str) -> None:
        """Make the app run the release ``current`` points at (start, reload or restart)."""
        ...

    def state(self, t: SSHTransport, host: Host) -> AppState:
        """The app's processes now, in full (status); changes nothing on the host."""
        ...

    def running_command(self) -> list[str]:
        """The one command that tells cheaply which processes run (see :func:`running`).

        Its own, or with others in one session (a brief status reads it with the release
        survey).
        """
        ...

    def running_from(self, t: SSHTransport, host: Host, result: CommandResult) -> AppState:
        """The app's processes from :meth:`running_command`'s result.

        Asks further (``t``) only when that result cannot tell.
        """
        ...

    def stop(self, t: SSHTransport, host: Host) -> None:
        """Stop the app and forget it (a first deploy undone)."""
        ...

    def reconcile(self, t: SSHTransport, host: Host, state: AppState) -> AppState:
        """Bring what runs in line with the configuration, if a reload could not."""
        ...

    @property
    def checks_cwd(self) -> bool:
        """Whether each process's working directory is the release (pm2 script, systemd)."""
        ...

    def read_logs(self, t: SSHTransport, root: str, limit: int) -> list[str]:
        """The app's log lines of the live release, at most ``limit`` and LOG_BYTES."""
        ...


def running(manager: ProcessManager, t: SSHTransport, host: Host) -> AppState:
    """The app's processes, as cheaply as possible: the check after every reload."""
    return manager.running_from(t, host, t.run(manager.running_command(), check=False))


def _env(host: Host, release_id: str) -> dict[str, str]:
    env = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in host.env.items()}
    if host.app_port is not None:
        env.setdefault("PORT", str(host.app_port))
    env["WAVE_RELEASE"] = release_id
    return env


class Pm2:
    """pm2: ``startOrReload`` an ecosystem file, ``jlist`` for the processes.

    With ``script``, wave writes ``<deploy_path>/.wave-pm2-<app>.json`` (mode 600, holding
    the environment) whose ``script`` and ``cwd`` go through ``current``: a reload picks up
    the new release, and in cluster mode it does so without dropping a request. With
    ``ecosystem``, your file inside the release is used with ``--only <app>``, and the
    environment is given to pm2 on stdin with ``--update-env``.
    """

    name = "pm2"

    def __init__(self, config: Pm2Config) -> None:
        self.config = config

    @property
    def checks_cwd(self) -> bool:
        return self.config.script is not None

    def ecosystem_path(self, root: str) -> str:
        return posixpath.join(root, f".wave-pm2-{self.config.app}.json")

    def activate(self, t: SSHTransport, host: Host, root: str, release_id: str) -> None:
        c = self.config
        # The log mark (see mark_path) is the prelude of the one activation command.
        mark = [self.mark_path(root), c.app]
        current = posixpath.join(root, "current")
        action = "startOrReload" if c.reload == "reload" else "startOrRestart"
        env = _env(host, release_id)
        if c.script is not None:
            app: dict[str, Any] = {
                "name": c.app,
                # Relative, resolved by pm2 against cwd: pm2 runs a `script` that contains a
                # space through `bash -c`, and the deploy path may well contain one.
                "script": c.script,
                "cwd": current,
                "args": list(c.args),
                "instances": c.instances if c.instances != "max" else 0,
                "exec_mode": c.mode,
                "env": env,
                "merge_logs": True,
            }
            if c.interpreter:
                app["interpreter"] = c.interpreter
            # One command: the file (mode 600: it holds the environment) then pm2.
            path = self.ecosystem_path(root)
            t.run(
                ["sh", "-c", _LOG_MARK + _ECOSYSTEM, "sh", *mark, path, current, c.command, action],
                input=json.dumps({"apps": [app]}, indent=2),
            )
        else:
            assert c.ecosystem is not None
            t.run(
                [
                    "sh",
                    "-c",
                    _LOG_MARK + 'exec "$@"\n',
                    "sh",
                    *mark,
                    c.command,
                    action,
                    posixpath.join(current, c.ecosystem),
                    "--only",
                    c.app,
                    "--update-env",
                ],
                cwd=current,
                env=env,
            )

    def mark_path(self, root: str) -> str:
        """``<deploy_path>/.wave-pm2-<app>.logmark``: each pm2 log file's size at activation.

        pm2 appends every release's lines to the same files, without time stamps unless
        the ecosystem asks for them; so the lines of the release about to start are those
        after these sizes, which the activation command writes first (``_LOG_MARK``).
        """
        return posixpath.join(root, f".wave-pm2-{self.config.app}.logmark")

    def read_logs(self, t: SSHTransport, root: str, limit: int) -> list[str]:
        """The app's lines in pm2's log files from the mark on; the end of each if long.

        pm2's default files: ``$PM2_HOME/logs/<app>-out.log`` and ``-error.log`` (with
        ``-<n>`` per instance without ``merge_logs``). An ecosystem that moves them is not
        read.
        """
        marks: dict[str, int] = {}
        for line in (t.read_text(self.mark_path(root)) or "").splitlines():
            size, _, path = line.partition(" ")
            if size.isdigit() and path:
                marks[path] = int(size)
        listed = t.run(["sh", "-c", _LOG_FILES, "sh", self.config.app]).stdout
        lines: list[str] = []
        for path in listed.splitlines():
            start = str(marks.get(path, 0))
            out = t.run(["sh", "-c", _LOG_READ, "sh", path, start, str(LOG_BYTES)]).stdout
            how, _, data = out.partition("\n")
            lines += split_lines(data.encode(), cut=how == "cut", limit=limit)
        return lines[-limit:] if limit > 0 else []

    def state(self, t: SSHTransport, host: Host) -> AppState:
        # `pm2 jlist` would start a daemon where none runs: look for its socket first.
        script = 'h="${PM2_HOME:-$HOME/.pm2}"; [ -S "$h/rpc.sock" ] || exit 44; exec "$1" jlist'
        result = t.run(["sh", "-c", script, "sh", self.config.command], check=False)
        if result.returncode == MISSING:
            return AppState("pm2", note="pm2 is not running")
        if not result.ok:
            return AppState("pm2", note=f"pm2 jlist failed: {_tail(result.stderr)}")
        try:
            listing = _json_array(result.stdout)
        except ValueError:
            return AppState("pm2", note="pm2 jlist printed no JSON")
        now = time.time()
        processes = []
        # Only these fields are read: the listing also holds each process's environment.
        for entry in listing:
            if not isinstance(entry, dict) or entry.get("name") != self.config.app:
                continue
            env = entry.get("pm2_env") or {}
            monit = entry.get("monit") or {}
            started = env.get("pm_uptime")
            processes.append(
                Process(
                    pid=entry.get("pid") or None,
                    status=str(env.get("status", "unknown")),
                    restarts=_int(env.get("restart_time")),
                    memory=_int(monit.get("memory")),
                    uptime_s=max(0.0, now - started / 1000) if isinstance(started, int) else None,
                    cpu=monit.get("cpu"),
                )
            )
        return AppState(
            "pm2",
            tuple(processes),
            note="" if processes else f"no pm2 process named {self.config.app}",
        )

    def running_command(self) -> list[str]:
        """Read the pid files the daemon keeps, ``<PM2_HOME>/pids/<app>-<id>.pid``.

        One shell command, where ``pm2 jlist`` would start Node and load pm2 (~0.4 s of
        CPU on the host): after a reload, or for the pipeline's brief status, only the
        pids, whether they live and the directory each runs in are needed.
        """
        return ["sh", "-c", _PIDS, "sh", self.config.app]

    def running_from(self, t: SSHTransport, host: Host, result: CommandResult) -> AppState:
        """The processes of the pid files; ``pm2 jlist``'s (:meth:`state`) without them.

        Without them: no pid files (an ecosystem with its own ``pid_file``, an app pm2
        stopped), or no live pm2 daemon to trust them.
        """
        processes = []
        for line in result.stdout.splitlines() if result.ok else []:
            name, pid, alive, cwd = [*line.split(" ", 3), "", "", ""][:4]
            stem, _, number = name.removesuffix(".pid").rpartition("-")
            if stem != self.config.app or not number.isdigit() or not pid.isdigit():
                continue
            processes.append(
                Process(
                    pid=int(pid),
                    status="online" if alive == "up" else "stopped",
                    cwd=cwd if alive == "up" and cwd else None,
                )
            )
        if not processes:
            return self.state(t, host)
        return AppState("pm2", tuple(processes))

    def stop(self, t: SSHTransport, host: Host) -> None:
        if self.state(t, host).processes:
            t.run([self.config.command, "delete", self.config.app], check=False)

    def reconcile(self, t: SSHTransport, host: Host, state: AppState) -> AppState:
        """``pm2 scale`` when ``instances`` changed: a reload keeps the old count."""
        wanted = self.config.instances
        if self.config.script is None or not isinstance(wanted, int) or not state.processes:
            return state
        if len(state.processes) == wanted:
            return state
        # The pid files may lag behind a worker that is still starting: ask pm2 itself.
        listed = self.state(t, host)
        if len(listed.processes) == wanted:
            return listed
        t.run([self.config.command, "scale", self.config.app, str(wanted)])
        return self.state(t, host)


_LOG_LOOP = (
    'h="${PM2_HOME:-$HOME/.pm2}"\n'
    'for f in "$h/logs/$APP-out.log" "$h/logs/$APP-error.log" '
    '"$h/logs/$APP-out-"[0-9]*.log "$h/logs/$APP-error-"[0-9]*.log; do\n'
    '  [ -f "$f" ] || continue\n'
)
"""The start of a loop over the app's pm2 log files that exist ($APP: the app)."""

_LOG_FILES = "APP=$1\n" + _LOG_LOOP + "  printf '%s\\n' \"$f\"\ndone\n"
"""The app's pm2 log files, one per line ($1: the app)."""

_LOG_MARK = (
    "APP=$2\n" + _LOG_LOOP + '  printf \'%s %s\\n\' "$(wc -c < "$f")" "$f"\n'
    'done > "$1.tmp" && mv -f -- "$1.tmp" "$1" ||\n'
    '  echo "wave: could not note the log sizes in $1" >&2\n'
    "shift 2\n"
)
"""Write "<size> <path>" of each of the app's log files to $1 ($2: the app), then drop both.

The prelude of both activation scripts, so the mark costs no SSH session of its own; a
mark that cannot be written is said on stderr and does not stop the release (the bake
window then reads from the previous release's mark, or from the files' start).
"""

_LOG_READ = r"""
size=$(wc -c < "$1" 2>/dev/null) || { echo whole; exit 0; }
start=$2
[ "$size" -ge "$start" ] || start=0
if [ $((size - start)) -gt "$3" ]; then echo cut; start=$((size - $3)); else echo whole; fi
tail -c +$((start + 1)) -- "$1" | head -c "$3"
"""
"""``whole`` or ``cut``, then the file $1 from byte $2 on, at most $3 bytes (its end)."""


class Systemd:
    """systemd: restart the unit; ``systemctl show`` for its main process.

    The unit is yours (installed once, by hand or by configuration management), with
    ``WorkingDirectory=<deploy_path>/current`` and ``EnvironmentFile=-<deploy_path>/app.env``;
    wave writes ``app.env`` (mode 600) and restarts the unit on every activation.
    """

    name = "systemd"
    checks_cwd = True

    def __init__(self, config: SystemdConfig) -> None:
        self.config = config

    def _systemctl(self, *args: str) -> list[str]:
        prefix = ["sudo", "-n"] if self.config.sudo else []
        scope = ["--user"] if self.config.scope == "user" else []
        return [*prefix, "systemctl", *scope, *args]

    def read_logs(self, t: SSHTransport, root: str, limit: int) -> list[str]:
        """Not read: the journal needs ``journalctl`` rights the deploy user may lack."""
        raise AdapterError(
            f"{t.host.name}: logs are read for pm2 apps only, not systemd unit {self.config.unit}",
            hint="use journalctl on the host, or drop log_patterns for this environment",
        )

    def activate(self, t: SSHTransport, host: Host, root: str, release_id: str) -> None:
        lines = "".join(f"{k}={_systemd_quote(v)}\n" for k, v in _env(host, release_id).items())
        t.write_text(posixpath.join(root, "app.env"), lines, mode="600")
        t.run(self._systemctl("restart", self.config.unit))

    def state(self, t: SSHTransport, host: Host) -> AppState:
        return self.running_from(t, host, t.run(self.running_command(), check=False))

    def running_command(self) -> list[str]:
        """``systemctl show``: cheap already, and all that :meth:`state` reads too."""
        fields = "MainPID,ActiveState,SubState,NRestarts,MemoryCurrent,ActiveEnterTimestamp"
        return self._systemctl("show", self.config.unit, "--timestamp=unix", "-p", fields)

    def running_from(self, t: SSHTransport, host: Host, result: CommandResult) -> AppState:
        if not result.ok:
            return AppState("systemd", note=f"systemctl show failed: {_tail(result.stderr)}")
        values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        pid = _int(values.get("MainPID")) or None
        since = values.get("ActiveEnterTimestamp", "").lstrip("@")
        status = values.get("ActiveState", "unknown")
        if status == "inactive" and pid is None:
            return AppState("systemd", note=f"{self.config.unit} is inactive")
        return AppState(
            "systemd",
            (
                Process(
                    pid=pid,
                    status=status,
                    restarts=_int(values.get("NRestarts")),
                    memory=_int(values.get("MemoryCurrent")),
                    uptime_s=time.time() - float(since) if since.isdigit() else None,
                ),
            ),
            details={"sub_state": values.get("SubState")},
        )

    def reconcile(self, t: SSHTransport, host: Host, state: AppState) -> AppState:
        return state  # the unit file says how the service runs

    def stop(self, t: SSHTransport, host: Host) -> None:
        t.run(self._systemctl("stop", self.config.unit), check=False)


_ECOSYSTEM = """
umask 077
t="$1.wave-$$"
cat > "$t" && chmod 600 "$t" && mv -f -- "$t" "$1" || exit
cd -- "$2" && exec "$3" "$4" "$1" --update-env
"""

_PIDS = """
h="${PM2_HOME:-$HOME/.pm2}"
alive() {
  case $1 in ''|*[!0-9]*) return 1 ;; esac
  s=$(cat -- "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [ "${s%% *}" != Z ]
}
alive "$(cat -- "$h/pm2.pid" 2>/dev/null)" || exit 0
for f in "$h/pids/$1"-*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat -- "$f")
  if alive "$pid"; then
    echo "${f##*/} $pid up $(readlink "/proc/$pid/cwd")"
  else
    echo "${f##*/} $pid down"
  fi
done
"""

"""Each of the app's pid files: ``<file> <pid> up <cwd>`` or ``<file> <pid> down``.

A zombie (killed, not yet reaped) is down. Nothing at all when the pm2 daemon is not
alive: its pid files are then stale, and :meth:`Pm2.running` asks ``pm2 jlist`` instead.
"""

# -- probes every host gets ------------------------------------------------------------

_HEALTH = """
command -v curl >/dev/null 2>&1 || { echo "curl is not installed on the host" >&2; exit 45; }
end=$(( $(date +%s) + $2 ))
while :; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$3" -- "$1")
  case "$code" in 2??|3??) echo "$code"; exit 0 ;; esac
  if [ "$(date +%s)" -ge "$end" ]; then echo "$code"; exit 1; fi
  sleep 0.2
done
"""


@dataclass(frozen=True)
class HealthProbe:
    ok: bool
    status: int | None
    detail: str
    elapsed_ms: float


def probe_health(t: SSHTransport, url: str, *, wait: float, timeout: float = 5.0) -> HealthProbe:
    """``curl`` the URL on the host until it answers 2xx/3xx or ``wait`` seconds pass."""
    started = time.monotonic()
    result = t.run(
        ["sh", "-c", _HEALTH, "sh", url, str(int(wait)), f"{timeout:g}"],
        check=False,
        timeout=wait + timeout + 30,
    )
    elapsed = (time.monotonic() - started) * 1000
    if result.returncode == 45:
        return HealthProbe(False, None, "curl is not installed on the host", elapsed)
    code = _int(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else None)
    if result.ok:
        return HealthProbe(True, code, f"{url} answered {code}", elapsed)
    if not code:
        detail = f"{url} did not answer (connection refused or timed out)"
    else:
        detail = f"{url} answered {code}"
    if wait:
        detail += f" after {wait:g}s"
    return HealthProbe(False, code or None, detail, elapsed)


def parse_df(text: str) -> dict[str, Any] | None:
    """``df -Pk``'s answer as sizes in bytes (``None`` if it is not one)."""
    lines = text.strip().splitlines()
    if len(lines) < 2:
        return None
    parts = lines[-1].split()
    try:
        size, used, free = (int(parts[i]) * 1024 for i in (1, 2, 3))
    except (IndexError, ValueError):
        return None
    return {"size": size, "used": used, "free": free, "used_pct": parts[4], "mount": parts[-1]}


def process_dirs(t: SSHTransport, pids: list[int]) -> dict[int, str | None]:
    """Each process's working directory, symlinks resolved (``/proc/<pid>/cwd``)."""
    if not pids:
        return {}
    result = t.run(["readlink", "--", *(f"/proc/{p}/cwd" for p in pids)], check=False)
    found = result.stdout.splitlines()
    # readlink prints one line per link it could read, in order; a missing one is skipped.
    if len(found) == len(pids):
        return dict(zip(pids, found, strict=True))
    return {p: None for p in pids}


def _systemd_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _json_array(text: str) -> list[Any]:
    # pm2 may print a warning line before the JSON (an outdated in-memory pm2, say).
    start = text.find("[")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except ValueError:
            start = text.find("[", start + 1)
            continue
        if isinstance(value, list):
            return value
        start = text.find("[", start + 1)
    raise ValueError("no JSON array")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _tail(text: str) -> str:
    return " | ".join(text.strip().splitlines()[-3:]) or "no output"
