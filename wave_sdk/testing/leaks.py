"""What a test left behind: processes it started that still run, files still on the target.

A :class:`ProcessWatch` notes every process that runs when a test starts; afterwards, the
processes started since then that bear one of the test's marks — an environment variable
set to the test's unique marker or to its port, or a listening socket on its port — are
what the test leaked. Marks keep the look to this test's own processes while other tests
run beside it on the same machine. Processes are read with psutil.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import psutil

MARKER_VARIABLE = "WAVE_CONTRACT_MARKER"
"""The environment variable the conformance suite sets to each test's unique marker.

It is set in the test process while the test runs, so every process the adapter starts
on this machine inherits it — and one still running after ``teardown_target`` is a leak.
"""


class ProcessWatch:
    """The processes running when it was made: anything started later is the test's doing."""

    def __init__(self) -> None:
        self._before = {_identity(p) for p in psutil.process_iter(["create_time"])}

    def leaked(
        self, *, env: Mapping[str, Iterable[str]] | None = None, ports: Iterable[int] = ()
    ) -> list[str]:
        """Processes started since the watch began that still run and bear a mark.

        A mark is an environment variable named in ``env`` set to one of its values, or a
        socket listening on one of ``ports``. One line per process: pid, command, marks.
        The test process itself is left out.
        """
        wanted = {name: set(values) for name, values in (env or {}).items()}
        ports = set(ports)
        listeners = _listeners(ports) if ports else {}
        found = []
        for proc in psutil.process_iter(["create_time", "cmdline", "environ", "status"]):
            if proc.pid == os.getpid() or _identity(proc) in self._before:
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue  # it runs nothing and holds nothing but its pid
            environ: dict[str, str] = proc.info["environ"] or {}
            marks = [
                f"{name}={environ[name]}"
                for name, values in wanted.items()
                if environ.get(name) in values
            ]
            marks += [f"listens on port {port}" for port in sorted(listeners.get(proc.pid, ()))]
            if marks:
                command = " ".join(" ".join(proc.info["cmdline"] or []).split())[:160] or "?"
                found.append(f"process {proc.pid} ({command}): {', '.join(marks)}")
        return found


def _listeners(ports: set[int]) -> dict[int, set[int]]:
    """The pids listening on any of ``ports``, with the ports each listens on."""
    try:
        connections = psutil.net_connections("inet")
    except psutil.AccessDenied:  # some systems show sockets to root only: marks by env remain
        return {}
    found: dict[int, set[int]] = {}
    for conn in connections:
        port = conn.laddr.port if conn.laddr else None  # an unbound socket has no address
        if conn.status == psutil.CONN_LISTEN and conn.pid and port in ports:
            found.setdefault(conn.pid, set()).add(port)
    return found


def _identity(proc: psutil.Process) -> tuple[int, float | None]:
    # A pid may be reused: the start time tells a new process from the one noted before.
    return proc.pid, proc.info.get("create_time")


def files_under(path: str | os.PathLike[str], *, limit: int = 20) -> list[str]:
    """What is left at ``path``: the file, or the entries of the directory tree, one a line.

    Nothing when ``path`` does not exist or is an empty directory (the directory itself may
    belong to whoever made the target). At most ``limit`` lines, then a count of the rest.
    """
    root = Path(path)
    if not root.exists() and not root.is_symlink():
        return []
    if not root.is_dir() or root.is_symlink():
        return [f"file {root}"]
    left = sorted(str(p) for p in root.rglob("*"))
    lines = [f"file {p}" for p in left[:limit]]
    if len(left) > limit:
        lines.append(f"… and {len(left) - limit} more under {root}")
    return lines
