"""Approvals: the runbook's matrix, and the providers that can satisfy it.

The matrix (:meth:`~wave_sdk.config.WaveConfig.required_level`) says which level an action
needs in an environment: L1 human, L2 CTO, L3 PM, L4 QA, L5 automatic. L5 needs nothing.
Anything else must be covered by an :class:`~wave_sdk.models.Approval` — same environment
and action, a level at least as high (number at most as large), the same commit when it
names one, not expired — obtained from the providers in order:

1. ``records``: approvals made with ``wave approve`` and kept by the state store;
2. providers from plugins (``wave_approval`` hook);
3. ``prompt``: on an interactive terminal only, the person types the environment's name.

A run that is not interactive and finds no approval fails at once with the ``wave approve``
command that would grant it; it never waits for input.
"""

from __future__ import annotations

import getpass
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, final

from wave_sdk.errors import ApprovalRequired
from wave_sdk.models import Approval, Release

if TYPE_CHECKING:
    from wave_sdk.state import StateStore


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest:
    """What needs approving."""

    environment: str
    action: str
    level: int
    release: Release
    interactive: bool

    def first_covered_by(self, approvals: Iterable[Approval]) -> Approval | None:
        """The first of ``approvals`` that covers this request, or ``None``."""
        for approval in approvals:
            if approval.covers(
                environment=self.environment,
                action=self.action,
                level=self.level,
                release=self.release,
            ):
                return approval
        return None


@final
@dataclass(frozen=True, kw_only=True)
class ApprovalProviderSpec:
    """How a plugin registers an approval provider (yield it from ``wave_approval``).

    Attributes:
        name: shown in history as the approval's source.
        find: called with an :class:`ApprovalRequest`; returns a covering
            :class:`~wave_sdk.models.Approval` or ``None``. It must not block on input.

    """

    name: str
    find: Callable[[ApprovalRequest], Approval | None]


def level_name(level: int) -> str:
    from wave_sdk.config import LEVEL_NAMES

    return LEVEL_NAMES.get(level, f"L{level}")


def approve_command(request: ApprovalRequest) -> str:
    parts = [
        "wave",
        "approve",
        "--env",
        request.environment,
        "--action",
        request.action,
        "--level",
        f"L{request.level}",
        "--release",
        request.release.id,
    ]
    if request.release.commit:
        parts += ["--commit", request.release.commit]
    return shlex.join(parts)


def from_records(store: StateStore) -> Callable[[ApprovalRequest], Approval | None]:
    def find(request: ApprovalRequest) -> Approval | None:
        return request.first_covered_by(reversed(store.approvals(request.environment)))

    return find


def prompt(request: ApprovalRequest) -> Approval | None:
    """Ask the person at the terminal to type the environment's name (the runbook's prompt)."""
    if not request.interactive:
        return None
    question = (
        f"Approve {request.action} of {request.release.id} to {request.environment} "
        f"({level_name(request.level)} required)? Type '{request.environment}' to approve: "
    )
    try:
        answer = input(question)
    except EOFError:
        return None
    if answer.strip() != request.environment:
        print("not approved", file=sys.stderr)
        return None
    return Approval(
        environment=request.environment,
        action=request.action,
        level=1,
        approved_by=getpass.getuser(),
        release=request.release.id,
        commit=request.release.commit,
        source="prompt",
    )


def obtain(request: ApprovalRequest, providers: list[ApprovalProviderSpec]) -> Approval | None:
    """The first approval that covers ``request``, or ``None`` at L5 (nothing needed).

    Raises:
        ApprovalRequired: no provider had one.

    """
    if request.level >= 5:
        return None
    for provider in providers:
        approval = provider.find(request)
        if approval is not None and approval.covers(
            environment=request.environment,
            action=request.action,
            level=request.level,
            release=request.release,
        ):
            return approval
    bound = f" for commit {request.release.commit}" if request.release.commit else ""
    raise ApprovalRequired(
        f"{request.action} to {request.environment} needs {level_name(request.level)} "
        f"approval{bound}, and none is on record",
        command=approve_command(request),
    )
