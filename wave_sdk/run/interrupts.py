"""SIGINT and SIGTERM during a run: a failed run, not a dead one.

Ctrl-C, or the SIGTERM a CI runner sends on cancel, raises :class:`InterruptSignal` in the
main thread, so the run unwinds like any failure: it rolls back what it changed, verifies,
records and signals, releases the lock, and the CLI exits 130 (SIGINT) or 143 (SIGTERM).
While that rollback runs, a second signal is refused with a message — stopping half way
would leave the target in the state this module exists to avoid — and a third raises
:class:`Abandoned`, which nothing catches: the journal stays open for ``wave recover``.

Two things make the asynchronous exception safe. :func:`shielded` defers a signal that
arrives while a write-ahead entry, a history record or the current release is being
written, and raises it right after, so no record is half-kept by a run that goes on.
And the handlers are installed only by :func:`handling` around a run in the main thread;
anywhere else (a library caller's worker thread) signals keep their usual meaning.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class InterruptSignal(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived during a run; ``exit_code`` is 128 + the signal number.

    A :class:`KeyboardInterrupt`, so code that already cleans up on Ctrl-C (the process
    runner kills its child's group) does the same on SIGTERM, and ``except Exception``
    in an adapter or a plugin never swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(signal.Signals(signum).name)

    @property
    def message(self) -> str:
        """One line for the user."""
        return f"interrupted by {signal.Signals(self.signum).name}"


class Abandoned(InterruptSignal):
    """A third signal during the rollback that follows an interrupt: stop now.

    The run's journal is left open; ``wave recover`` (or the next deploy) finishes the job.
    """

    environment = "ENV"
    """Set by the run that was abandoned, for the message."""

    @property
    def message(self) -> str:
        return (
            "abandoned during the rollback: the run's journal stays open; "
            f"`wave recover --env {self.environment}` (or the next deploy) finishes it"
        )


class _State:
    """The handler's view of the run (process-wide, as signal handlers are)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.depth = 0  # nesting of shielded()
        self.pending: InterruptSignal | None = None
        self.rolling_back = False
        self.refused = 0


_state = _State()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.rolling_back:
        _state.refused += 1
        if _state.refused == 1:
            print(
                f"wave: {signal.Signals(signum).name} received while rolling back; refusing to "
                "stop half way (send it again to abandon: the journal stays for `wave recover`)",
                file=sys.stderr,
                flush=True,
            )
            return
        exception: InterruptSignal = Abandoned(signum)
    else:
        exception = InterruptSignal(signum)
    if _state.depth:
        if _state.pending is None or isinstance(exception, Abandoned):
            _state.pending = exception
        return
    raise exception


@contextmanager
def handling() -> Iterator[bool]:
    """Turn SIGINT and SIGTERM into :class:`InterruptSignal` for the block (main thread only).

    Yields whether the handlers are installed. Nested use keeps the outer installation.
    """
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    current = signal.getsignal(signal.SIGINT)
    if current is _handler:
        yield True
        return
    previous = {s: signal.signal(s, _handler) for s in HANDLED}
    _state.reset()
    try:
        yield True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _state.reset()


@contextmanager
def shielded() -> Iterator[None]:
    """Defer a signal until the block is done (a record is written whole, then the raise)."""
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if _state.depth == 0 and _state.pending is not None:
            pending, _state.pending = _state.pending, None
            raise pending


@contextmanager
def rolling_back() -> Iterator[None]:
    """Mark the block as the rollback after an interrupt: the next signal is refused."""
    _state.rolling_back, _state.refused = True, 0
    try:
        yield
    finally:
        _state.rolling_back = False
