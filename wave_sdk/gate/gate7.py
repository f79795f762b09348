"""Gate 7's checks: stories, approval signal, escalations, violations, budget, QA, merges."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wave_sdk.gate.base import (
    APPROVED,
    CLOSED,
    Context,
    commit_matches,
    gate7_signal_name,
    missing_dir,
    no_wave,
    read_json,
    register,
    result,
    short_commit,
    status_of,
    summary_of,
)
from wave_sdk.models import CheckResult

_RESOLVED = re.compile(r"\bRESOLVED\b")

# -- Gate 7 ----------------------------------------------------------------------------


COMPLETE = frozenset({"complete", "completed", "done"})
"""Statuses of a story signal that mark the story complete (compared case-insensitively)."""


def _wave_signals(context: Context, what: str, kind: str, none: str) -> list[Path] | CheckResult:
    """The wave's ``signal-wave<N>-<kind>-*.json`` files, or the failure when there are none."""
    if context.wave is None:
        return no_wave(what)
    if not context.directory.is_dir():
        return missing_dir(context, what)
    pattern = f"signal-wave{context.wave}-{kind}-*.json"
    files = sorted(context.directory.glob(pattern))
    if not files:
        return result(
            False,
            f"no {what} for wave {context.wave} in {context.show(context.directory)}/ "
            f"({pattern}): {none}",
        )
    return files


@register("gate7-stories", "gate7")
def stories_complete(context: Context) -> CheckResult:
    """Every story of the wave is marked complete: the runbook's first Gate 7 line.

    The wave's stories are its story signals, ``signal-wave<N>-story-<ID>.json`` (the same
    files that name a release's stories in its signals); each must have a ``status`` of
    ``complete``, ``completed`` or ``done``.
    """
    files = _wave_signals(context, "story signal", "story", "the wave's stories are unknown")
    if isinstance(files, CheckResult):
        return files
    done, open_ = [], []
    for path in files:
        story = path.name.removeprefix(f"signal-wave{context.wave}-story-").removesuffix(".json")
        try:
            data = read_json(path)
        except ValueError as exc:
            open_.append(f"{story} ({path.name}: {exc})")
            continue
        story = str(data.get("story") or data.get("story_id") or data.get("id") or story)
        status = status_of(data)
        if status in COMPLETE:
            done.append(story)
        else:
            open_.append(f"{story} (status {status or 'not set'!r})")
    if open_:
        return result(
            False,
            f"{len(open_)} of {len(files)} stories of wave {context.wave} not complete: "
            f"{'; '.join(open_)} — finish them, or mark them complete in their signals",
        )
    return result(
        True, f"all {len(done)} stories of wave {context.wave} complete: {', '.join(done)}"
    )


@register("gate7-approval", "gate7")
def approval_signal(context: Context) -> CheckResult:
    """The Gate 7 approval signal of the wave exists, approves, and names this commit."""
    if context.wave is None:
        return no_wave("Gate 7 approval signal")
    if not context.directory.is_dir():
        return missing_dir(context, "Gate 7 approval signal")
    path = context.directory / gate7_signal_name(context.wave)
    shown = context.show(path)
    if not path.exists():
        others = sorted(p.name for p in context.directory.glob("signal-wave*-gate7-*.json"))
        seen = f" (found only: {', '.join(others)})" if others else ""
        return result(
            False,
            f"{shown} is missing: Gate 7 has not approved wave {context.wave}{seen}",
        )
    try:
        data = read_json(path)
    except ValueError as exc:
        return result(False, f"{shown}: {exc} — fix or re-create the approval signal")
    problem = gate7_problem(data, context.environment, context.wave)
    if problem:
        return result(False, f"{shown}: {problem}")
    named = data.get("commit")
    bound = ""
    if named is not None:
        if context.commit is None:
            return result(
                False,
                f"{shown} approves commit {named}, but the release has no commit to compare "
                "(deploy from a git checkout, or pass --release with a commit)",
            )
        if not commit_matches(str(named), context.commit):
            return result(
                False,
                f"{shown} approves commit {named}, but the release is commit "
                f"{short_commit(context.commit)}: Gate 7 must approve this commit",
            )
        bound = f" for commit {short_commit(context.commit)}"
    who = data.get("approved_by") or "an unnamed approver"
    return result(True, f"{shown}: wave {context.wave} approved by {who}{bound}")


def gate7_problem(data: dict[str, Any], environment: str, wave: int) -> str | None:
    status = status_of(data)
    if status is not None and status not in APPROVED:
        return f"status is {data['status']!r}, not 'approved'"
    if "wave" in data and str(data["wave"]) != str(wave):
        return f"is for wave {data['wave']}, not wave {wave} (fix its 'wave' field)"
    if data.get("environment") not in (None, environment):
        return f"approves environment {data['environment']!r}, not {environment!r}"
    return None


@register("gate7-escalations", "gate7")
def escalations(context: Context) -> CheckResult:
    """No ESCALATION signal is open (status other than resolved or closed)."""
    directory = context.directory
    files = (
        sorted(p for p in directory.glob("signal-*.json") if "escalation" in p.name.lower())
        if directory.is_dir()
        else []
    )
    if not files:
        return result(True, f"no ESCALATION signals in {context.show(directory)}/")
    open_ones = []
    for path in files:
        try:
            data = read_json(path)
        except ValueError as exc:
            open_ones.append(f"{context.show(path)} ({exc}; counted as open)")
            continue
        status = status_of(data)
        if status in CLOSED:
            continue
        summary = summary_of(data)
        open_ones.append(
            f"{context.show(path)} (status {data.get('status', 'not set')!r}"
            + (f": {summary})" if summary else ")")
        )
    if open_ones:
        return result(
            False,
            f"{len(open_ones)} open escalation(s): {'; '.join(open_ones)} — resolve them and "
            'set "status": "resolved"',
        )
    return result(
        True, f"no open escalations ({len(files)} resolved in {context.show(directory)}/)"
    )


