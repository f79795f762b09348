"""Upload progress on a terminal: files and bytes, rate and ETA, redrawn on one line.

Only on a terminal: a pipe, a log file or ``--json`` (whose stderr carries JSON lines) get
nothing from it — the reporter's step lines say what happened there. Redrawn at most ten
times a second, so thousands of small files do not cost thousands of writes.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class ProgressLine:
    """A :data:`~wave_sdk.digests.transfer.ProgressCallback` that draws on ``stream``.

    ``enabled`` defaults to whether ``stream`` is a terminal; call :meth:`close` at the end
    to leave the cursor on a fresh line.
    """

    def __init__(
        self, label: str, stream: TextIO | None = None, *, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()
        self._any = False

    def __call__(self, files: int, total_files: int, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if files < total_files and now - self._drawn < 0.1:
                return
            self._drawn = now
            self._any = True
            self.stream.write("\r\x1b[K" + self.render(files, total_files, done, total, now))
            self.stream.flush()

    def render(self, files: int, total_files: int, done: int, total: int, now: float) -> str:
        """The line for these counts (without control characters)."""
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 and done < total else 0.0
        eta = f", {left:.0f}s left" if done < total and rate > 0 else ""
        return (
            f"{self.label}: {files}/{total_files} files, {_size(done)}/{_size(total)} "
            f"({_size(rate)}/s{eta})"
        )

    def close(self) -> None:
        if self.enabled and self._any:
            self.stream.write("\n")
            self.stream.flush()


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
