"""The runbook's post-deployment lines, in the checklist before the deploy: what will check them.

"Smoke Test Checklist" and "Monitoring Verification" are about the release once it is out,
so before the deploy each line is pending □ and says what will answer it: verification's
requests (``[health] page`` and endpoints), the smoke command, the bake window's error rate,
95th percentile and log patterns — or, for what no tool here sees (a browser console, the
alerts), that a person checks it after the deploy. Nothing here is ever ✓ before the
release runs: verification, not ``wave check``, passes or fails them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from wave_sdk.gate.base import Context, bind, result
from wave_sdk.models import CheckResult

if TYPE_CHECKING:
    from wave_sdk.checks import CheckSpec

BY_HAND = "after the deploy, by a person"


def _page(context: Context) -> str | None:
    page = context.config.health_for(context.environment).page
    if not page:
        return None
    return (
        f"verification requests GET {page} after the deploy ([health] page); an answer of "
        "400 or more fails it and rolls the release back"
    )


def _endpoints(*words: str) -> Callable[[Context], str | None]:
    def probed(context: Context) -> str | None:
        paths = [e.shown for e in context.config.health_for(context.environment).endpoints]
        paths = [p for p in paths if all(w in p for w in words)]
        if not paths:
            return None
        return f"verification probes {', '.join(paths)} until healthy ([health] endpoints)"

    return probed


def _smoke(context: Context) -> str | None:
    command = context.config.environment(context.environment).smoke
    if command is None:
        return None
    from wave_sdk import procs

    return f"the smoke test `{procs.shown(command)}` runs after the health checks"


def _bake(what: str, needs: str) -> Callable[[Context], str | None]:
    def judged(context: Context) -> str | None:
        bake = context.config.environment(context.environment).bake
        if bake is None or getattr(bake, needs) in (None, []):
            return None
        return f"the bake window judges {what} over {bake.duration:g}s (bake.{needs})"

    return judged


def _by_hand(context: Context) -> str | None:
    return None


LINES: dict[str, tuple[str, Callable[[Context], str | None], str]] = {
    # name: (group, what answers it, how to have a tool answer it)
    "application-loads": ("smoke", _page, "set [health] page"),
    "authentication": ("smoke", _by_hand, ""),
    "critical-flows": ("smoke", _smoke, "set the environment's smoke command"),
    "api-endpoints": ("smoke", _endpoints(), "set [health] endpoints"),
    "database-queries": ("smoke", _endpoints("db"), "probe a /…db… endpoint"),
    "external-integrations": ("smoke", _endpoints("external"), "probe a /…external… endpoint"),
    "console-errors": ("smoke", _by_hand, ""),
    "performance": ("smoke", _bake("the 95th percentile", "max_p95_ms"), "set bake.max_p95_ms"),
    "metrics-normal": ("monitoring", _by_hand, ""),
    "error-rate": ("monitoring", _bake("the error rate", "max_error_rate"), "set a bake window"),
    "response-times": (
        "monitoring",
        _bake("the 95th percentile", "max_p95_ms"),
        "set bake.max_p95_ms",
    ),
    "log-patterns": (
        "monitoring",
        _bake("the new log lines (adapters with the logs capability)", "log_patterns"),
        "set bake.log_patterns",
    ),
    "alerts": ("monitoring", _by_hand, ""),
}
"""Every post-deployment line: its section, what answers it, and how to make a tool do so."""


def post_deploy_lines(context: Context) -> list[CheckSpec]:
    """One pending item per post-deployment line of the runbook, saying what answers it."""
    from wave_sdk.checklist_items import ITEMS
    from wave_sdk.checks import CheckSpec

    return [
        CheckSpec(name=name, group=group, item=ITEMS[name], run=bind(_line(name), context, name))
        for name, (group, _, _) in LINES.items()
    ]


def _line(name: str) -> Callable[[Context], CheckResult]:
    def line(context: Context) -> CheckResult:
        _, answers, how = LINES[name]
        said = answers(context)
        if said is None:
            said = BY_HAND + (f" — or {how}, and wave checks it" if how else ": no tool sees it")
        return result(True, said, pending=True)

    return line
