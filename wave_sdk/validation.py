"""The checklist as the runbook prints it (□ ✓ ✗), and ``VALIDATION-REPORT.md``.

``wave check`` shows every check under the runbook's sections — Gate 7, Technical,
Documentation, Communication, then any section a plugin adds — and writes the same to the
report file (``[gate] report``). The report is written twice: before the checks run, listing
each one as pending with the status ``in progress`` (so the ``validation-report`` check of the
same run finds it, and a run that dies leaves a report saying it never finished), and again
with the results. Its header lines (``- Commit: …``) are read back by that check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wave_sdk.checks import GROUPS
from wave_sdk.fileio import atomic_write
from wave_sdk.models import CheckResult
from wave_sdk.secrets import redact

if TYPE_CHECKING:
    from wave_sdk.checks import CheckSpec
    from wave_sdk.config import WaveConfig
    from wave_sdk.models import Release

TITLES = {
    "gate7": "Gate 7",
    "technical": "Technical",
    "documentation": "Documentation",
    "communication": "Communication",
    "release": "Release",
    "smoke": "Smoke test",
    "monitoring": "Monitoring",
}
MARKS = {"passed": "✓", "failed": "✗", "pending": "□"}
_HEADER = re.compile(r"^- (Project|Environment|Commit|Wave|Status|Generated): (.*)$", re.M)


def _label(result: CheckResult) -> str:
    """A check as the report names it: the runbook's line and the check's name."""
    return f"{result.item} [{result.name}]" if result.item else result.name


def report_path(config: WaveConfig) -> Path | None:
    """Where the report goes (``[gate] report``, relative to the project); ``None`` if off."""
    if not config.gate.report:
        return None
    path = Path(config.gate.report)
    return path if path.is_absolute() else config.root / path


def grouped(results: Iterable[CheckResult]) -> dict[str, list[CheckResult]]:
    """Results by section: the runbook's four first (even when empty), then the others."""
    groups: dict[str, list[CheckResult]] = {name: [] for name in GROUPS}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    return groups


def title(group: str) -> str:
    return TITLES.get(group, group.replace("-", " ").replace("_", " ").capitalize())


def summary(results: list[CheckResult]) -> str:
    counts = {status: 0 for status in MARKS}
    for result in results:
        counts[result.status] += 1
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no checks"


def render_checklist(
    results: list[CheckResult],
    *,
    environment: str,
    release: Release | None = None,
    wave: int | None = None,
    report: Path | None = None,
) -> str:
    """The checklist for a terminal: sections, one mark per check, failing output tails."""
    about = [f"commit {release.commit[:12]}"] if release and release.commit else []
    if wave is not None:
        about.append(f"wave {wave}")
    lines = [f"checklist for {environment}" + (f" ({', '.join(about)})" if about else "")]
    width = max((len(r.name) for r in results), default=0)
    for group, members in grouped(results).items():
        lines.append(title(group))
        if not members:
            lines.append("  (none for this environment)")
        for r in members:
            took = f" ({r.duration_s:.1f}s)" if not r.pending else ""
            if r.item:
                lines.append(f"  {MARKS[r.status]} {r.item} [{r.name}]: {r.detail}{took}")
            else:
                lines.append(f"  {MARKS[r.status]} {r.name:<{width}}  {r.detail}{took}")
            if r.status == "failed" and r.output_tail:
                lines.extend(f"      {line}" for line in r.output_tail.splitlines()[-10:])
    verdict = "passed" if all(r.ok for r in results) else "FAILED"
    lines.append(
        f"{verdict}: {summary(results)}" + (f" — report: {report}" if report is not None else "")
    )
    return redact("\n".join(lines))


def render_report(
    results: list[CheckResult],
    *,
    project: str,
    environment: str,
    release: Release | None,
    wave: int | None,
    status: str,
    generated: datetime | None = None,
) -> str:
    """``VALIDATION-REPORT.md``: a header, one table per section, then each failure's output."""
    generated = generated or datetime.now(UTC)
    commit = release.commit if release and release.commit else "unknown"
    lines = [
        f"# Validation report: {project} → {environment}",
        "",
        "<!-- Written by `wave check`; the '- Key: value' lines are read back by wave. -->",
        f"- Project: {project}",
        f"- Environment: {environment}",
        f"- Commit: {commit}",
        f"- Wave: {wave if wave is not None else 'not set'}",
        f"- Status: {status}",
        f"- Generated: {generated.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "",
        f"{len(results)} checks: {summary(results)}.",
    ]
    for group, members in grouped(results).items():
        lines += ["", f"## {title(group)}", ""]
        if not members:
            lines.append("None for this environment.")
            continue
        lines += ["| | Check | Status | Duration | Detail |", "|---|---|---|---|---|"]
        for r in members:
            took = "" if r.pending else f"{r.duration_s:.2f}s"
            lines.append(
                f"| {MARKS[r.status]} | {_cell(_label(r))} | {r.status} | {took} "
                f"| {_cell(r.detail)} |"
            )
    failures = [r for rs in grouped(results).values() for r in rs if r.status == "failed"]
    if failures:
        lines += ["", "## Failures"]
        for r in failures:
            lines += ["", f"### {r.name}", "", _cell(r.detail)]
            if r.output_tail:
                fence = "`" * max(3, _longest_backticks(r.output_tail) + 1)
                lines += ["", f"{fence}text", r.output_tail, fence]
    return redact("\n".join(lines) + "\n")


def _cell(text: str) -> str:
    # Masked before its whitespace is folded, or a secret holding a newline would not match.
    return " ".join(redact(text).split()).replace("|", "\\|")


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def write_report(
    path: Path,
    results: list[CheckResult],
    *,
    config: WaveConfig,
    environment: str,
    release: Release | None,
    status: str,
) -> None:
    atomic_write(
        path,
        render_report(
            results,
            project=config.project.name,
            environment=environment,
            release=release,
            wave=config.gate.wave,
            status=status,
        ),
    )


def pending(specs: list[CheckSpec]) -> list[CheckResult]:
    """Placeholder results for checks about to run: the in-progress report lists them all."""
    return [
        CheckResult(
            name=s.name, ok=True, pending=True, group=s.group, detail="running", item=s.item
        )
        for s in specs
    ]


def read_report_header(path: Path) -> dict[str, str]:
    """The ``- Key: value`` header of a report, keys lower-cased; ``{}`` for other files.

    A report written by someone else (the QA agent) has no header: it still counts as
    present, it just names no commit.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    header = {key.lower(): value.strip() for key, value in _HEADER.findall(text[:4000])}
    if header.get("commit") == "unknown":
        header.pop("commit")
    return header
