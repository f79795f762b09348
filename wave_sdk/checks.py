"""Pre-deploy checks: the configured commands of the technical checklist, plus plugin checks.

A check is a :class:`CheckSpec` (a name and a function returning a
:class:`~wave_sdk.models.CheckResult`). Commands under ``[checks.<name>]`` become checks;
plugins add more through ``wave_checks``. Independent checks run concurrently (they are
mostly subprocesses waiting on I/O); each one's output is captured and, on failure, its
last lines shown.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, final

from wave_sdk.models import CheckResult

if TYPE_CHECKING:
    from wave_sdk.config import CheckConfig


@final
@dataclass(frozen=True, kw_only=True)
class CheckSpec:
    """One check (yield it from ``wave_checks``).

    Attributes:
        name: shown in the checklist.
        run: does the check; returns a :class:`~wave_sdk.models.CheckResult`. It may raise:
            the exception counts as a failure with its message.

    """

    name: str
    run: Callable[[], CheckResult]


def command_check(
    name: str, check: CheckConfig, root: Path, *, env: Mapping[str, str] | None = None
) -> CheckSpec:
    """A check that passes when its command exits 0; ``env`` is added to its environment."""

    def run() -> CheckResult:
        started = time.monotonic()
        shell = isinstance(check.command, str)
        try:
            proc = subprocess.run(
                check.command,
                shell=shell,
                cwd=root / (check.cwd or "."),
                capture_output=True,
                text=True,
                timeout=check.timeout,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env} if env else None,
            )
        except subprocess.TimeoutExpired:
            return CheckResult(
                name=name,
                ok=False,
                detail=f"timed out after {check.timeout:g}s",
                duration_s=time.monotonic() - started,
            )
        except OSError as exc:
            return CheckResult(
                name=name,
                ok=False,
                detail=f"cannot run: {exc.strerror}",
                duration_s=time.monotonic() - started,
            )
        output = (proc.stdout + proc.stderr).strip()
        shown = check.command if shell else shlex.join(check.command)
        return CheckResult(
            name=name,
            ok=proc.returncode == 0,
            detail=f"`{shown}` exited {proc.returncode}",
            duration_s=round(time.monotonic() - started, 3),
            output_tail="\n".join(output.splitlines()[-20:]),
        )

    return CheckSpec(name=name, run=run)


def run_checks(specs: list[CheckSpec], *, workers: int = 4) -> list[CheckResult]:
    """Run every check concurrently; results in the order given."""

    def guarded(spec: CheckSpec) -> CheckResult:
        started = time.monotonic()
        try:
            return spec.run()
        except Exception as exc:
            return CheckResult(
                name=spec.name,
                ok=False,
                detail=f"{type(exc).__name__}: {exc}",
                duration_s=time.monotonic() - started,
            )

    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(specs))) as pool:
        return list(pool.map(guarded, specs))
