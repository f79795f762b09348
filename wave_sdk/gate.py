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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.checks import CheckSpec
from wave_sdk.errors import ApprovalRequired
from wave_sdk.models import Approval, CheckResult, Release

if TYPE_CHECKING:
    from wave_sdk.approvals import ApprovalRequest
    from wave_sdk.config import WaveConfig
    from wave_sdk.state import StateStore

APPROVED = frozenset({"approved", "passed"})
"""Statuses that mean yes, in approval and Gate 4 signals (compared case-insensitively)."""

CLOSED = frozenset({"resolved", "closed"})
"""Statuses that close an escalation."""

_RESOLVED = re.compile(r"\bRESOLVED\b")
_SUMMARY_FIELDS = ("summary", "reason", "title", "message", "description")


def gate7_signal_name(wave: int) -> str:
    return f"signal-wave{wave}-gate7-merge-approved.json"


def framework_dir(config: WaveConfig) -> Path:
    """The directory of the WAVE framework's files: ``[gate] dir``, else ``[signals] dir``."""
    path = Path(config.gate.dir or config.signals.dir)
    return path if path.is_absolute() else config.root / path


def uses_framework(config: WaveConfig) -> bool:
    """Whether the project uses the WAVE framework: a ``[gate]`` table, or its files.

    The pipeline's own signals (``signal-deployment-*``, ``signal-rollback-*``) live in the
    same directory and do not count, or every project would turn the gate on by deploying.
    """
    if "gate" in config.model_fields_set:
        return True
    directory = framework_dir(config)
    if not directory.is_dir():
        return False
    if (directory / config.gate.violations_file).exists():
        return True
    if (directory / config.gate.budget_file).exists():
        return True
    return any(
        p.name.startswith("signal-wave") or "escalation" in p.name.lower()
        for p in directory.glob("signal-*.json")
    )


def gate_enabled(config: WaveConfig, environment: str) -> bool:
    """``[environments.<env>] gate`` if set; else production environments of WAVE projects."""
    env = config.environment(environment)
    if env.gate is not None:
        return env.gate
    return env.is_production(environment) and uses_framework(config)


@dataclass(frozen=True)
class _Context:
    environment: str
    config: WaveConfig
    release: Release | None
    store: StateStore | None

    @property
    def directory(self) -> Path:
        return framework_dir(self.config)

    @property
    def wave(self) -> int | None:
        return self.config.gate.wave

    @property
    def commit(self) -> str | None:
        return self.release.commit if self.release else None

    def show(self, path: Path) -> str:
        """``path`` as a person finds it: relative to the project when it is inside."""
        try:
            return path.relative_to(self.config.root).as_posix()
        except ValueError:
            return str(path)


_Check = Callable[[_Context], CheckResult]
_CHECKS: dict[str, tuple[str, _Check]] = {}


def _check(name: str, group: str) -> Callable[[_Check], _Check]:
    """Register a built-in check under its ``[gate] checks`` name and checklist section."""

    def register(func: _Check) -> _Check:
        _CHECKS[name] = (group, func)
        return func

    return register


def gate_checks(
    *,
    environment: str,
    config: WaveConfig,
    release: Release | None = None,
    store: StateStore | None = None,
) -> list[CheckSpec]:
    """The built-in checks ``[gate] checks`` names, when the gate is on for ``environment``."""
    if not gate_enabled(config, environment):
        return []
    context = _Context(environment, config, release, store)
    specs = []
    for name in dict.fromkeys(config.gate.checks):
        group, func = _CHECKS[name]
        specs.append(CheckSpec(name=name, group=group, run=_bind(func, context, name)))
    return specs


def _bind(func: _Check, context: _Context, name: str) -> Callable[[], CheckResult]:
    def run() -> CheckResult:
        return func(context).model_copy(update={"name": name})

    return run


