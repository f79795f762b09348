"""The run's write-ahead journal: what it is about to do, stored before it does it.

A run opens its journal (``begin``) once it holds the environment's lock and writes an entry
before each step that changes a target, a database or the state (the step names are
:data:`~wave_sdk.models.JOURNAL_STEPS`). Its history record closes it. Whatever kills the
process, the next command finds the journal still open with its holder gone, and
:mod:`wave_sdk.run.recovery` knows from the last entries what may have changed.

The journal lives in the state store (:meth:`~wave_sdk.state.StateStore.journal_append`), so
a remote store shares it with every machine that shares the lock.

**Test hook.** ``WAVE_TEST_KILL_AT=STEP[@TARGET][:SIGNAL]`` makes the process send itself
``SIGNAL`` (``KILL`` by default; ``INT`` or ``TERM``) right after the first entry named
``STEP`` (of ``TARGET``, when given) is durable. A comma-separated list fires each item
once, in order. It lets a test interrupt a run at an exact step instead of racing a
timer; nothing else reads it.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

from wave_sdk.models import JOURNAL_STEPS, HistoryRecord, JournalEntry
from wave_sdk.run.interrupts import shielded

if TYPE_CHECKING:
    from wave_sdk.state import CurrentRelease, StateStore

KILL_HOOK = "WAVE_TEST_KILL_AT"


class Journal:
    """The journal of one run, written through the state store."""

    def __init__(self, store: StateStore, *, environment: str, deploy_id: str) -> None:
        self.store = store
        self.environment = environment
        self.deploy_id = deploy_id
        self.entries: list[JournalEntry] = []
        self.closed = False

    @classmethod
    def resume(cls, store: StateStore, entries: list[JournalEntry]) -> Journal:
        """Continue an interrupted run's journal (recovery appends to it, then closes it)."""
        journal = cls(store, environment=entries[0].environment, deploy_id=entries[0].deploy_id)
        journal.entries = list(entries)
        return journal

    def write(
        self, step: str, *, target: str | None = None, release: str | None = None, **data: Any
    ) -> JournalEntry:
        """Store the entry durably; only then does the caller change anything."""
        if step not in JOURNAL_STEPS:  # recovery reads these names: no step it cannot know
            raise ValueError(f"unknown journal step {step!r}")
        entry = JournalEntry(
            deploy_id=self.deploy_id,
            environment=self.environment,
            seq=len(self.entries),
            step=step,
            target=target,
            release=release,
            data=data,
        )
        with shielded():
            self.store.journal_append(entry)
            self.entries.append(entry)
            _test_hook(step, target)
        return entry

    def commit(self, current: CurrentRelease) -> None:
        """Make ``current`` the environment's current release: the run's commit point.

        ``commit`` is journaled before, ``committed`` after: a run killed between the two is
        told apart by the current release's deploy id; one killed after ``committed`` only
        lacks its record and signal, which recovery writes.
        """
        self.write("commit", release=current.release)
        with shielded():
            self.store.set_current(current)
        self.write("committed", release=current.release)

    def close(self, record: HistoryRecord) -> None:
        """Write the run's history record, then close the journal: the record is its end."""
        with shielded():
            self.store.append_history(record)
            self.store.journal_close(self.environment, self.deploy_id)
            self.closed = True

    def last(self, step: str, target: str | None = None) -> JournalEntry | None:
        """The latest entry named ``step`` (for ``target``, when given)."""
        for entry in reversed(self.entries):
            if entry.step == step and (target is None or entry.target == target):
                return entry
        return None

    @property
    def begin(self) -> JournalEntry:
        return self.entries[0]


_fired = 0


def _test_hook(step: str, target: str | None) -> None:
    global _fired
    wanted = [w for w in os.environ.get(KILL_HOOK, "").split(",") if w]
    if _fired >= len(wanted):
        return
    where, _, name = wanted[_fired].partition(":")
    wanted_step, _, wanted_target = where.partition("@")
    if wanted_step != step or (wanted_target and wanted_target != target):
        return
    _fired += 1
    os.kill(os.getpid(), getattr(signal, f"SIG{name or 'KILL'}"))
