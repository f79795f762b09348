"""Gate 7 and the runbook's documentation and communication checklists, read from files.

The WAVE framework coordinates through files in one directory — ``.claude`` by default
(``[gate] dir``, else ``[signals] dir``). wave-sdk is the reference for their formats, which
docs/gate.md describes in full; in short, every file is JSON except the violations log, and
is read tolerantly (unknown fields are ignored, missing optional ones take defaults):

``signal-wave<N>-gate7-merge-approved.json``
    Gate 7's approval of wave N: ``{"approved_by", "commit"?, "environment"?, "level"?,
    "status"?, "timestamp"?}``. Naming a commit binds it to that commit (a full SHA, or a
    prefix of at least 7 characters); a ``status`` other than approved withdraws it.
``signal-*ESCALATION*.json``
    An escalation; open unless its ``status`` is ``resolved`` or ``closed``.
``VIOLATIONS.log``
    One violation per line (blank and ``#`` lines ignored); active unless the line carries
    the word ``RESOLVED``.
``budget.json``
    ``{"spent": 12.5, "limit"?: 50}``; ``[gate] budget_limit`` wins over the file's limit.
``signal-wave<N>-gate4-*.json``
    QA validation (Gate 4) of wave N; each must have ``status`` ``passed`` or ``approved``.
``signal-*-approval*.json``
    A generic approval: ``{"environment", "action", "level", "approved_by", "commit"?,
    "release"?, "expires_at"?, "status"?}``.

The checks here are registered by the built-in plugin's ``wave_checks`` (see
:func:`gate_checks`); the approval files become :class:`~wave_sdk.models.Approval` values
through its ``wave_approval`` provider (:func:`signal_approvals`). Each check's ``detail``
names the files it looked at and, on failure, why it failed and what to do.

The package: :mod:`~wave_sdk.gate.base` decides whether the gate is on and holds what the
checks share (where the files are, how they are read, the registry); the checks are
:mod:`~wave_sdk.gate.gate7` (Gate 7's own: approval, escalations, violations, budget, QA,
merges) and :mod:`~wave_sdk.gate.checklist` (documentation and communication);
:mod:`~wave_sdk.gate.approval_files` turns approval files into approvals.
"""

from __future__ import annotations

# The check modules register their checks on import: gate_checks needs all of them.
from wave_sdk.gate import checklist, gate7
from wave_sdk.gate.approval_files import signal_approvals
from wave_sdk.gate.base import (
    APPROVED,
    CHECKS,
    CLOSED,
    commit_matches,
    framework_dir,
    gate7_signal_name,
    gate_checks,
    gate_enabled,
    read_json,
    uses_framework,
)
from wave_sdk.gate.gate7 import check_merges

__all__ = [
    "APPROVED",
    "CHECKS",
    "CLOSED",
    "check_merges",
    "checklist",
    "commit_matches",
    "framework_dir",
    "gate7",
    "gate7_signal_name",
    "gate_checks",
    "gate_enabled",
    "read_json",
    "signal_approvals",
    "uses_framework",
]