def _result(ok: bool, detail: str, **extra: Any) -> CheckResult:
    # The name is filled in by the spec (see _bind): one place decides what a check is called.
    return CheckResult(name="", ok=ok, detail=detail, **extra)


# -- reading the framework's files -----------------------------------------------------


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``.

    Raises:
        ValueError: with a one-line reason (not readable, not JSON, not an object).

    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read it ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(f"not valid JSON ({where}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"must hold a JSON object, not {type(data).__name__}")
    return data


def _status(data: dict[str, Any]) -> str | None:
    value = data.get("status")
    return str(value).strip().lower() if value is not None else None


def _summary(data: dict[str, Any]) -> str:
    for field in _SUMMARY_FIELDS:
        if isinstance(data.get(field), str) and data[field].strip():
            text = " ".join(data[field].split())
            return text if len(text) <= 80 else text[:77] + "…"
    return ""


def commit_matches(named: str, commit: str | None) -> bool:
    """Whether a commit named in a file is ``commit``: the same SHA, or a ≥7-character prefix."""
    if commit is None:
        return False
    named, commit = named.strip().lower(), commit.lower()
    return named == commit or (len(named) >= 7 and commit.startswith(named))


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "unknown"


def _no_wave(what: str) -> CheckResult:
    return _result(
        False,
        f"no wave number, so no {what} to look for: set [gate] wave = N in wave.toml "
        "or pass --wave N",
    )


def _missing_dir(context: _Context, what: str) -> CheckResult:
    return _result(
        False,
        f"{context.show(context.directory)}/ does not exist, so there is no {what}: "
        "set [gate] dir to where the WAVE framework keeps its files",
    )


# -- Gate 7 ----------------------------------------------------------------------------


@_check("gate7-approval", "gate7")
def approval_signal(context: _Context) -> CheckResult:
    """The Gate 7 approval signal of the wave exists, approves, and names this commit."""
    if context.wave is None:
        return _no_wave("Gate 7 approval signal")
    if not context.directory.is_dir():
        return _missing_dir(context, "Gate 7 approval signal")
    path = context.directory / gate7_signal_name(context.wave)
    shown = context.show(path)
    if not path.exists():
        others = sorted(p.name for p in context.directory.glob("signal-wave*-gate7-*.json"))
        seen = f" (found only: {', '.join(others)})" if others else ""
        return _result(
            False,
            f"{shown} is missing: Gate 7 has not approved wave {context.wave}{seen}",
        )
    try:
        data = read_json(path)
    except ValueError as exc:
        return _result(False, f"{shown}: {exc} — fix or re-create the approval signal")
    problem = _gate7_problem(data, context.environment, context.wave)
    if problem:
        return _result(False, f"{shown}: {problem}")
    named = data.get("commit")
    bound = ""
    if named is not None:
        if context.commit is None:
            return _result(
                False,
                f"{shown} approves commit {named}, but the release has no commit to compare "
                "(deploy from a git checkout, or pass --release with a commit)",
            )
        if not commit_matches(str(named), context.commit):
            return _result(
                False,
                f"{shown} approves commit {named}, but the release is commit "
                f"{_short(context.commit)}: Gate 7 must approve this commit",
            )
        bound = f" for commit {_short(context.commit)}"
    who = data.get("approved_by") or "an unnamed approver"
    return _result(True, f"{shown}: wave {context.wave} approved by {who}{bound}")


def _gate7_problem(data: dict[str, Any], environment: str, wave: int) -> str | None:
    status = _status(data)
    if status is not None and status not in APPROVED:
        return f"status is {data['status']!r}, not 'approved'"
    if "wave" in data and str(data["wave"]) != str(wave):
        return f"is for wave {data['wave']}, not wave {wave} (fix its 'wave' field)"
    if data.get("environment") not in (None, environment):
        return f"approves environment {data['environment']!r}, not {environment!r}"
    return None


@_check("gate7-escalations", "gate7")
def escalations(context: _Context) -> CheckResult:
    """No ESCALATION signal is open (status other than resolved or closed)."""
    directory = context.directory
    files = (
        sorted(p for p in directory.glob("signal-*.json") if "escalation" in p.name.lower())
        if directory.is_dir()
        else []
    )
    if not files:
        return _result(True, f"no ESCALATION signals in {context.show(directory)}/")
    open_ones = []
    for path in files:
        try:
            data = read_json(path)
        except ValueError as exc:
            open_ones.append(f"{context.show(path)} ({exc}; counted as open)")
            continue
        status = _status(data)
        if status in CLOSED:
            continue
        summary = _summary(data)
        open_ones.append(
            f"{context.show(path)} (status {data.get('status', 'not set')!r}"
            + (f": {summary})" if summary else ")")
        )
    if open_ones:
        return _result(
            False,
            f"{len(open_ones)} open escalation(s): {'; '.join(open_ones)} — resolve them and "
            'set "status": "resolved"',
        )
    return _result(
        True, f"no open escalations ({len(files)} resolved in {context.show(directory)}/)"
    )


@_check("gate7-violations", "gate7")
def violations(context: _Context) -> CheckResult:
    """``VIOLATIONS.log`` has no active entry (a line without the word RESOLVED)."""
    path = context.directory / context.config.gate.violations_file
    shown = context.show(path)
    if not path.exists():
        return _result(True, f"no {shown}: no violations on record")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return _result(False, f"{shown}: cannot read it ({exc.strerror})")
    entries = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    active = [(n, text) for n, text in entries if not _RESOLVED.search(text)]
    if not active:
        count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
        return _result(True, f"{shown}: {count}, all RESOLVED")
    shown_entries = "; ".join(
        f"line {n}: {text if len(text) <= 80 else text[:77] + '…'}" for n, text in active[:3]
    )
    more = f" and {len(active) - 3} more" if len(active) > 3 else ""
    return _result(
        False,
        f"{len(active)} active violation(s) in {shown}: {shown_entries}{more} — fix them and "
        "mark each line RESOLVED",
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


@_check("gate7-budget", "gate7")
def budget(context: _Context) -> CheckResult:
    """The budget's ``spent`` is under its limit (``[gate] budget_limit`` or the file's)."""
    path = context.directory / context.config.gate.budget_file
    shown = context.show(path)
    configured = context.config.gate.budget_limit
    if not path.exists():
        if configured is None:
            return _result(True, f"no {shown} and no [gate] budget_limit: no budget to keep")
        return _result(
            False,
            f"{shown} is missing, so the spend against the limit {configured:g} is unknown: "
            'write {"spent": …} there',
        )
    try:
        data = read_json(path)
    except ValueError as exc:
        return _result(False, f"{shown}: {exc}")
    spent = _number(data.get("spent"))
    if spent is None:
        return _result(False, f"{shown}: 'spent' must be a number, not {data.get('spent')!r}")
    limit: float | None = configured
    source = "[gate] budget_limit"
    if limit is None:
        limit = _number(data.get("limit"))
        source = "'limit' in the file"
        if limit is None:
            if "limit" in data:
                return _result(False, f"{shown}: 'limit' must be a number, not {data['limit']!r}")
            return _result(
                True, f"{shown}: spent {spent:g}; no limit set ([gate] budget_limit or 'limit')"
            )
    if spent >= limit:
        return _result(
            False,
            f"budget spent {spent:g} is not under its limit {limit:g} ({source}; {shown}) — "
            "raise the limit or get the spend approved",
        )
    return _result(True, f"spent {spent:g} of {limit:g} ({source}; {shown})")


@_check("gate7-qa", "gate7")
def qa_validation(context: _Context) -> CheckResult:
    """Gate 4 (QA validation) signals of the wave exist and every one passed."""
    if context.wave is None:
        return _no_wave("Gate 4 (QA) signal")
    if not context.directory.is_dir():
        return _missing_dir(context, "Gate 4 (QA) signal")
    pattern = f"signal-wave{context.wave}-gate4-*.json"
    files = sorted(context.directory.glob(pattern))
    if not files:
        return _result(
            False,
            f"no Gate 4 (QA) signal for wave {context.wave} in {context.show(context.directory)}/ "
            f"({pattern}): QA has not validated this wave",
        )
    bad = []
    for path in files:
        try:
            status = _status(read_json(path))
        except ValueError as exc:
            bad.append(f"{path.name} ({exc})")
            continue
        if status not in APPROVED:
            bad.append(f"{path.name} (status {status or 'not set'!r})")
    if bad:
        return _result(
            False, f"QA validation did not pass: {'; '.join(bad)} — passed or approved needed"
        )
    names = ", ".join(p.name for p in files)
    return _result(True, f"{len(files)} Gate 4 signal(s) passed: {names}")


@_check("gate7-merge", "gate7")
def merges_cleanly(context: _Context) -> CheckResult:
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
        return _result(
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
        return _result(False, f"cannot test the merges: {exc}")
    if not conflicts:
        return _result(True, f"{', '.join(branches)} merge cleanly into {target}, in that order")
    branch, files = next(iter(conflicts.items()))
    before = branches[: branches.index(branch)]
    after = f" after {', '.join(before)}" if before else ""
    listed = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    return _result(
        False,
        f"{branch} does not merge cleanly into {target}{after}: conflicts in "
        f"{listed or 'files git did not name'} — resolve them on {branch}",
    )


# -- documentation and communication ---------------------------------------------------


@_check("changelog", "documentation")
def changelog(context: _Context) -> CheckResult:
    """The changelog changed between the live release's commit and the one being deployed."""
    name = context.config.gate.changelog
    current = context.store.current(context.environment) if context.store else None
    if current is None:
        return _result(True, f"first deploy of {context.environment}: no release to compare")
    if current.commit is None:
        return _result(
            False,
            f"the live release {current.release} has no commit, so whether {name} changed "
            "is unknown: deploy from a git checkout, or drop 'changelog' from [gate] checks",
        )
    head = context.commit or "HEAD"
    if context.commit is not None and commit_matches(current.commit, context.commit):
        return _result(True, f"redeploy of the live commit {_short(current.commit)}: no changes")
    from wave_sdk.errors import GitError
    from wave_sdk.git import changed_files

    try:
        changed = changed_files(context.config.root, current.commit, head)
    except GitError as exc:
        return _result(
            False,
            f"cannot compare with the live release's commit {_short(current.commit)}: "
            f"{exc.message} (fetch it, or check that this is the deployed repository)",
        )
    wanted = Path(name).as_posix()
    since = f"since {_short(current.commit)} (live in {context.environment})"
    if wanted in changed:
        return _result(True, f"{name} changed {since}")
    return _result(
        False,
        f"{name} did not change {since}: {len(changed)} file(s) changed, none of them the "
        f"changelog — add an entry for this release",
    )


@_check("validation-report", "documentation")
def validation_report(context: _Context) -> CheckResult:
    """The validation report exists (``wave check`` writes it), for this commit if it says."""
    from wave_sdk.validation import read_report_header, report_path

    path = report_path(context.config)
    if path is None:
        return _result(
            False,
            "[gate] report is empty, so there is no validation report to find: name the file "
            "(default VALIDATION-REPORT.md) or drop 'validation-report' from [gate] checks",
        )
    shown = context.show(path)
    if not path.exists():
        return _result(
            False,
            f"{shown} is missing: run `wave check --env {context.environment}` (it writes it)",
        )
    header = read_report_header(path)
    commit = header.get("commit")
    if commit and context.commit and not commit_matches(commit, context.commit):
        return _result(
            False,
            f"{shown} validated commit {_short(commit)}, but the release is "
            f"{_short(context.commit)}: run `wave check --env {context.environment}` again",
        )
    if header.get("status") == "in progress":
        return _result(True, f"{shown} (being written by this run)")
    when = f", written {header['generated']}" if header.get("generated") else ""
    made = header.get("status") or "not written by wave check"
    return _result(True, f"{shown} present ({made}{when})")


@_check("deployment-starting", "communication")
def deployment_starting(context: _Context) -> CheckResult:
    """The last deploy of the environment announced itself with ``deployment-starting``.

    For the deploy about to happen this is structural: the pipeline writes the signal
    before any adapter is called, and a failed write stops the deploy. So the check looks
    back — at the last deploy that got that far — and is pending (□) before the first one.
    """
    last = None
    if context.store is not None:
        for record in context.store.history(context.environment):
            if record.kind == "deploy" and record.outcome in (
                "succeeded",
                "degraded",
                "rolled_back",
            ):
                last = record
    directory = context.config.signals.dir
    signals = Path(directory) if Path(directory).is_absolute() else context.config.root / directory
    if last is None:
        return _result(
            True,
            f"no deploy of {context.environment} yet: the pipeline writes "
            f"signal-deployment-starting-… to {context.show(signals)}/ before it deploys",
            pending=True,
        )
    for path in sorted(signals.glob("signal-deployment-starting-*.json")):
        try:
            data = read_json(path)
        except ValueError:
            continue
        if data.get("deploy_id") == last.deploy_id:
            return _result(True, f"{context.show(path)} announced the last deploy ({last.release})")
    return _result(
        False,
        f"no deployment-starting signal in {context.show(signals)}/ for the last deploy of "
        f"{context.environment} ({last.deploy_id}, {last.release}): restore it or tell the "
        "team by hand, then drop 'deployment-starting' from [gate] checks if they are kept "
        "elsewhere",
    )


# -- approval signal files -------------------------------------------------------------


def signal_approvals(config: WaveConfig) -> Callable[[ApprovalRequest], Approval | None]:
    """The ``wave_approval`` provider over the framework's approval signal files.

    The Gate 7 signal of the configured wave approves ``deploy``; ``signal-*-approval*.json``
    files approve what they name. A file for the requested environment and action that is
    not a valid approval is an error naming the file and the field, not silently ignored:
    someone meant it to approve this.
    """

    def find(request: ApprovalRequest) -> Approval | None:
        for approval in _approvals(config, request):
            if approval.covers(
                environment=request.environment,
                action=request.action,
                level=request.level,
                release=request.release,
            ):
                return approval
        return None

    return find


def _approvals(config: WaveConfig, request: ApprovalRequest) -> Iterator[Approval]:
    directory = framework_dir(config)
    if not directory.is_dir():
        return
    wave = config.gate.wave
    if wave is not None and request.action == "deploy":
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
    if _gate7_problem(data, request.environment, wave):
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
    status = _status(data)
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
) -> Approval:
    if data.get("expires_at") is not None and _time(data["expires_at"]) is None:
        # Read as "never expires" it would outlive what the approver meant: refuse it.
        problem = f"'expires_at' is {data['expires_at']!r}, not an ISO 8601 time"
        raise _invalid(path, problem, request, config)
    commit = data.get("commit")
    if isinstance(commit, str) and commit_matches(commit, request.release.commit):
        commit = request.release.commit  # an abbreviated SHA of this very commit
    release = data.get("release")
    return Approval(
        environment=request.environment,
        action=request.action,
        level=level,
        approved_by=str(data.get("approved_by") or "Gate 7 signal"),
        release=str(release) if release is not None else None,
        commit=str(commit) if commit is not None else None,
        approved_at=_time(data.get("approved_at") or data.get("timestamp")) or _now(),
        expires_at=_time(data.get("expires_at")),
        source=f"signal {path.name}",
    )


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
