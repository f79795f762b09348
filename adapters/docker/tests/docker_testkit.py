"""Real parts for the Docker adapter's tests: an engine, a registry, images FROM scratch.

Nothing here is a mock. The engine is Debian's ``dockerd`` (started with
``--bridge=none --iptables=false`` under a directory of its own, so it never meets a system
daemon), the registry is Debian's ``docker-registry``, and the images are built
``FROM scratch`` with Debian's static busybox, whose ``httpd`` serves the health files on a
loopback port (host networking). No image is ever pulled from outside.

A component that is already running is used and left alone; one started here is stopped
here, by the pid it was started with.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from docker import APIClient

from wave_sdk.config import parse_config
from wave_sdk.reporting import ListReporter
from wave_sdk.wave import Wave

WAVE = str(Path(sys.executable).parent / "wave")
"""The `wave` command of the interpreter running the tests."""
STATE_ROOT = Path("/var/lib/wave-test-docker")
"""Where the test engine and registry keep their files (root's, like any engine's)."""
REGISTRY = "127.0.0.1:5000"
HEALTH_PATHS = ("/api/health/", "/api/health/db/", "/api/health/external/")
"""busybox httpd redirects /api/health to /api/health/ (a directory): probe the latter."""
HEALTH_ENDPOINTS = [{"path": p} for p in HEALTH_PATHS]
REGISTRY_USER, REGISTRY_PASSWORD = "wave", "wave-registry-pass"
_HTPASSWD = "wave:$2b$04$8oBbinEeLCwROuhIw.ZKcOpKXUqxLnX9BJp4ILGRdv6kfsrVglJ36\n"
"""bcrypt (cost 4, for speed) of REGISTRY_PASSWORD; the registry accepts bcrypt only."""


# -- the engine ------------------------------------------------------------------------

_SBIN_PATH = ":".join(
    dict.fromkeys([*os.environ.get("PATH", "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"])
).strip(":")
"""PATH plus the sbin directories, where Debian puts dockerd and runc (root's PATH has them)."""


def _sbin(name: str) -> str | None:
    return shutil.which(name, path=_SBIN_PATH)


def engine_answers(host: str, timeout: float = 3.0) -> bool:
    """Whether a Docker engine answers ``/_ping`` at ``host``."""
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        return False
    try:
        client = APIClient(base_url=host, version="auto", timeout=int(timeout))
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


class Daemon:
    """A ``dockerd`` of our own: data, exec root, pid file and socket under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.log = root / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        dockerd = _sbin("dockerd")
        if dockerd is None:
            raise RuntimeError("dockerd is not on PATH (Debian: apt-get install docker.io)")
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    dockerd,
                    "--bridge=none",
                    "--iptables=false",
                    "--data-root",
                    str(self.root / "data"),
                    "--exec-root",
                    str(self.root / "exec"),
                    "--pidfile",
                    str(self.root / "dockerd.pid"),
                    "-H",
                    self.host,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PATH": _SBIN_PATH},  # it runs containerd and runc
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dockerd exited with code {self.process.returncode}: {self.tail()}"
                )
            if engine_answers(self.host, timeout=2):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dockerd did not answer within {timeout:g}s: {self.tail()}")

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (dockerd stops its containers and its containerd), SIGKILL if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])

    def remove_files(self) -> None:
        """Delete ``root`` once stopped (unmounting anything the engine left mounted)."""
        with contextlib.suppress(OSError):
            mounts = Path("/proc/self/mounts").read_text().splitlines()
            for line in reversed(mounts):
                point = line.split()[1]
                if point.startswith(str(self.root) + "/"):
                    subprocess.run(["umount", "-l", point], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


# -- the registry ----------------------------------------------------------------------


def registry_answers(address: str) -> bool:
    """Whether a Docker registry (API v2) answers at ``address``."""
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as response:
            return bool(response.headers.get("Docker-Distribution-Api-Version"))
    except urllib.error.HTTPError as exc:  # 401 from a registry that wants credentials
        return bool(exc.headers.get("Docker-Distribution-Api-Version"))
    except OSError:
        return False


class Registry:
    """A ``docker-registry`` of our own on ``address``, storage under ``root``."""

    def __init__(self, root: Path, address: str, *, htpasswd: bool = False) -> None:
        self.root = root
        self.address = address
        self.htpasswd = htpasswd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        binary = _sbin("docker-registry") or _sbin("registry")
        if binary is None:
            raise RuntimeError("docker-registry is not on PATH (Debian: docker-registry)")
        self.root.mkdir(parents=True, exist_ok=True)
        auth = ""
        if self.htpasswd:
            (self.root / "htpasswd").write_text(_HTPASSWD)
            auth = f"auth:\n  htpasswd:\n    realm: wave-test\n    path: {self.root / 'htpasswd'}\n"
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.root / 'data'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n" + auth
        )
        log = open(self.root / "registry.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.tail()}")
            if registry_answers(self.address):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.address}: {self.tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def tail(self) -> str:
        try:
            return " | ".join((self.root / "registry.log").read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"


def registry_tags(address: str, repository: str) -> list[str]:
    """The tags the registry at ``address`` holds for ``repository`` (API v2)."""
    try:
        with urllib.request.urlopen(
            f"http://{address}/v2/{repository}/tags/list", timeout=5
        ) as response:
            import json

            return sorted(json.loads(response.read()).get("tags") or [])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise


# -- images ----------------------------------------------------------------------------


def static_busybox() -> str | None:
    """The path of a statically linked busybox (Debian: busybox-static), or ``None``."""
    for candidate in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox")):
        if candidate and os.path.isfile(candidate) and _is_static_elf(Path(candidate)):
            return candidate
    return None


def _is_static_elf(path: Path) -> bool:
    """An ELF executable without a program interpreter (PT_INTERP) runs FROM scratch."""
    with open(path, "rb") as file:
        header = file.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit only: this machine's kind
            return False
        (phoff,) = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        file.seek(phoff)
        table = file.read(phentsize * phnum)
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def write_context(
    directory: Path,
    version: str,
    *,
    busybox: str,
    failing: tuple[str, ...] = (),
    healthcheck: bool = True,
    exit_code: int | None = None,
    log: tuple[str, ...] = (),
) -> Path:
    """A build context: busybox ``httpd`` on 127.0.0.1:$PORT serving the health files.

    It prints the lines of ``log``, then ``health app <version> listening on port …``.

    ``failing`` lists health paths left out (they answer 404); ``healthcheck`` adds a Docker
    HEALTHCHECK probing ``/api/health/``; ``exit_code`` makes an image that prints two log
    lines and exits with that code at once.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(busybox, directory / "busybox")
    (directory / "busybox").chmod(0o755)
    www = directory / "www"
    for path in HEALTH_PATHS:
        if path in failing:
            continue
        page = www / path.strip("/") / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f'{{"status": "ok", "version": "{version}"}}\n')
    (www / "index.html").write_text(f'{{"app": "wave busybox app", "version": "{version}"}}\n')
    if exit_code is not None:
        command = (
            f'echo "app {version} starting"; '
            f'echo "fatal: cannot open /data/app.db: no such file or directory" >&2; '
            f"exit {exit_code}"
        )
    else:
        command = "".join(f'echo "{line}"; ' for line in log) + (
            f'echo "health app {version} listening on port ${{PORT:-8080}}"; '
            "exec /bin/busybox httpd -f -v -p 127.0.0.1:${PORT:-8080} -h /www"
        )
    lines = [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        "COPY www /www",
        f'LABEL org.opencontainers.image.version="{version}"',
    ]
    if healthcheck and exit_code is None:
        lines.append(
            "HEALTHCHECK --interval=250ms --timeout=2s --retries=3 CMD "
            '["/bin/busybox", "sh", "-c", '
            '"/bin/busybox wget -q -O /dev/null http://127.0.0.1:${PORT:-8080}/api/health/"]'
        )
    lines.append(f'ENTRYPOINT ["/bin/busybox", "sh", "-c", "{_escape(command)}"]')
    (directory / "Dockerfile").write_text("\n".join(lines) + "\n")
    return directory


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# -- cleanup ---------------------------------------------------------------------------


