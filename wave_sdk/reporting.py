"""Progress: how the pipeline and adapters tell a person (or a program) what is happening.

The pipeline emits :class:`Event` values to a :class:`Reporter`. The CLI picks one: on a
terminal, :class:`ConsoleReporter` with symbols and elapsed time; otherwise plain
timestamped lines; with ``--json``, events go to stderr as JSON lines and the result to
stdout. Library users pass their own (anything with an ``emit`` method) or get
:class:`NullReporter`. Every text passes :func:`~wave_sdk.secrets.redact` on its way out,
every JSON line :func:`~wave_sdk.secrets.dumps` (masked in the data, then serialised).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from wave_sdk.secrets import dumps, redact


@dataclass(frozen=True)
class Event:
    """One step of progress.

    ``kind`` is ``step`` (a pipeline step begins), ``info``, ``ok``, ``warn``, ``fail`` or
    ``detail`` — what only someone looking into a run wants, such as each retry of an
    upload: the console shows it with ``-v`` alone, JSON lines always carry it. ``step``
    names the pipeline step (plan, gate, approve, lock, deploy, verify, finish, rollback);
    ``data`` carries machine-readable detail.
    """

    kind: str
    step: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...


class NullReporter:
    def emit(self, event: Event) -> None:
        pass


class ListReporter:
    """Keeps every event; for tests and for callers that render at the end."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


_SYMBOLS = {"step": "→", "info": " ", "ok": "✓", "warn": "!", "fail": "✗", "detail": "·"}
_COLOURS = {"step": "1", "ok": "32", "warn": "33", "fail": "31", "info": "2", "detail": "2"}


class ConsoleReporter:
    """Human output: symbols and colour on a terminal, timestamped plain lines elsewhere.

    ``detail`` events are left out unless ``verbose`` (the CLI's ``-v``).
    """

    def __init__(
        self, stream: TextIO | None = None, *, colour: bool | None = None, verbose: bool = False
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if colour is None else colour
        self.verbose = verbose
        self.started = time.monotonic()

    def emit(self, event: Event) -> None:
        if event.kind == "detail" and not self.verbose:
            return
        text = redact(event.message)
        if self.tty:
            symbol = _SYMBOLS.get(event.kind, " ")
            elapsed = f"{time.monotonic() - self.started:5.1f}s"
            colour = _COLOURS.get(event.kind, "0")
            line = f"\x1b[2m{elapsed}\x1b[0m \x1b[{colour}m{symbol}\x1b[0m {text}"
        else:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            line = f"{stamp} {event.step:<8} {event.kind:<4} {text}"
        print(line, file=self.stream, flush=True)


class JsonLinesReporter:
    """Machine output: one JSON object per event."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def emit(self, event: Event) -> None:
        record = {"kind": event.kind, "step": event.step, "message": event.message, **event.data}
        print(dumps(record), file=self.stream, flush=True)
