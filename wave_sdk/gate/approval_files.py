"""Approval signal files as approvals: ``signal-*-approval*.json``, and the Gate 7 signal.

Any process that can write to the signals directory can write these files, so what they
may approve is limited by ``[approvals]`` (docs/concepts.md#trust): a file carries at most
``signal_files_up_to`` (default L2: never the L1 human), the Gate 7 signal approves a
deploy only with ``gate7_approves``, and with ``require_signature`` a file counts only
when its ``signature`` (:mod:`wave_sdk.signing`, over the file's JSON) holds — the provider
then signs the approval it returns, vouching for what it checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import ApprovalRequired
from wave_sdk.gate.base import (
    APPROVED,
    commit_matches,
    framework_dir,
    gate7_signal_name,
    read_json,
    status_of,
)
from wave_sdk.gate.gate7 import gate7_problem
from wave_sdk.models import Approval

if TYPE_CHECKING:
    from wave_sdk.approvals import ApprovalRequest
    from wave_sdk.config import WaveConfig

# -- approval signal files -------------------------------------------------------------


def signal_approvals(config: WaveConfig) -> Callable[[ApprovalRequest], Approval | None]:
    """The ``wave_approval`` provider over the framework's approval signal files.

    The Gate 7 signal of the configured wave approves ``deploy``; ``signal-*-approval*.json``
    files approve what they name. A file for the requested environment and action that is
    not a valid approval is an error naming the file and the field, not silently ignored:
    someone meant it to approve this.
    """

    def find(request: ApprovalRequest) -> Approval | None:
        return request.first_covered_by(_approvals(config, request))

    return find


def _approvals(config: WaveConfig, request: ApprovalRequest) -> Iterator[Approval]:
    directory = framework_dir(config)
    if not directory.is_dir():
        return
    wave = config.gate.wave
    if wave is not None and request.action == "deploy" and config.approvals.gate7_approves:
        path = directory / gate7_signal_name(wave)
        if path.exists():
            approval = _gate7_approval(path, request, wave, config)
            if approval is not None:
                yield approval
    for path in sorted(directory.glob("signal-*-approval*.json")):
        approval = _file_approval(path, request, config)
        if approval is not None:
            yield approval


def _invalid(
    path: Path, problem: str, request: ApprovalRequest, config: WaveConfig
) -> ApprovalRequired:
    from wave_sdk.approvals import approve_command

    try:
        shown = path.relative_to(config.root).as_posix()
    except ValueError:
        shown = str(path)
    return ApprovalRequired(
        f"{shown}: {problem}, so it cannot approve {request.action} to {request.environment} "
        "(fix or delete the file)",
        command=approve_command(request),
    )


def _gate7_approval(
    path: Path, request: ApprovalRequest, wave: int, config: WaveConfig
) -> Approval | None:
    try:
        data = read_json(path)
    except ValueError as exc:
        raise _invalid(path, str(exc), request, config) from None
    if gate7_problem(data, request.environment, wave):
        return None  # withdrawn, another wave's or environment's: not an approval of this
    level = _level(data.get("level", 1))
    if level is None:
        raise _invalid(path, f"'level' is {data.get('level')!r}, not L1 … L5", request, config)
    return _approval(path, data, request, config, level=level)


def _file_approval(path: Path, request: ApprovalRequest, config: WaveConfig) -> Approval | None:
    try:
        data = read_json(path)
    except ValueError as exc:
        raise _invalid(path, str(exc), request, config) from None
    if data.get("environment") != request.environment or data.get("action") != request.action:
        return None  # another environment's or action's approval
    status = status_of(data)
    if status is not None and status not in APPROVED:
        return None
    level = _level(data.get("level"))
    if level is None:
        problem = f"'level' is {data.get('level')!r}, not L1 … L5"
        raise _invalid(path, problem, request, config)
    if not isinstance(data.get("approved_by"), str) or not data["approved_by"].strip():
        raise _invalid(path, "'approved_by' is missing (who approved?)", request, config)
    return _approval(path, data, request, config, level=level)


def _approval(
    path: Path, data: dict[str, Any], request: ApprovalRequest, config: WaveConfig, *, level: int
) -> Approval | None:
    from wave_sdk import signing

    key = request.key
    if key is not None:
        problem = signing.problem(data, key.get_secret_value())
        if problem is not None:
            request.refuse(path.name, problem)
            return None
    cap = config.approvals.signal_files_up_to
    if level < cap and request.level < cap:
        request.refuse(
            path.name,
            f"it claims L{level}, and a signal file counts as at most L{cap} "
            "([approvals] signal_files_up_to)",
        )
    if data.get("expires_at") is not None and _time(data["expires_at"]) is None:
        # Read as "never expires" it would outlive what the approver meant: refuse it.
        problem = f"'expires_at' is {data['expires_at']!r}, not an ISO 8601 time"
        raise _invalid(path, problem, request, config)
    commit = data.get("commit")
    if isinstance(commit, str) and commit_matches(commit, request.release.commit):
        commit = request.release.commit  # an abbreviated SHA of this very commit
    release = data.get("release")
    digest = data.get("digest")
    approval = Approval(
        environment=request.environment,
        action=request.action,
        # A file can stand in for at most the configured authority, whatever it claims.
        level=max(level, config.approvals.signal_files_up_to),
        approved_by=str(data.get("approved_by") or "Gate 7 signal"),
        release=str(release) if release is not None else None,
        commit=str(commit) if commit is not None else None,
        digest=str(digest) if digest is not None else None,
        approved_at=_time(data.get("approved_at") or data.get("timestamp")) or _now(),
        expires_at=_time(data.get("expires_at")),
        source=f"signal {path.name}",
    )
    return signing.sign_approval(approval, key.get_secret_value()) if key else approval


def _level(value: Any) -> int | None:
    if isinstance(value, str) and re.fullmatch(r"[Ll]?[1-5]", value.strip()):
        return int(value.strip()[-1])
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return value
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)
