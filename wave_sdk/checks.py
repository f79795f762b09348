"""Pre-deploy checks: the technical checklist's commands, the runbook's gate, plugin checks.

A check is a :class:`CheckSpec` (a name and a function returning a
:class:`~wave_sdk.models.CheckResult`). Commands under ``[checks.<name>]`` become checks;
the built-in plugin adds the Gate 7, documentation and communication checks
(:mod:`wave_sdk.gate`); other plugins add more through ``wave_checks``.

:func:`run_checks` runs them like a small build tool: a check starts as soon as the checks
it ``needs`` have passed, independent checks run concurrently (they are mostly
subprocesses waiting on I/O), a check marked not ``parallel`` runs alone, and a check whose
need failed is not run at all (reported pending, and failing). Each result carries its
duration; a command's output is captured and, on failure, its last lines kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, final

from wave_sdk import procs
from wave_sdk.models import CheckResult

if TYPE_CHECKING:
    from wave_sdk.config import CheckConfig, WaveConfig

GROUPS = ("gate7", "technical", "documentation", "communication")
"""The runbook's checklist sections, in the order it prints them; plugins may add others."""


@final
@dataclass(frozen=True, kw_only=True)
class CheckSpec:
    """One check (yield it from ``wave_checks``).

    Attributes:
        name: shown in the checklist; other checks name it in ``needs``.
        run: does the check; returns a :class:`~wave_sdk.models.CheckResult`. It may raise:
            the exception counts as a failure with its message.
        group: the checklist section it belongs to (see :data:`GROUPS`).
        needs: names of checks that must pass before this one starts. A need that is not
            among the checks of the run fails this check (it would otherwise never start).
        parallel: ``False`` runs it alone, once nothing else is running or ready.
        item: the runbook's checklist line it answers, copied onto its result.

    """

    name: str
    run: Callable[[], CheckResult]
    group: str = "technical"
    needs: tuple[str, ...] = ()
    parallel: bool = True
    item: str = ""


def command_check(
    name: str, check: CheckConfig, root: Path, *, env: Mapping[str, str] | None = None
) -> CheckSpec:
    """A check that passes when its command exits 0; ``env`` is added to its environment.

    (The pipeline's smoke test passes WAVE_URL, WAVE_RELEASE and WAVE_ENVIRONMENT this way.)
    """

    def run() -> CheckResult:
        try:
            done = procs.run(
                procs.command_argv(check.command),
                timeout=check.timeout,
                cwd=root / (check.cwd or "."),
                env={**os.environ, **env} if env else None,
                merge_stderr=True,
            )
        except OSError as exc:
            return CheckResult(name=name, ok=False, detail=f"cannot run: {exc.strerror}")
        return CheckResult(
            name=name,
            ok=done.ok,
            detail=f"`{procs.shown(check.command)}` {done.outcome()}",
            duration_s=done.duration_s,
            output_tail=done.tail(),
        )

    from wave_sdk.checklist_items import ITEMS

    return CheckSpec(
        name=name,
        run=run,
        needs=tuple(check.needs),
        parallel=check.parallel,
        item=check.item or ITEMS.get(name, ""),
    )


def command_checks(config: WaveConfig, names: list[str]) -> list[CheckSpec]:
    """The command checks ``names`` plus every check they need, transitively.

    A need runs even when the environment does not list it: "test needs build" must not
    quietly test a stale build in an environment that forgot to list ``build``.
    """
    wanted: list[str] = []

    def add(name: str) -> None:
        if name in wanted:
            return
        for need in config.checks[name].needs:
            add(need)
        wanted.append(name)

    for name in names:
        add(name)
    return [command_check(name, config.checks[name], config.root) for name in wanted]


def run_checks(specs: list[CheckSpec], *, workers: int = 4) -> list[CheckResult]:
    """Run ``specs`` respecting ``needs`` and ``parallel``; results in the order given.

    Every result has its duration and the group of its spec. A check that cannot start —
    a need failed, is missing, or the needs form a cycle — is reported pending and failing,
    with the reason.
    """
    if not specs:
        return []
    names = {spec.name for spec in specs}
    results: dict[int, CheckResult] = {}
    waiting = list(range(len(specs)))
    running: dict[Future[CheckResult], int] = {}

    def settled(name: str) -> list[CheckResult] | None:
        """The results of every spec called ``name``, or ``None`` while one is unfinished."""
        found = [results.get(i) for i, s in enumerate(specs) if s.name == name]
        return None if any(r is None for r in found) else [r for r in found if r is not None]

    def not_run(index: int, why: str) -> None:
        spec = specs[index]
        results[index] = CheckResult(
            name=spec.name,
            ok=False,
            detail=f"not run: {why}",
            group=spec.group,
            pending=True,
            item=spec.item,
        )

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    interrupted = False
    try:
        while waiting or running:
            ready: list[int] = []
            for index in list(waiting):
                spec = specs[index]
                missing = [n for n in spec.needs if n not in names or n == spec.name]
                if missing:
                    waiting.remove(index)
                    not_run(index, f"needs {', '.join(missing)}, which is not among the checks")
                    continue
                done = [settled(n) for n in spec.needs]
                if any(d is None for d in done):
                    continue
                failed = [n for n, d in zip(spec.needs, done, strict=True) if d and not all_ok(d)]
                if failed:
                    waiting.remove(index)
                    not_run(index, f"needs {', '.join(failed)}, which did not pass")
                    continue
                ready.append(index)
            exclusive_running = any(not specs[i].parallel for i in running.values())
            to_start = [i for i in ready if specs[i].parallel] if not exclusive_running else []
            free = max(1, workers) - len(running)
            to_start = to_start[:free]
            if not to_start and not running and ready:
                to_start = [ready[0]]  # nothing parallel is ready: one exclusive check, alone
            for index in to_start:
                waiting.remove(index)
                running[pool.submit(_guarded, specs[index])] = index
            if not running:
                # Nothing runs and nothing can start: the rest wait on each other.
                for index in list(waiting):
                    waiting.remove(index)
                    not_run(index, "its needs form a cycle")
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                results[running.pop(future)] = future.result()
    except BaseException:
        # Interrupted (Ctrl-C, or a signal handler's exception in this thread): the pool's
        # threads would go on waiting for their commands; end those instead.
        interrupted = True
        _stop(list(running))
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    return [results[i] for i in range(len(specs))]


def _stop(running: list[Future[CheckResult]]) -> None:
    """End the commands of the running checks until each check returns (bounded)."""
    deadline = time.monotonic() + procs.GRACE_S + 5
    for future in running:
        future.cancel()
    while time.monotonic() < deadline:
        procs.end_all()
        _, pending = wait(running, timeout=0.05)
        if not pending:
            return


def all_ok(results: list[CheckResult]) -> bool:
    return all(r.ok for r in results)


def _guarded(spec: CheckSpec) -> CheckResult:
    """Run one check; an exception is its failure, and every result gets duration and group."""
    started = time.monotonic()
    try:
        result = spec.run()
    except Exception as exc:
        result = CheckResult(name=spec.name, ok=False, detail=f"{type(exc).__name__}: {exc}")
    if not isinstance(result, CheckResult):
        result = CheckResult(
            name=spec.name,
            ok=False,
            detail=f"the check returned {type(result).__name__}, not a CheckResult",
        )
    update: dict[str, object] = {"group": spec.group, "item": result.item or spec.item}
    if not result.duration_s:
        update["duration_s"] = round(time.monotonic() - started, 3)
    return result.model_copy(update=update)
