"""Real SSH hosts on this machine: one ``sshd -D`` per host, each with its own pm2.

A :class:`Farm` makes throwaway keys (a client key, one host key per host, a known_hosts
file), and starts hosts on free 127.0.0.x ports. Each host has its own directory (deploy
path, ``PM2_HOME``), and its sshd gives every session ``PM2_HOME`` and a ``PATH`` holding
pm2 through ``SetEnv`` — what a server's login profile would do — so the pm2 daemons of
two hosts never meet. The login user is a dedicated account with ``/bin/sh`` as its shell
when the tests run as root (root's own shell start-up files cost ~190 ms per command
here), the current user otherwise.

Everything started is stopped by its pid: each sshd with its session processes, each pm2
daemon and the apps it runs (from the pid files under ``PM2_HOME``). Used by the tests and
by bench/ssh_fanout.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wave_sdk import Release
from wave_sdk.reporting import ListReporter
from wave_sdk.testing import run_wave
from wave_sdk.wave import Wave

TEST_USER = "wave-ssh-test"
PM2_VERSION = "6.0.14"
PM2_PREFIX = Path(os.environ.get("WAVE_PM2_PREFIX", "/var/cache/wave-test/npm"))
APP = Path(__file__).parent / "app"


def find_sshd() -> str | None:
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_pm2() -> str | None:
    local = PM2_PREFIX / "node_modules" / ".bin" / "pm2"
    if local.exists():
        return str(local)
    return shutil.which("pm2")


def install_pm2() -> str | None:
    """pm2 from npm into PM2_PREFIX (what scripts/install-test-deps does), if npm is here."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    PM2_PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(PM2_PREFIX),
            "--no-audit",
            "--no-fund",
            f"pm2@{PM2_VERSION}",
        ],
        check=False,
        capture_output=True,
        timeout=600,
    )
    return find_pm2()


