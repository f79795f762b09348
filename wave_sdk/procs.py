"""The one way wave starts a child process: its own process group, a bounded wait, no leftovers.

Every command wave runs — checks and the smoke test, migration commands and the database
clients, git, the local transport's commands — starts here, as the leader of a new session
(and so of a process group of its own). When the step is over the *whole group* is ended:

* at the deadline (``timeout``), which every wait has;
* when the leader exits but left children behind (``sh -c 'server &'``): they would
  otherwise be re-parented to PID 1 and outlive the step, and ``wave`` itself;
* on *any* exception while waiting — ``KeyboardInterrupt``, ``SystemExit``, or an exception
  a signal handler raises in the waiting thread — after which the exception goes on.

Ending a group is ``SIGTERM``, a short grace (:data:`GRACE_S`) for the members to exit,
then ``SIGKILL``, and the leader is reaped. A child that moves itself to another session
(a daemon that calls ``setsid``) is out of reach, as it means to be.

Why by hand: ``subprocess.run(timeout=)`` kills only the direct child (the shell of a shell
command line), and with captured pipes it even waits for the grandchildren that still hold
them. Output therefore goes to temporary files, read once the group is gone, so a
background child that keeps the descriptor open delays nothing. No well-kept library does
process groups with a bounded wait and a grace (``psutil`` walks process trees, which a
re-parented grandchild has already left), so this module is the small part written here.

Threads: the exception of a signal reaches the main thread only. A thread that waits for
others which run commands (the checks' pool) calls :func:`end_all` when it is interrupted,
so that those commands stop too rather than being waited for.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, final

from wave_sdk import secrets

__all__ = [
    "GRACE_S",
    "Child",
    "Result",
    "command_argv",
    "end_all",
    "run",
    "shown",
    "start",
]

GRACE_S = 2.0
"""Seconds a process group has to exit after SIGTERM before it gets SIGKILL."""

_KILL_WAIT_S = 5.0
"""Seconds to wait for a group to vanish after SIGKILL (only uninterruptible I/O delays it)."""

TAIL_LINES = 20
"""Lines of output :meth:`Result.tail` keeps by default."""

Stream = int | IO[bytes] | None
"""What a child's standard stream is: ``subprocess.DEVNULL``/``PIPE``/``STDOUT`` or a file."""


def command_argv(command: str | Sequence[str]) -> list[str]:
    """The argv of a configured command: a string is a shell command line, a list an argv.

    A string runs as ``/bin/sh -c STRING`` — what ``subprocess``'s ``shell=True`` does — so
    pipes, ``&&`` and variables work as the user wrote them; a list runs without a shell.
    """
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    return list(command)


def shown(command: str | Sequence[str]) -> str:
    """A configured command as a person reads it: the string as written, a list quoted."""
    return command if isinstance(command, str) else shlex.join(command)


# -- the result ------------------------------------------------------------------------