def purge(api: APIClient, label: str) -> list[str]:
    """Remove every container and image carrying ``label``; return what was removed."""
    removed: list[str] = []
    for row in api.containers(all=True, filters={"label": label}):
        api.remove_container(row["Id"], force=True)
        removed.append("container " + (row.get("Names") or [row["Id"]])[0].lstrip("/"))
    for image in api.images(filters={"label": label}):
        tags = [t for t in image.get("RepoTags") or () if t != "<none>:<none>"]
        for tag in tags or [image["Id"]]:
            with contextlib.suppress(Exception):
                api.remove_image(tag, force=True)
        removed.append("image " + (", ".join(tags) or image["Id"][:19]))
    return removed


# -- a project -------------------------------------------------------------------------


ENVIRONMENT, TARGET = "staging", "web"


def wave_for(
    root: Path, target: dict[str, Any], *, project: str = "tests", **environment: Any
) -> Wave:
    """A :class:`Wave` over one docker target in ``staging``; nothing needs approving.

    ``environment`` adds keys to ``[environments.staging]`` (a ``bake`` table, say).
    """
    root.mkdir(parents=True, exist_ok=True)
    config = parse_config(
        {
            "project": {"name": project},
            "environments": {
                ENVIRONMENT: {
                    "branch": "develop",
                    "target": TARGET,
                    "allow_lower_approvals": True,
                    **environment,
                }
            },
            "targets": {TARGET: {"adapter": "docker", **target}},
            "health": {
                "endpoints": HEALTH_ENDPOINTS,
                "interval": 0.1,
                "consecutive": 2,
                "retries": 3,
                "deadline": 30,
                "timeout": 2,
            },
            "approvals": {a: {ENVIRONMENT: "L5"} for a in ("deploy", "rollback")},
        },
        file=root / "wave.toml",
    )
    return Wave(config, reporter=ListReporter(), deployer="docker-tests")
