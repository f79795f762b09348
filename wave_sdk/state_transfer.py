"""Moving a project's state from one store to another: ``wave state migrate --to NAME``.

What moves is what a team must not lose: the history ledger (every record, in order), the
current release of each environment and the approval records. Locks and run journals do
not move — they belong to runs, and no run may be under way: the copy is refused while any
environment is locked or has an open journal (an interrupted run that the next command of
the *old* store would reconcile), and it holds the source's lock of every environment while
it copies so that no deploy starts half way.

Copying is idempotent: a record or an approval already in the destination (the same JSON)
is not written again, so an interrupted migration is finished by running it again, and
migrating back to a store that kept its old state adds only what is new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wave_sdk.errors import LockHeld, StateError
from wave_sdk.secrets import dumps

if TYPE_CHECKING:
    from wave_sdk.state import LockInfo, StateStore


@dataclass
class Transfer:
    """What a migration copied.

    Attributes:
        source: the store copied from (``[state] store``).
        destination: the store copied to.
        history: history records written to the destination.
        history_kept: history records the destination already had.
        current: environment → current release, as copied.
        approvals: approval records written to the destination.
        approvals_kept: approval records the destination already had.

    """

    source: str
    destination: str
    history: int = 0
    history_kept: int = 0
    current: dict[str, str] = field(default_factory=dict)
    approvals: int = 0
    approvals_kept: int = 0


def migrate_state(
    source: StateStore,
    destination: StateStore,
    environments: Iterable[str],
    *,
    names: tuple[str, str],
    owner: str,
) -> Transfer:
    """Copy history, current releases and approvals from ``source`` to ``destination``.

    ``environments`` are the configured ones; environments named in the history are added.
    ``names`` are the two stores' names, for messages and the result.

    Raises:
        LockHeld: an environment is locked (in either store) or has an open journal.

    """
    records = source.history()
    envs = sorted({*environments, *(r.environment for r in records)})
    _refuse_if_busy(source, names[0], envs)
    _refuse_if_busy(destination, names[1], envs)
    taken: list[LockInfo] = []
    try:
        for env in envs:
            taken.append(
                source.acquire_lock(env, owner=owner, deploy_id="state-migrate", ttl=600.0)
            )
        records = source.history()  # again, under the locks: nothing can be added now
        result = Transfer(source=names[0], destination=names[1])
        present = {dumps(r) for r in destination.history()}
        for record in records:
            if dumps(record) in present:
                result.history_kept += 1
                continue
            destination.append_history(record)
            result.history += 1
        for env in envs:
            current = source.current(env)
            if current is not None:
                destination.set_current(current)
                result.current[env] = current.release
            kept = {dumps(a) for a in destination.approvals(env)}
            for approval in source.approvals(env):
                if dumps(approval) in kept:
                    result.approvals_kept += 1
                    continue
                destination.add_approval(approval)
                result.approvals += 1
        return result
    finally:
        for lock in taken:
            source.release_lock(lock)


def _refuse_if_busy(store: StateStore, name: str, environments: list[str]) -> None:
    for env in environments:
        try:
            held = store.read_lock(env)
        except StateError as exc:
            raise LockHeld(f"state store {name!r}: {exc.message}", hint=exc.hint) from None
        if held is not None:
            raise LockHeld(
                f"state store {name!r}: environment {env!r} is locked by {held.describe()}"
                + (" (stale)" if store.is_stale(held) else ""),
                holder=held.public(),
                hint="migrate once no deployment runs; if that one is gone: "
                f'wave unlock --env {env} --force --reason "…"',
            )
        if store.journals(env):
            raise LockHeld(
                f"state store {name!r}: {env!r} has an interrupted run not yet recovered",
                hint=f"run `wave recover --env {env}` first to reconcile it",
            )