@register("gate7-violations", "gate7")
def violations(context: Context) -> CheckResult:
    """``VIOLATIONS.log`` has no active entry (a line without the word RESOLVED)."""
    path = context.directory / context.config.gate.violations_file
    shown = context.show(path)
    if not path.exists():
        return result(True, f"no {shown}: no violations on record")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return result(False, f"{shown}: cannot read it ({exc.strerror})")
    entries = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    active = [(n, text) for n, text in entries if not _RESOLVED.search(text)]
    if not active:
        count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        return result(True, f"{shown}: {count}, all RESOLVED")
    shown_entries = "; ".join(
        f"line {n}: {text if len(text) <= 80 else text[:77] + '…'}" for n, text in active[:3]
    )
    more = f" and {len(active) - 3} more" if len(active) > 3 else ""
    return result(
        False,
        f"{len(active)} active violation(s) in {shown}: {shown_entries}{more} — fix them and "
        "mark each line RESOLVED",
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


@register("gate7-budget", "gate7")
def budget(context: Context) -> CheckResult:
    """The budget's ``spent`` is under its limit (``[gate] budget_limit`` or the file's)."""
    path = context.directory / context.config.gate.budget_file
    shown = context.show(path)
    configured = context.config.gate.budget_limit
    if not path.exists():
        if configured is None:
            return result(True, f"no {shown} and no [gate] budget_limit: no budget to keep")
        return result(
            False,
            f"{shown} is missing, so the spend against the limit {configured:g} is unknown: "
            'write {"spent": …} there',
        )
    try:
        data = read_json(path)
    except ValueError as exc:
        return result(False, f"{shown}: {exc}")
    spent = _number(data.get("spent"))
    if spent is None:
        return result(False, f"{shown}: 'spent' must be a number, not {data.get('spent')!r}")
    limit: float | None = configured
    source = "[gate] budget_limit"
    if limit is None:
        limit = _number(data.get("limit"))
        source = "'limit' in the file"
        if limit is None:
            if "limit" in data:
                return result(False, f"{shown}: 'limit' must be a number, not {data['limit']!r}")
            return result(
                True, f"{shown}: spent {spent:g}; no limit set ([gate] budget_limit or 'limit')"
            )
    if spent >= limit:
        return result(
            False,
            f"budget spent {spent:g} is not under its limit {limit:g} ({source}; {shown}) — "
            "raise the limit or get the spend approved",
        )
    return result(True, f"spent {spent:g} of {limit:g} ({source}; {shown})")


@register("gate7-qa", "gate7")
def qa_validation(context: Context) -> CheckResult:
    """Gate 4 (QA validation) signals of the wave exist and every one passed."""
    files = _wave_signals(context, "Gate 4 (QA) signal", "gate4", "QA has not validated this wave")
    if isinstance(files, CheckResult):
        return files
    bad = []
    for path in files:
        try:
            status = status_of(read_json(path))
        except ValueError as exc:
            bad.append(f"{path.name} ({exc})")
            continue
        if status not in APPROVED:
            bad.append(f"{path.name} (status {status or 'not set'!r})")
    if bad:
        return result(
            False, f"QA validation did not pass: {'; '.join(bad)} — passed or approved needed"
        )
    names = ", ".join(p.name for p in files)
    return result(True, f"{len(files)} Gate 4 signal(s) passed: {names}")


@register("gate7-merge", "gate7")
def merges_cleanly(context: Context) -> CheckResult:
    """Each branch to merge merges cleanly into the target, in order, without touching it.

    The branches are ``[gate] branches``, else ``[git] merge_order``; the target is
    ``[gate] target_branch``, else the environment's branch (when it is one branch, not a
    pattern), else ``[git] main`` — what ``wave merge --env`` merges into. Like ``wave
    merge``, the remote's copy of a branch counts when there is one; nothing is fetched.
    """
    config = context.config
    branch = config.environment(context.environment).branch
    if branch is not None and any(c in branch for c in "*?["):
        branch = None
    target = config.gate.target_branch or branch or config.git.main
    branches = config.gate.branches
    if branches is None:
        branches = list(config.git.merge_order)
    if not branches:
        return result(
            True, "nothing to merge: [git] merge_order (or [gate] branches) names no branch"
        )
    return check_merges(config.root, target, branches, config.git.remote)


def check_merges(root: Path, target: str, branches: list[str], remote: str) -> CheckResult:
    """Merge ``branches`` in order onto ``target`` in git's object database only.

    The same preview ``wave merge`` trusts (:meth:`wave_sdk.git.Repository.merge_preview`,
    ``git merge-tree``): refs, index and work tree stay as they were, nothing is fetched.
    """
    from wave_sdk.errors import WaveError
    from wave_sdk.git import Repository

    try:
        conflicts = Repository(root, remote=remote).merge_preview(
            target=target, branches=branches, fetch=False
        )
    except WaveError as exc:
        return result(False, f"cannot test the merges: {exc}")
    if not conflicts:
        return result(True, f"{', '.join(branches)} merge cleanly into {target}, in that order")
    branch, files = next(iter(conflicts.items()))
    before = branches[: branches.index(branch)]
    after = f" after {', '.join(before)}" if before else ""
    listed = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    return result(
        False,
        f"{branch} does not merge cleanly into {target}{after}: conflicts in "
        f"{listed or 'files git did not name'} — resolve them on {branch}",
    )
