"""The SSH transport on a real sshd: one connection, timeouts, keepalive, files, imports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sshd_farm as kit
from wave_sdk_ssh.adapter import SSHAdapter
from wave_sdk_ssh.config import SSHTarget
from wave_sdk_ssh.errors import ConnectionLost, HostUnreachable, RemoteCommandFailed
from wave_sdk_ssh.process import Systemd

from wave_sdk.adapter import TargetContext
from wave_sdk.errors import UsageError
from wave_sdk.reporting import ListReporter
from wave_sdk.transport import CommandResult

pytest_plugins = ["wave_sdk.testing.plugin"]


def _adapter(farm: kit.Farm, hosts: list[kit.SSHHost], **extra: Any) -> SSHAdapter:
    config = SSHTarget.model_validate(farm.target(hosts, **extra))
    context = TargetContext(
        target="web",
        environment="fleet",
        project="p",
        root=farm.base,
        state_dir=farm.base,
        reporter=ListReporter(),
    )
    return SSHAdapter(config=config, context=context)


def test_one_connection_carries_every_command(farm: kit.Farm, start_hosts: kit.StartHosts) -> None:
    [host] = start_hosts(1)
    adapter = _adapter(farm, [host])
    t = adapter.transport(adapter.hosts[0])
    try:
        for _ in range(30):
            t.run(["true"])
        t.write_text(str(host.directory / "f"), "x")
        assert t.read_text(str(host.directory / "f")) == "x"
    finally:
        adapter.close()
    assert (t.connects, t.commands) == (1, 32)
    assert host.logins() == 1


def test_put_tree_uploads_one_archive_with_exclusions(
    farm: kit.Farm, start_hosts: kit.StartHosts, tmp_path: Path
) -> None:
    [host] = start_hosts(1)
    source = tmp_path / "site"
    (source / "sub" / ".git").mkdir(parents=True)
    (source / "sub" / "page.txt").write_text("page")
    (source / "sub" / ".git" / "HEAD").write_text("ref")
    (source / "run.sh").write_text("#!/bin/sh\n")
    (source / "run.sh").chmod(0o755)
    (source / "link.txt").symlink_to("sub/page.txt")  # inside the tree: kept as a link
    adapter = _adapter(farm, [host])
    t = adapter.transport(adapter.hosts[0])
    try:
        dest = str(host.directory / "copy")
        t.put_tree(source, dest, exclude=(".git",))
        assert t.commands == 1
    finally:
        adapter.close()
    copy = host.directory / "copy"
    assert (copy / "sub" / "page.txt").read_text() == "page"
    assert not (copy / "sub" / ".git").exists()
    assert os.access(copy / "run.sh", os.X_OK)
    assert os.readlink(copy / "link.txt") == "sub/page.txt"
    assert (copy / "link.txt").read_text() == "page"
    assert (copy / "sub" / "page.txt").stat().st_uid == farm.user.pw_uid


def test_put_tree_refuses_a_link_out_of_the_tree_before_connecting(
    farm: kit.Farm, start_hosts: kit.StartHosts, tmp_path: Path
) -> None:
    [host] = start_hosts(1)
    source = tmp_path / "site"
    source.mkdir()
    (source / "index.html").write_text("page")
    (tmp_path / "secret.txt").write_text("outside")
    (source / "secret.txt").symlink_to("../secret.txt")
    adapter = _adapter(farm, [host])
    t = adapter.transport(adapter.hosts[0])
    try:
        with pytest.raises(UsageError) as info:
            t.put_tree(source, str(host.directory / "copy"))
        assert (t.connects, t.commands) == (0, 0)
    finally:
        adapter.close()
    assert "'secret.txt' is a link to '../secret.txt', outside the source" in str(info.value)
    assert not (host.directory / "copy").exists()


def test_connect_timeout_on_a_silent_server(farm: kit.Farm) -> None:
    """A port that accepts and never speaks SSH: refused after connect_timeout, not hung."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    host = kit.SSHHost(
        name="mute",
        address="127.0.0.1",
        port=port,
        directory=farm.base,
        app_port=1,
        host_key=farm.client_key,
    )
    adapter = _adapter(farm, [host], connect_timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(HostUnreachable, match="did not answer within the connect timeout"):
            adapter.transport(adapter.hosts[0]).connect()
    finally:
        adapter.close()
        server.close()
    assert time.monotonic() - started < 5


def test_keepalive_notices_a_frozen_host(farm: kit.Farm, start_hosts: kit.StartHosts) -> None:
    """SIGSTOP the host's session processes: the next command fails in seconds, not never."""
    [host] = start_hosts(1)
    adapter = _adapter(farm, [host], keepalive_interval=0.5, keepalive_count_max=2)
    t = adapter.transport(adapter.hosts[0])
    assert host.process is not None
    try:
        t.run(["true"])
        sessions = kit._descendants(host.process.pid)
        assert sessions, "the connection's sshd processes"
        for pid in sessions:
            os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(ConnectionLost):
            t.run(["sleep", "60"])
        assert time.monotonic() - started < 10
        with pytest.raises(ConnectionLost):  # and it stays lost: no silent reconnect
            t.run(["true"])
    finally:
        for pid in kit._descendants(host.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        adapter.close()


def test_command_timeout(farm: kit.Farm, start_hosts: kit.StartHosts) -> None:
    [host] = start_hosts(1)
    adapter = _adapter(farm, [host])
    t = adapter.transport(adapter.hosts[0])
    try:
        started = time.monotonic()
        with pytest.raises(RemoteCommandFailed, match=r"did not finish within 0\.5s"):
            t.run(["sleep", "31.5"], timeout=0.5)
        assert time.monotonic() - started < 5
        # The abandoned command was stopped on the host, not left to run.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _running("sleep 31.5"):
            time.sleep(0.05)
        assert not _running("sleep 31.5")
        assert t.run(["echo", "still usable"]).stdout == "still usable\n"
    finally:
        adapter.close()


def _running(cmdline: str) -> bool:
    wanted = cmdline.replace(" ", "\0").encode()
    for pid in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if pid.isdigit() and Path(f"/proc/{pid}/cmdline").read_bytes().startswith(wanted):
                return True
    return False


def test_hosts_work_in_parallel(farm: kit.Farm, start_hosts: kit.StartHosts) -> None:
    """Ten hosts each sleeping 1 s take about 1 s, not 10: the fan-out is real."""
    hosts = start_hosts(10)
    adapter = _adapter(farm, hosts)
    runs = adapter._runs()
    started = time.monotonic()
    try:
        from wave_sdk_ssh.rollout import each

        each(runs, lambda r: r.transport.run(["sleep", "1"]), parallel=10, on_error=print)
    finally:
        adapter.close()
    assert time.monotonic() - started < 4


def test_wave_adapters_does_not_import_asyncssh() -> None:
    code = "import sys; sys.argv = ['wave', 'adapters']; from wave_sdk.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ssh " in result.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "asyncssh" not in imported and "wave_sdk_ssh.adapter" not in imported


class _Recorder:
    """A transport that records commands (systemd cannot run in this container)."""

    def __init__(self, show: str = "") -> None:
        self.commands: list[tuple[str, ...]] = []
        self.files: dict[str, tuple[str, str]] = {}
        self.show = show

    def run(self, argv: list[str], **kwargs: Any) -> CommandResult:
        self.commands.append(tuple(argv))
        return CommandResult(tuple(argv), 0, self.show, "")

    def write_text(self, path: str, text: str, *, mode: str = "644") -> None:
        self.files[path] = (text, mode)


def test_systemd_commands() -> None:
    from wave_sdk_ssh.config import Host, SystemdConfig

    host = Host(
        name="a",
        address="a",
        port=22,
        user=None,
        identity_file=None,
        deploy_path="/srv/app",
        app_port=3000,
        health_url="http://127.0.0.1:3000/api/health",
        env={"QUOTED": 'say "hi"\n'},
    )
    manager = Systemd(SystemdConfig(unit="app.service", sudo=True))
    recorder = _Recorder(
        "MainPID=42\nActiveState=active\nSubState=running\nNRestarts=3\n"
        "MemoryCurrent=1048576\nActiveEnterTimestamp=@1700000000\n"
    )
    manager.activate(recorder, host, "/srv/app", "v2")  # type: ignore[arg-type]
    assert recorder.commands == [("sudo", "-n", "systemctl", "restart", "app.service")]
    text, mode = recorder.files["/srv/app/app.env"]
    assert mode == "600"
    assert 'QUOTED="say \\"hi\\"\\n"' in text and 'WAVE_RELEASE="v2"' in text
    state = manager.state(recorder, host)  # type: ignore[arg-type]
    assert state.online and state.processes[0].pid == 42
    assert (state.processes[0].restarts, state.processes[0].memory) == (3, 1048576)
    user = Systemd(SystemdConfig(unit="app.service", scope="user"))
    assert user._systemctl("restart", "x") == ["systemctl", "--user", "restart", "x"]


def test_threads_share_one_loop(farm: kit.Farm, start_hosts: kit.StartHosts) -> None:
    hosts = start_hosts(2)
    adapter = _adapter(farm, hosts)
    try:
        for h in adapter.hosts:
            adapter.transport(h).run(["true"])
        loops = [t for t in threading.enumerate() if t.name == "wave-ssh"]
        assert len(loops) == 1
    finally:
        adapter.close()
    assert not [t for t in threading.enumerate() if t.name == "wave-ssh"]


def test_commands_run_together_take_one_session_and_keep_their_answers_apart(
    farm: kit.Farm, start_hosts: kit.StartHosts
) -> None:
    """Values stay words (quotes, `$(…)`, newlines); each exit status and output is its own."""
    [host] = start_hosts(1)
    adapter = _adapter(farm, [host])
    t = adapter.transport(adapter.hosts[0])
    pwned = Path(f"/tmp/wave-pwned-{os.getpid()}-{time.monotonic_ns()}")
    hostile = f"a b'\"$(touch {pwned})`touch {pwned}`\n; touch {pwned}"
    try:
        t.connect()
        before = host.sessions()
        echoed, failed, unfinished, read = t.run_together(
            [
                ["printf", "%s", hostile],
                ["sh", "-c", "echo out; echo err >&2; exit 3"],
                ["printf", "no newline"],
                ["cat"],  # stdin is not the session's: it ends at once
            ]
        )
        assert host.sessions() - before == 1
    finally:
        adapter.close()
    assert (echoed.returncode, echoed.stdout) == (0, hostile)
    assert (failed.returncode, failed.stdout) == (3, "out\n")
    assert "err" in failed.stderr
    assert (unfinished.returncode, unfinished.stdout) == (0, "no newline")
    assert (read.returncode, read.stdout) == (0, "")
    assert not pwned.exists()
