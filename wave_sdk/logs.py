"""The bake window's log scan: the new release's log lines against the error patterns.

An adapter that declares :attr:`~wave_sdk.adapter.Capability.LOGS` reads its live release's
lines (:meth:`Adapter.logs <wave_sdk.adapter.Adapter.logs>`); :func:`scan` matches them
against ``[environments.<name>.bake] log_patterns``. Each matching line counts as one failed
observation against the window's ``max_error_rate`` (:func:`wave_sdk.health.bake`), and
what is kept of it — the pattern and the line — is masked here, before anything shows or
stores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wave_sdk.secrets import redact

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime

    from wave_sdk.adapter import Adapter

SAMPLE_CHARS = 200
"""A matching line is kept up to this many characters (after masking)."""


@dataclass(frozen=True)
class LogMatch:
    """One log line that matched an error pattern: where, which pattern, the line (masked)."""

    target: str
    pattern: str
    line: str

    def to_dict(self) -> dict[str, str]:
        return {"target": self.target, "pattern": self.pattern, "line": self.line}


def split_lines(data: bytes, *, cut: bool, limit: int) -> list[str]:
    """The last ``limit`` non-empty lines of ``data``, masked before they are split.

    ``cut``: ``data`` begins inside the log (a bounded read of its end), so its first line
    may be a part of one and is dropped. Masking comes first, as everywhere: a secret may
    hold a newline.
    """
    text = redact(data.decode(errors="replace"))
    lines = text.splitlines()
    if cut and lines:
        lines = lines[1:]
    return [line for line in lines if line.strip()][-limit:] if limit > 0 else []


def scan(target: str, lines: Iterable[str], patterns: Iterable[re.Pattern[str]]) -> list[LogMatch]:
    """Every line matching one of ``patterns``, once, named by the first pattern it matches."""
    compiled = list(patterns)
    found = []
    for line in lines:
        for pattern in compiled:
            if pattern.search(line):
                shown = redact(line)
                if len(shown) > SAMPLE_CHARS:
                    shown = shown[: SAMPLE_CHARS - 1] + "…"
                found.append(LogMatch(target, pattern.pattern, shown))
                break
    return found


def scan_targets(
    adapters: Mapping[str, Adapter], since: datetime, patterns: list[str]
) -> tuple[list[LogMatch], dict[str, str]]:
    """Read each adapter's new lines and scan them; also why a target could not be read.

    A log that cannot be read is reported, not counted as an error: the window's probes
    judge the release, the log only adds what they cannot see.
    """
    from wave_sdk.errors import WaveError

    compiled = [re.compile(p) for p in patterns]
    matches: list[LogMatch] = []
    unread: dict[str, str] = {}
    for name, adapter in adapters.items():
        try:
            lines = adapter.logs(since)
        except WaveError as exc:
            unread[name] = redact(exc.message)
            continue
        matches += scan(name, lines, compiled)
    return matches, unread