def login_user() -> pwd.struct_passwd:
    """The account the hosts are logged in to (created when root; see the module doc)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    home = f"/var/lib/{TEST_USER}"
    subprocess.run(
        [
            "useradd",
            "--system",
            "--shell",
            "/bin/sh",
            "--create-home",
            "--home-dir",
            home,
            TEST_USER,
        ],
        check=True,
        capture_output=True,
    )
    # A system account is created locked ('!'), and sshd without PAM refuses locked
    # accounts even for key logins; '*' means "no password" without the lock.
    subprocess.run(["usermod", "-p", "*", TEST_USER], check=True, capture_output=True)
    return pwd.getpwnam(TEST_USER)


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SSHHost:
    """One running sshd standing for a server."""

    name: str
    address: str
    port: int
    directory: Path
    app_port: int
    host_key: Path
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def deploy_path(self) -> Path:
        return self.directory / "app"

    @property
    def pm2_home(self) -> Path:
        return self.directory / "pm2"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def current(self) -> str | None:
        link = self.deploy_path / "current"
        return os.path.basename(os.readlink(link)) if link.is_symlink() else None

    def logins(self) -> int:
        """Connections sshd accepted (one line per successful key login)."""
        if not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count("Accepted publickey")

    def sessions(self) -> int:
        """SSH sessions sshd started (one per command, shell or sftp/scp: a round trip)."""
        if not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count("Starting session:")

    def get(self, path: str = "/", timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
        """GET the app on this host (the same machine: its port is on loopback)."""
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.app_port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    def pm2_run(self, pm2: str, user: str, *args: str, **env: str) -> str:
        """Run pm2 on this host as its login user (an independent look, or a tamper)."""
        cmd = [pm2, *args]
        if os.geteuid() == 0 and user != "root":
            cmd = ["runuser", "-u", user, "--", *cmd]
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PM2_HOME": str(self.pm2_home), **env},
            check=True,
        ).stdout

    def pm2_list(self, pm2: str, user: str) -> list[dict[str, Any]]:
        """`pm2 jlist` of this host."""
        out = self.pm2_run(pm2, user, "jlist")
        return json.loads(out[out.index("[") :])

    def kill_sshd(self) -> None:
        """Kill this host's sshd and every session it serves: connections drop mid-command."""
        if self.process is None:
            return
        pids = [self.process.pid, *_descendants(self.process.pid)]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def kill_sessions(self) -> None:
        """Kill the sessions this host's sshd serves, not sshd: connections drop, new ones work."""
        if self.process is None:
            return
        for pid in _descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop_pm2(self) -> None:
        """Kill this host's pm2 daemon first (so it respawns nothing), then its apps."""
        pid_file = self.pm2_home / "pm2.pid"
        daemon = _read_pid(pid_file)
        pids = [daemon] if daemon else []
        if daemon:
            pids += _descendants(daemon)
        pids += [p for f in sorted((self.pm2_home / "pids").glob("*.pid")) if (p := _read_pid(f))]
        for pid in dict.fromkeys(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(pids)
        pid_file.unlink(missing_ok=True)


class Farm:
    """Keys, a known_hosts file and the hosts started from them."""

    def __init__(self, base: Path, *, pm2: str | None) -> None:
        self.sshd = find_sshd()
        if self.sshd is None:
            raise RuntimeError("sshd not found (install Debian's openssh-server)")
        self.pm2 = pm2
        self.user = login_user()
        # Hosts' directories must be reachable by the login user: not under pytest's
        # 0700 tmp directories.
        self.base = Path(tempfile.mkdtemp(prefix="wave-ssh-farm-", dir=base))
        self.base.chmod(0o755)
        self.keys = self.base / "keys"
        self.keys.mkdir(mode=0o700)
        self.client_key = self.keys / "client"
        _keygen(self.client_key)
        # sshd reads authorized_keys as the login user: not in the 0700 keys directory.
        self.authorized_keys = self.base / "authorized_keys"
        shutil.copy(f"{self.client_key}.pub", self.authorized_keys)
        self.authorized_keys.chmod(0o644)
        self.known_hosts = self.keys / "known_hosts"
        self.known_hosts.write_text("")
        self.hosts: list[SSHHost] = []
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation

    def start(
        self,
        count: int,
        *,
        prefix: str = "web",
        known: bool = True,
        addresses: Iterable[str] | None = None,
        first: int = 1,
    ) -> list[SSHHost]:
        """Start ``count`` hosts named ``<prefix>-<first>`` onwards.

        ``known=False`` leaves their keys out of known_hosts.
        """
        addresses = list(addresses or ["127.0.0.1"] * count)
        started = []
        for index in range(count):
            number = len(self.hosts) + 1
            address = addresses[index]
            directory = self.base / f"host-{number}"
            directory.mkdir()
            host = SSHHost(
                name=f"{prefix}-{first + index}",
                address=address,
                port=free_port(address),
                directory=directory,
                app_port=free_port(),
                host_key=self.keys / f"host-{number}",
            )
            for sub in (host.deploy_path, host.pm2_home):
                sub.mkdir()
            _keygen(host.host_key)
            self.chown(directory)
            self._launch(host)
            if known:
                self.trust(host)
            self.hosts.append(host)
            started.append(host)
        for host in started:
            _wait_port(host)
        return started

    def trust(self, host: SSHHost, key: Path | None = None) -> None:
        """Add ``host``'s key (or another key, to fake a changed one) to known_hosts."""
        public = Path(f"{key or host.host_key}.pub").read_text().split()
        with self.known_hosts.open("a") as out:
            out.write(f"[{host.address}]:{host.port} {public[0]} {public[1]}\n")

    def _launch(self, host: SSHHost) -> None:
        bins = [str(Path(self.pm2).parent)] if self.pm2 else []
        path = ":".join([*bins, "/usr/local/bin", "/usr/bin", "/bin"])
        env = {"PM2_HOME": str(host.pm2_home), "PATH": path, **host.extra_env}
        config = host.directory / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {host.port}",
                    f"ListenAddress {host.address}",
                    f"HostKey {host.host_key}",
                    f"PidFile {host.directory / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized_keys}",
                    f"AllowUsers {self.user.pw_name}",
                    "StrictModes no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "MaxStartups 200",
                    "MaxSessions 200",
                    "LogLevel VERBOSE",
                    # As on any server: Ansible and scp (sftp protocol) upload through it.
                    "Subsystem sftp internal-sftp",
                    "SetEnv " + " ".join(f"{k}={v}" for k, v in env.items()),
                    "",
                ]
            )
        )
        host.process = subprocess.Popen(
            [self.sshd, "-D", "-f", str(config), "-E", str(host.log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def restart(self, host: SSHHost) -> None:
        """Start a killed host's sshd again (same port, same key)."""
        self._launch(host)
        _wait_port(host)

    def chown(self, path: Path) -> None:
        """Give ``path`` (recursively) to the login user."""
        if os.geteuid() == 0:
            for item in [path, *path.rglob("*")]:
                os.chown(item, self.user.pw_uid, self.user.pw_gid)

    def target(self, hosts: list[SSHHost], **extra: Any) -> dict[str, Any]:
        """An ``adapter = "ssh"`` target's keys for these hosts, running the test app."""
        config: dict[str, Any] = {
            "hosts": [
                {
                    "name": h.name,
                    "address": h.address,
                    "port": h.port,
                    "deploy_path": str(h.deploy_path),
                    "app_port": h.app_port,
                }
                for h in hosts
            ],
            "user": self.user.pw_name,
            "identity_file": str(self.client_key),
            "known_hosts": str(self.known_hosts),
            "agent": False,
            "connect_timeout": 5,
            "health_timeout": 15,
            "pm2": {"app": "web", "script": "server.js"},
        }
        config.update(extra)
        return config

    def stop(self) -> None:
        for host in self.hosts:
            host.stop_pm2()
            host.kill_sshd()
        shutil.rmtree(self.base, ignore_errors=True)


def write_app(
    directory: Path,
    version: str,
    *,
    failing: Iterable[str] = (),
    requires: Iterable[str] = (),
    log: Iterable[str] = (),
) -> Path:
    """The test app (tests/app) with its app.json, as a release source directory."""
    shutil.copytree(
        APP, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", "build")
    )
    (directory / "app.json").write_text(
        json.dumps(
            {
                "version": version,
                "failing": list(failing),
                "requires": list(requires),
                "log": list(log),
            }
        )
    )
    return directory


def hosts_cpu(hosts: Iterable[SSHHost]) -> float:
    """CPU seconds the hosts spent so far: each sshd and pm2 daemon with all under it.

    Every process under them counts, live (its own time) or gone (in its parent's
    reaped-children time), so a connection kept open (ControlPersist) counts as well as
    one closed. Other work on the machine is not in it.
    """
    tree = _children()
    total = 0.0
    for host in hosts:
        for root in (
            host.process.pid if host.process else None,
            _read_pid(host.pm2_home / "pm2.pid"),
        ):
            if not root:
                continue
            todo, pids = [root], [root]
            while todo:
                kids = tree.get(todo.pop(), [])
                pids += kids
                todo += kids
            total += sum(process_cpu(pid) for pid in pids)
    return total


def process_cpu(pid: int | None) -> float:
    """CPU seconds of a process and of the children it has reaped (utime+stime+cu+cs)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wave-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _wait_port(host: SSHHost, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.process is not None and host.process.poll() is not None:
            log = host.log.read_text(errors="replace") if host.log.exists() else ""
            raise RuntimeError(f"sshd of {host.name} exited: {log.strip()[-500:]}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host.address, host.port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"sshd did not listen on {host.address}:{host.port}")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _wait_gone(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                break
            if state == "Z":
                break
            time.sleep(0.02)


WAVE = str(Path(sys.executable).parent / "wave")


def toml_value(value: Any) -> str:
    """A TOML literal for the values test configurations use."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are spelt alike


class Project:
    """A project directory whose environment ``fleet`` deploys to an ssh target ``web``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def write(
        self,
        target: dict[str, Any],
        *,
        endpoints: list[str] | None = None,
        bake: dict[str, Any] | None = None,
    ) -> None:
        lines = [
            "[project]",
            'name = "fleet-app"',
            "[environments.fleet]",
            'target = "web"',
            *([f"bake = {toml_value(bake)}"] if bake else []),
            "[targets.web]",
            'adapter = "ssh"',
            *(f"{k} = {toml_value(v)}" for k, v in target.items()),
            "[health]",
            "interval = 0.1",
            "consecutive = 2",
            "retries = 3",
            "deadline = 30",
            "timeout = 2",
            f"endpoints = {toml_value([{'path': p} for p in (endpoints or [])])}",
            "[approvals.deploy]",
            'fleet = "L5"',
            "[approvals.rollback]",
            'fleet = "L5"',
            "",
        ]
        (self.root / "wave.toml").write_text("\n".join(lines))

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return run_wave(*args, cwd=self.root, env=env, timeout=timeout)

    def wave(self, **kwargs: Any) -> Wave:
        kwargs.setdefault("reporter", ListReporter())
        kwargs.setdefault("deployer", "tester")
        return Wave(self.root / "wave.toml", **kwargs)


StartHosts = Callable[..., list[SSHHost]]
"""The ``start_hosts`` fixture: ``start_hosts(n, known=True)``."""

MakeApp = Callable[..., Release]
"""The ``make_app`` fixture: ``make_app("v1", failing=(), requires=())``."""
