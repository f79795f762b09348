"""The SSH transport: :class:`wave_sdk.transport.Transport` over one asyncssh connection.

One :class:`Session` per adapter instance owns an asyncio event loop in a daemon thread;
every host's :class:`SSHTransport` opens its connection on that loop the first time it is
used and keeps it for the whole command (deploy, verify, roll back): no reconnect per
command. The layout and the adapter call the transport from worker threads, one per host,
with plain synchronous calls; each call is a coroutine run on the loop, so twenty hosts
cost twenty sockets and one thread of SSH I/O.

Quoting: a command is an argv list. It reaches the remote login shell as the arguments
joined with :func:`shlex.quote`, so no release id, path or name can be read as shell
syntax; where a pipeline or a loop is needed, the script is a constant and the values are
its positional parameters (``sh -c SCRIPT sh VALUE…``). Secrets never appear on a command
line: an environment travels on stdin (``eval "$(cat)"`` of ``export K='v'`` lines) and
files are written through stdin with ``umask 077``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shlex
import tarfile
import tempfile
import threading
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from wave_sdk.sources import walk
from wave_sdk.transport import CommandResult
from wave_sdk_ssh.errors import (
    ConnectionLost,
    HostError,
    RemoteCommandFailed,
    map_ssh_error,
)

if TYPE_CHECKING:
    import asyncssh

    from wave_sdk_ssh.config import Host

T = TypeVar("T")

MISSING = 44
"""Exit status of the remote ``read_text`` script when the file does not exist."""

CHUNK = 256 * 1024

_READ = 'test -e "$1" || exit 44; exec cat -- "$1"'
_WRITE = 'umask 077; t="$1.wave-$$"; cat > "$t" && chmod "$2" "$t" && mv -f -- "$t" "$1"'
_UNPACK = 'mkdir -- "$1" && exec tar -x -f - --no-same-owner -C "$1"'


@dataclass(frozen=True, kw_only=True)
class ConnectOptions:
    """How every host of a target is connected to (see :class:`~wave_sdk_ssh.config.SSHTarget`)."""

    known_hosts: str | None
    """known_hosts file, expanded; ``None`` only when verification is turned off."""
    client_keys: tuple[str, ...] = ()
    passphrase: SecretStr | None = None
    agent: bool = True
    connect_timeout: float = 10.0
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    command_timeout: float = 900.0


def _together(commands: Sequence[Sequence[str]]) -> tuple[str, list[str]]:
    """A constant script running each command in turn, and its positional parameters.

    ``$1`` is a boundary; each command's words follow as ``${n}`` references, never as
    text of the script; after each, a line ``<boundary> <exit status>``, after a newline
    of its own (the command's output may not end in one).
    """
    lines: list[str] = []
    args: list[str] = []
    n = 2
    for argv in commands:
        if not argv:
            raise ValueError("an empty command")
        words = " ".join(f'"${{{n + k}}}"' for k in range(len(argv)))
        lines.append(f'{words} </dev/null; printf \'\\n%s %s\\n\' "$1" "$?"')
        args += argv
        n += len(argv)
    return "\n".join(lines) + "\n", args


def command_line(argv: Sequence[str], *, cwd: str | None = None, env: bool = False) -> str:
    """The text the remote shell runs for ``argv``: every argument quoted."""
    if not argv:
        raise ValueError("empty command")
    line = " ".join(shlex.quote(str(a)) for a in argv)
    if cwd is not None:
        line = f"cd -- {shlex.quote(cwd)} && {line}"
    if env:
        # The exports arrive on stdin: nothing of their values is in this line (or in ps).
        line = f'eval "$(cat)" && {line}'
    return line


def exports(env: Mapping[str, str | SecretStr]) -> str:
    """``export KEY='value'`` lines for :func:`command_line`'s ``env`` mode."""
    lines = []
    for key, value in env.items():
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        lines.append(f"export {key}={shlex.quote(text)}\n")
    return "".join(lines)


class Session:
    """An event loop in a thread, shared by the transports of one adapter instance."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._bundles: dict[tuple[Path, tuple[str, ...]], Bundle] = {}

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the session's loop and wait for its result in this thread."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="wave-ssh", daemon=True
                )
                self._thread.start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def bundle(self, source: Path, exclude: Sequence[str]) -> Bundle:
        """The tar archive of ``source``, built once per deploy whatever the number of hosts."""
        key = (source.resolve(), tuple(exclude))
        with self._lock:
            bundle = self._bundles.get(key)
            if bundle is None:
                bundle = self._bundles[key] = Bundle(source, exclude)
        return bundle

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
            bundles, self._bundles = list(self._bundles.values()), {}
        for bundle in bundles:
            bundle.close()
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        loop.close()


class Bundle:
    """A release directory as one tar file: uploaded with one command per host.

    Built lazily, under a lock, the first time it is asked for, and then streamed to every
    host from the same file. Its entries are those of :func:`wave_sdk.sources.walk`, which
    refuses a link out of the tree, a device, a FIFO or a socket before the archive is
    begun; links inside the tree stay links. Names in ``exclude`` are left out at any
    depth, and ownership is dropped.
    """

    def __init__(self, source: Path, exclude: Sequence[str]) -> None:
        self.source = source
        self.exclude = tuple(exclude)
        self._path: str | None = None
        self._lock = threading.Lock()
        self.size = 0

    def path(self) -> str:
        with self._lock:
            if self._path is None:
                entries = walk(self.source, exclude=self.exclude)
                fd, name = tempfile.mkstemp(prefix="wave-ssh-", suffix=".tar")
                try:
                    with (
                        os.fdopen(fd, "wb") as raw,
                        tarfile.open(fileobj=raw, mode="w") as tar,
                    ):
                        for entry in entries:
                            tar.add(
                                self.source / entry.path,
                                arcname=entry.path,
                                recursive=False,
                                filter=_anonymous,
                            )
                except OSError as exc:
                    os.unlink(name)
                    raise HostError(
                        f"cannot read the release directory {self.source}: {exc.strerror or exc}",
                        host="(local)",
                    ) from None
                self.size = os.path.getsize(name)
                self._path = name
            return self._path

    def close(self) -> None:
        with self._lock:
            if self._path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._path)
                self._path = None


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class SSHTransport:
    """:class:`wave_sdk.transport.Transport` for one host, over one reused connection."""

    def __init__(self, host: Host, options: ConnectOptions, session: Session) -> None:
        self.host = host
        self.options = options
        self.session = session
        self.commands = 0
        """Remote commands run (each one an SSH channel on the one connection)."""
        self.connects = 0
        """Connections opened: 1 for a whole deploy, whatever it runs."""
        self.connect_seconds: float | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lost: HostError | None = None
        self._lock = threading.Lock()

    # -- the connection ----------------------------------------------------------------

    def connect(self, *, again: bool = False) -> None:
        """Open the connection now (it is otherwise opened by the first command).

        A connection that was lost stays lost — every later command fails at once with the
        same error — unless ``again`` asks for a new one: the adapter does that only at the
        start of an operation or to put a host back on its release, never silently in the
        middle of one.
        """
        with self._lock:
            if self._lost is not None and again:
                self._lost = None
            if self._lost is not None:
                raise self._lost
            if self._conn is None:
                started = time.monotonic()
                self._conn = self.session.call(self._connect())
                self.connect_seconds = time.monotonic() - started
                self.connects += 1

    async def _connect(self) -> asyncssh.SSHClientConnection:
        import asyncssh

        o = self.options
        try:
            return await asyncssh.connect(
                self.host.address,
                self.host.port,
                username=self.host.user or (),
                known_hosts=o.known_hosts,
                client_keys=list(o.client_keys) or (),
                passphrase=o.passphrase.get_secret_value() if o.passphrase else None,
                agent_path=() if o.agent else None,
                # Only what the target says: no ~/.ssh/config surprises between machines.
                config=None,
                connect_timeout=o.connect_timeout,
                login_timeout=o.connect_timeout,
                keepalive_interval=o.keepalive_interval or None,
                keepalive_count_max=o.keepalive_count_max,
            )
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise map_ssh_error(exc, self.host, known_hosts=o.known_hosts) from None

    @property
    def lost(self) -> bool:
        """Whether the connection dropped (and no new one was asked for since)."""
        return self._lost is not None

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:

            async def shut() -> None:
                conn.close()
                await conn.wait_closed()

            # Closing a connection that already died is not news.
            with contextlib.suppress(Exception):
                self.session.call(asyncio.wait_for(shut(), 5))

    def _connection(self) -> asyncssh.SSHClientConnection:
        self.connect()
        assert self._conn is not None
        return self._conn

    def _dropped(self, exc: BaseException, what: str) -> HostError:
        """The connection is gone: remember it, so later calls fail at once and alike."""
        error = ConnectionLost(
            f"{self.host.name}: connection lost during {what}: "
            f"{getattr(exc, 'reason', None) or exc or type(exc).__name__}",
            host=self.host.name,
        )
        with self._lock:
            self._lost = error
            self._conn = None
        return error

    # -- Transport ---------------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str | SecretStr] | None = None,
        timeout: float | None = None,
        check: bool = True,
        input: str | None = None,
    ) -> CommandResult:
        """Run ``argv`` on the host; ``env`` is sent on stdin, so it excludes ``input``."""
        if env and input is not None:
            raise ValueError("a command gets either env or input on stdin, not both")
        line = command_line(argv, cwd=cwd, env=bool(env))
        stdin = exports(env) if env else input
        conn = self._connection()
        limit = timeout or self.options.command_timeout
        self.commands += 1
        try:
            done = self.session.call(_run(conn, line, stdin, limit))
        except TimeoutError:
            raise RemoteCommandFailed(
                f"{self.host.name}: {argv[0]} did not finish within {limit:g}s",
                host=self.host.name,
                returncode=-1,
            ) from None
        except Exception as exc:
            raise self._dropped(exc, argv[0]) from None
        code, stdout, stderr = done
        result = CommandResult(tuple(argv), code, stdout, stderr)
        if check and not result.ok:
            tail = (stderr or stdout).strip().splitlines()[-5:]
            raise RemoteCommandFailed(
                f"{self.host.name}: {argv[0]} exited with {code}: {' | '.join(tail)}",
                host=self.host.name,
                returncode=code,
            )
        return result

    def run_together(
        self, commands: Sequence[Sequence[str]], *, timeout: float | None = None
    ) -> list[CommandResult]:
        """Run ``commands`` one after another in one session: one round trip, not several.

        For reads that always go together (a brief status: the release survey and the
        processes). Each command's stdout and exit status come back apart; none stops the
        next, and each result carries the session's whole stderr. Like :meth:`run`'s,
        every value is a positional parameter of a constant script (see ``_together``).
        """
        boundary = f"--wave-{secrets.token_hex(8)}--"
        script, args = _together(commands)
        result = self.run(["sh", "-c", script, "sh", boundary, *args], timeout=timeout, check=False)
        results: list[CommandResult] = []
        rest = result.stdout
        for argv in commands:
            out, mark, rest = rest.partition(f"\n{boundary} ")
            code, newline, rest = rest.partition("\n")
            if not mark or not newline or not code.isdigit():
                tail = " | ".join(result.stderr.strip().splitlines()[-3:]) or "no output"
                raise RemoteCommandFailed(
                    f"{self.host.name}: commands run together did not all finish "
                    f"(exit {result.returncode}): {tail}",
                    host=self.host.name,
                    returncode=result.returncode,
                )
            results.append(CommandResult(tuple(argv), int(code), out, result.stderr))
        return results

    def put_tree(self, source: Path, dest: str, *, exclude: Sequence[str] = ()) -> None:
        self.upload(
            source,
            ["sh", "-c", _UNPACK, "sh", dest],
            exclude=exclude,
            what=f"cannot unpack the release into {dest}",
        )

    def upload(
        self, source: Path, argv: Sequence[str], *, exclude: Sequence[str] = (), what: str
    ) -> None:
        """Run ``argv`` on the host with ``source`` as a tar archive on its stdin: one command.

        ``what`` begins the error when ``argv`` fails (its stderr's last lines follow).
        """
        archive = self.session.bundle(source, exclude).path()
        line = command_line(argv)
        conn = self._connection()
        self.commands += 1
        try:
            code, _, stderr = self.session.call(
                _upload(conn, line, archive, self.options.command_timeout)
            )
        except TimeoutError:
            raise RemoteCommandFailed(
                f"{self.host.name}: upload of {source.name or source} did not finish in time",
                host=self.host.name,
                returncode=-1,
            ) from None
        except Exception as exc:
            raise self._dropped(exc, "upload") from None
        if code != 0:
            raise RemoteCommandFailed(
                f"{self.host.name}: {what}: " + " | ".join(stderr.strip().splitlines()[-3:]),
                host=self.host.name,
                returncode=code,
            )

    def read_text(self, path: str) -> str | None:
        result = self.run(["sh", "-c", _READ, "sh", path], check=False)
        if result.returncode == MISSING:
            return None
        if not result.ok:
            raise RemoteCommandFailed(
                f"{self.host.name}: cannot read {path}: {result.stderr.strip()}",
                host=self.host.name,
                returncode=result.returncode,
            )
        return result.stdout

    def write_text(self, path: str, text: str, *, mode: str = "644") -> None:
        """Replace the file atomically, its text sent on stdin (``mode`` 600 for secrets)."""
        self.run(["sh", "-c", _WRITE, "sh", path, mode], input=text)


async def _run(
    conn: asyncssh.SSHClientConnection, line: str, stdin: str | None, timeout: float
) -> tuple[int, str, str]:
    process = await conn.create_process(line, errors="replace")
    try:
        if stdin is not None:
            process.stdin.write(stdin)
        process.stdin.write_eof()
        done = await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        _abandon(process)
        raise
    return _code(done), str(done.stdout or ""), str(done.stderr or "")


def _abandon(process: Any) -> None:
    """Stop a remote command we gave up on: TERM it (OpenSSH 7.9+ honours the request)."""
    with contextlib.suppress(Exception):
        process.send_signal("TERM")
    process.close()


async def _upload(
    conn: asyncssh.SSHClientConnection, line: str, archive: str, timeout: float
) -> tuple[int, str, str]:
    process = await conn.create_process(line, encoding=None)
    try:
        async with asyncio.timeout(timeout):
            with open(archive, "rb") as tar:  # page-cached reads: short enough for the loop
                while chunk := tar.read(CHUNK):
                    process.stdin.write(chunk)
                    await process.stdin.drain()
            process.stdin.write_eof()
            done = await process.wait()
    except TimeoutError:
        _abandon(process)
        raise
    stderr = done.stderr or b""
    return _code(done), "", bytes(stderr).decode(errors="replace")  # type: ignore[arg-type]


class ChannelDropped(Exception):
    """The command's channel closed with neither an exit status nor a signal."""


def _code(done: Any) -> int:
    if done.exit_status is not None and done.exit_status >= 0:
        return int(done.exit_status)
    if done.exit_signal:
        # Killed by a signal (exit_signal is (name, core, message, lang)): say so like a shell.
        return 128 + 15
    # sshd always reports how a command ended; silence means the connection went away.
    raise ChannelDropped("the channel closed without an exit status")