@final
@dataclass(frozen=True, kw_only=True)
class Result:
    """What :func:`run` saw.

    Attributes:
        argv: what ran.
        returncode: the exit status; negative ``-N`` when signal ``N`` ended the leader
            (``-15`` or ``-9`` after a timeout).
        stdout: the standard output, decoded as UTF-8 (invalid bytes replaced); with
            ``merge_stderr`` the error output too, interleaved as written.
        stderr: the error output ("" with ``merge_stderr``).
        timed_out: the deadline passed and the group was ended.
        timeout: the deadline it had, in seconds.
        duration_s: how long it took, deadline and ending included.

    The text is as the process wrote it: parse it freely, but pass it through
    :meth:`tail` (or :func:`wave_sdk.secrets.redact`) before a person or a file sees it.

    """

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    timeout: float
    duration_s: float

    @property
    def ok(self) -> bool:
        """Exited 0 before its deadline."""
        return self.returncode == 0 and not self.timed_out

    @property
    def output(self) -> str:
        """Standard output then error output (all of it, in order, with ``merge_stderr``)."""
        return self.stdout + self.stderr

    def outcome(self) -> str:
        """How it ended, to follow a command in a message: ``exited 3``, ``timed out …``."""
        if self.timed_out:
            return f"timed out after {self.timeout:g}s (killed)"
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            return f"was killed by {name}"
        return f"exited {self.returncode}"

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of :attr:`output`, secrets masked: what to report."""
        # Masked before it is cut: a secret holding a newline may straddle the cut.
        return "\n".join(secrets.redact(self.output).strip().splitlines()[-lines:])


# -- a started child -------------------------------------------------------------------

_live_lock = threading.Lock()
_live: set[Child] = set()


@final
class Child:
    """A child process started by :func:`start`, leader of a process group of its own.

    Use it as a context manager: leaving the block — normally or by any exception — ends
    the whole group (:meth:`end`). :attr:`popen` is the :class:`subprocess.Popen` for its
    streams (``popen.stdin``/``popen.stdout`` when they are pipes).
    """

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self._lock = threading.Lock()
        self._ended = False

    @property
    def pid(self) -> int:
        """The leader's pid, which is also the group's id."""
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The leader's exit status once it was reaped (see :attr:`Result.returncode`)."""
        return self.popen.returncode

    def wait(self, timeout: float) -> int | None:
        """Wait at most ``timeout`` seconds for the leader; its exit status, or ``None``."""
        timeout = max(0.0, timeout)
        if self.popen.returncode is None and _exited_within(self.pid, timeout) is False:
            return None
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def end(self) -> None:
        """End the group: SIGTERM, :data:`GRACE_S` to exit, SIGKILL; reap the leader.

        Returns at once when nothing of the group is left. Safe to call again, and from
        another thread (a timer ending a pipeline at its deadline). An exception while
        waiting out the grace (a second Ctrl-C) sends SIGKILL before it goes on.
        """
        with self._lock:
            if self._ended:
                return
            try:
                self.popen.poll()  # a leader that exited is reaped first: see _gone_within
                if self._signal(signal.SIGTERM) and not self._gone_within(GRACE_S):
                    self._signal(signal.SIGKILL)
                    self._gone_within(_KILL_WAIT_S)
            except BaseException:
                self._signal(signal.SIGKILL)
                raise
            finally:
                self._ended = True
                with _live_lock:
                    _live.discard(self)
                if self.popen.returncode is None:
                    self._signal(signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.popen.wait(timeout=_KILL_WAIT_S)

    def _signal(self, sig: int) -> bool:
        """Send ``sig`` to the group (0: only probe); whether any member was there."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            return False
        except PermissionError:  # a member changed its user: beyond reach, stop trying
            return False
        return True

    def _gone_within(self, seconds: float) -> bool:
        """Whether every member of the group has exited within ``seconds``.

        The leader is reaped as soon as it exits, and so is any member re-parented to us
        (when wave is a subreaper, or PID 1 of a container). Members re-parented to another
        init are reaped by it, in its own time: their zombies are dead and do not count.
        """
        deadline = time.monotonic() + seconds
        delay = 0.001
        while True:
            if self.popen.poll() is not None:
                # Only once the leader is reaped: Popen must see its status, not us.
                with contextlib.suppress(ChildProcessError):
                    while os.waitpid(-self.pid, os.WNOHANG)[0] > 0:
                        pass
            if not _group_alive(self.pid):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.end()


def _exited_within(pid: int, timeout: float) -> bool | None:
    """Whether ``pid`` exits within ``timeout``, woken the moment it does; None: cannot tell.

    ``Popen.wait(timeout=)`` polls with growing sleeps, which adds milliseconds to every
    short command (git runs dozens per procedure); a pidfd (Linux 5.3) wakes at the exit.
    A signal's exception interrupts the wait like any other.
    """
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(math.ceil(timeout * 1000)))
    finally:
        os.close(fd)


def _group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a member that has not exited.

    The kernel keeps a group's id reserved while it has members, zombies included, so the
    probe never reaches an unrelated process. Where ``/proc`` lists processes (Linux), a
    group of zombies only counts as gone.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return True
    for pid in entries:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rpartition(b")")[2].split()
        except OSError:
            continue  # gone meanwhile
        # After the command name: state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


def start(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = None,
    stderr: Stream = None,
) -> Child:
    """Start ``argv`` (never through a shell: see :func:`command_argv`) in a new session.

    For the rare caller that must hold the streams itself (a relay between two
    processes); everything else calls :func:`run`. ``env`` is the complete environment
    (``None``: this process's). Use the result as a context manager, so that the group is
    ended whatever happens.

    Raises:
        OSError: the program cannot be started (not found, not executable, no such
            ``cwd``).

    """
    popen = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    child = Child(popen)
    with _live_lock:
        _live.add(child)
    return child


def end_all() -> None:
    """End every process group this process started that is still running, in any thread.

    For a thread that is interrupted while others wait on commands: their waits then return
    at once (the commands were killed) instead of running to their deadlines.
    """
    with _live_lock:
        children = list(_live)
    for child in children:
        child.end()


# -- run ---------------------------------------------------------------------------------


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    merge_stderr: bool = False,
) -> Result:
    """Run ``argv`` to completion, its output captured; the group ended afterwards.

    Args:
        argv: the program and its arguments (a configured command: :func:`command_argv`).
        timeout: seconds it may take; then its whole group is ended and the result says
            ``timed_out``.
        cwd: the working directory (default: this process's).
        env: the complete environment (default: this process's).
        input: fed to its standard input, which is otherwise empty (never the terminal:
            nothing wave runs may stop to ask).
        merge_stderr: the error output goes to :attr:`Result.stdout`, interleaved.

    Raises:
        OSError: the program cannot be started.

    A non-zero exit or a timeout is not an exception: the caller knows what it means.
    Any exception while waiting ends the group first, then goes on.

    """
    started = time.monotonic()
    with contextlib.ExitStack() as files:
        out = files.enter_context(tempfile.TemporaryFile())
        err = files.enter_context(tempfile.TemporaryFile())
        feed: Stream = subprocess.DEVNULL
        if input is not None:
            feed = files.enter_context(tempfile.TemporaryFile())
            feed.write(input.encode() if isinstance(input, str) else input)
            feed.seek(0)
        with start(
            argv,
            cwd=cwd,
            env=env,
            stdin=feed,
            stdout=out,
            stderr=subprocess.STDOUT if merge_stderr else err,
        ) as child:
            code = child.wait(timeout)
        returncode = child.returncode
        return Result(
            argv=tuple(argv),
            returncode=-signal.SIGKILL if returncode is None else returncode,
            stdout=_read(out),
            stderr="" if merge_stderr else _read(err),
            timed_out=code is None,
            timeout=timeout,
            duration_s=round(time.monotonic() - started, 3),
        )


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")
