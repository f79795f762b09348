"""Approvals: the runbook's matrix, and the providers that can satisfy it.

The matrix (:meth:`~wave_sdk.config.WaveConfig.required_level`) says which level an action
needs in an environment: L1 human, L2 CTO, L3 PM, L4 QA, L5 automatic. L5 needs nothing.
Anything else must be covered by an :class:`~wave_sdk.models.Approval` — same environment
and action, a level at least as high (number at most as large), the same commit, digest
or release when it names one, not expired — obtained from the providers in order:

1. ``records``: approvals made with ``wave approve`` and kept by the state store;
2. providers from plugins (``wave_approval`` hook);
3. ``prompt``: on an interactive terminal only, the person types the environment's name.

What :class:`ApprovalRequest` refuses on top of that is the trust model
(docs/concepts.md#trust): at L1 and L2 an approval must name the release's code (its
commit, or its digest when it has no commit); with ``distinct_approver`` the deployer
cannot approve their own deploy; with ``require_signature`` only approvals carrying a valid
signature count (:mod:`wave_sdk.signing`). Each refusal is kept with its reason, and the
error that ends a run without approval lists them.

A run that is not interactive and finds no approval fails at once with the ``wave approve``
command that would grant it; it never waits for input.
"""

from __future__ import annotations

import getpass
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, final

from pydantic import SecretStr

from wave_sdk.errors import ApprovalRequired
from wave_sdk.models import Approval, Release

if TYPE_CHECKING:
    from wave_sdk.state import StateStore


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest:
    """What needs approving, and the rules an approval must meet to count.

    ``deployer`` and ``distinct`` refuse self-approval; ``key`` (set when ``[approvals]
    require_signature`` is on) refuses any approval without a valid signature — a provider
    that vouches for what it found signs it (:func:`wave_sdk.signing.sign_approval`).
    ``refused`` collects why approvals that matched were not accepted.
    """

    environment: str
    action: str
    level: int
    release: Release
    interactive: bool
    deployer: str | None = None
    distinct: bool = False
    key: SecretStr | None = None
    refused: list[str] = field(default_factory=list)

    def objection(self, approval: Approval) -> str | None:
        """Why ``approval``, which is for this step, may not approve it; ``None`` if it may."""
        from wave_sdk import signing

        if self.level <= 2 and not approval.names_content_of(self.release):
            named = approval.bound_to or "no commit or digest"
            wanted = content_of(self.release)
            return f"it names {named}, and {level_name(self.level)} must name {wanted}"
        who = approval.approved_by.strip().casefold()
        if self.distinct and self.deployer and who == self.deployer.strip().casefold():
            return f"{approval.approved_by} is the deployer, and the approver must be someone else"
        if self.key is not None:
            problem = signing.approval_problem(approval, self.key.get_secret_value())
            if problem:
                return problem
        return None

    def accepts(self, approval: Approval) -> bool:
        """Whether ``approval`` covers and may approve this step; a refusal is kept."""
        if not approval.covers(
            environment=self.environment,
            action=self.action,
            level=self.level,
            release=self.release,
        ):
            return False
        problem = self.objection(approval)
        if problem is not None:
            self.refused.append(f"{approval.source} by {approval.approved_by}: {problem}")
            return False
        return True

    def first_covered_by(self, approvals: Iterable[Approval]) -> Approval | None:
        """The first of ``approvals`` that covers this request and may approve it."""
        for approval in approvals:
            if self.accepts(approval):
                return approval
        return None

    def refuse(self, where: str, problem: str) -> None:
        """Note that ``where`` (a file, a record) was not read as an approval, and why."""
        self.refused.append(f"{where}: {problem}")


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


def content_of(release: Release) -> str:
    """The code a release is, as messages name it."""
    if release.commit:
        return f"commit {release.commit}"
    if release.digest:
        return f"digest {release.digest}"
    return f"release {release.id}"


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
    elif request.release.digest:
        parts += ["--digest", request.release.digest]
    return shlex.join(parts)


def from_records(store: StateStore) -> Callable[[ApprovalRequest], Approval | None]:
    """The ``records`` provider: approvals kept by the state store, newest first."""

    def find(request: ApprovalRequest) -> Approval | None:
        return request.first_covered_by(reversed(store.approvals(request.environment)))

    return find


def prompt(request: ApprovalRequest) -> Approval | None:
    """Ask the person at the terminal to type the environment's name (the runbook's prompt).

    Not offered when the answer could not count: the person at the terminal is the
    deployer, so not under ``distinct_approver``, and a typed answer carries no signature.
    """
    if not request.interactive or request.distinct or request.key is not None:
        return None
    if request.action == "migration" and request.release.migration_files:
        files = request.release.migration_files
        print(
            f"Review the {len(files)} migration file(s) this release runs on "
            f"{request.environment}:\n" + "\n".join(f"  {f}" for f in files),
            file=sys.stderr,
        )
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
        digest=request.release.digest,
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
        if approval is not None and request.accepts(approval):
            return approval
    bound = f" for {content_of(request.release)}" if request.level <= 2 else ""
    why = request.release.metadata.get("why_not_commit")
    if why and request.level <= 2:
        bound += f" ({why})"
    if request.interactive and request.distinct:
        request.refuse(
            "prompt", "not offered: the approver must be someone other than the deployer"
        )
    elif request.interactive and request.key is not None:
        request.refuse("prompt", "not offered: approvals must be signed (require_signature)")
    refusals = "; ".join(dict.fromkeys(request.refused))  # in order, each once
    refused = f"; not counted: {refusals}" if refusals else ""
    raise ApprovalRequired(
        f"{request.action} to {request.environment} needs {level_name(request.level)} "
        f"approval{bound}, and none is on record{refused}",
        command=approve_command(request),
    )
