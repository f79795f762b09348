"""Returning targets to a release, then verifying it: every rollback's second half.

A deploy that failed, a deploy that was interrupted, ``wave rollback`` and recovery all end
the same way: for each target, last first, ask what is live; leave a target alone when it
already runs the release to return to (its deploy failed before changing anything, or the
adapter undid it), roll the others back — each journaled before it happens — and then,
when anything was rolled back, verify the release they returned to with the same health
rounds and smoke test as a deploy (no bake window). The runbook's "verify rollback" step
is that verification; its figures go into the history record and the
``rollback-complete`` signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wave_sdk.errors import WaveError
from wave_sdk.run import boundary
from wave_sdk.verification import Outcome, Verifier

if TYPE_CHECKING:
    from wave_sdk.adapter import Adapter
    from wave_sdk.models import RollbackResult
    from wave_sdk.run.context import RunContext
    from wave_sdk.run.journal import Journal


_DOWN = ("stopped", "absent")
"""States in which a target on the right release still needs a rollback (to start it)."""


@dataclass
class Restored:
    """What :func:`restore` did: rollbacks made, targets left alone, errors, verification."""

    rollbacks: list[RollbackResult] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exceptions: list[WaveError] = field(default_factory=list)
    verification: Outcome | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and (self.verification is None or self.verification.ok)

    def problem(self) -> str:
        """Why it is not ok, in one line."""
        if self.errors:
            return "rollback failed: " + "; ".join(self.errors)
        reason = self.verification.reason if self.verification else None
        return f"the release rolled back to failed verification: {reason}"


def restore(
    ctx: RunContext,
    journal: Journal,
    environment: str,
    adapters: dict[str, Adapter],
    goals: dict[str, str | None],
    *,
    release_id: str | None,
    verify: bool = False,
) -> Restored:
    """Bring each target in ``goals`` (``None``: the adapter's previous) back, then verify.

    Verification runs when a target was rolled back, or always with ``verify`` (recovery:
    a dead run may have restarted a target without recording it).

    ``release_id`` names the environment's release returned to (for the smoke test's
    ``WAVE_RELEASE``). Targets are handled last first, as they were deployed first first.
    """
    done = Restored()
    for name in reversed([t for t in adapters if t in goals]):
        adapter, goal = adapters[name], goals[name]
        live = boundary.live(ctx.plugins, adapter)
        # Already there (its deploy failed before changing anything, or the adapter undid
        # it): nothing to do. A target on the release but stopped still needs its restart.
        there = live is not None and live.current == goal and live.state not in _DOWN
        if goal is not None and there:
            done.unchanged.append(name)
            ctx.emit("ok", "rollback", f"{name}: already on {goal}; nothing to roll back")
            continue
        ctx.emit("step", "rollback", f"{name}: rolling back to {goal or 'the previous release'}")
        journal.write("rollback", target=name, release=goal)
        try:
            result = boundary.rollback(ctx.plugins, adapter, goal)
        except WaveError as exc:
            done.errors.append(f"{name}: {exc}")
            done.exceptions.append(exc)
            ctx.emit("fail", "rollback", f"{name}: {exc}")
            continue
        journal.write("rolled_back", target=name, release=result.to_release)
        done.rollbacks.append(result)
        ctx.emit("ok", "rollback", f"{name}: {result.from_release} → {result.to_release}")
    if not done.errors and (done.rollbacks or verify):
        done.verification = verify_release(ctx, journal, environment, adapters, goals, release_id)
    return done


def verify_release(
    ctx: RunContext,
    journal: Journal,
    environment: str,
    adapters: dict[str, Adapter],
    goals: dict[str, str | None],
    release_id: str | None,
) -> Outcome:
    """Health rounds (and the smoke test) on the targets in ``goals``, where they answer now."""
    checked = {name: adapters[name] for name in adapters if name in goals}
    urls: dict[str, str | None] = {}
    for name, adapter in checked.items():
        live = boundary.live(ctx.plugins, adapter)
        urls[name] = live.url if live else None
    journal.write("verify_rollback", release=release_id)
    verifier = Verifier(
        config=ctx.config,
        plugins=ctx.plugins,
        reporter=ctx.reporter,
        environment=environment,
        step="rollback",
    )
    outcome = verifier.run(checked, release_id or "previous", urls, bake=False)
    if outcome.ok:
        ctx.emit("ok", "rollback", f"{release_id or 'the previous release'} verified")
    return outcome
