"""The runbook's documentation and communication checklists.

Documentation: the changelog, the API documentation and the README changed with what
they document, the validation report is there. Communication: the last deploy announced
itself, an on-call engineer is named, the rollback plan is known, the stakeholders are
aware (a command, or a manual item □). Where the gate is on, the runbook's lines no check
answers are shown too (:func:`runbook_lines`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from wave_sdk.gate.base import (
    Context,
    bind,
    commit_matches,
    read_json,
    register,
    result,
    short_commit,
)
from wave_sdk.models import CheckResult

if TYPE_CHECKING:
    from wave_sdk.checks import CheckSpec

# -- documentation and communication ---------------------------------------------------


def _changes(context: Context, what: str) -> tuple[list[str], str] | CheckResult:
    """The files changed since the live release's commit, and "since <commit> (live in …)".

    The check's result instead when there is nothing to compare: a first deploy (passes),
    a redeploy of the live commit (passes), a live release without a commit or a commit
    git cannot compare (fails, saying why). ``what`` names what the check looks for.
    """
    current = context.store.current(context.environment) if context.store else None
    if current is None:
        return result(True, f"first deploy of {context.environment}: no release to compare")
    if current.commit is None:
        return result(
            False,
            f"the live release {current.release} has no commit, so whether {what} changed "
            "is unknown: deploy from a git checkout, or drop this check from [gate] checks",
        )
    head = context.commit or "HEAD"
    if context.commit is not None and commit_matches(current.commit, context.commit):
        return result(
            True, f"redeploy of the live commit {short_commit(current.commit)}: no changes"
        )
    from wave_sdk.errors import GitError
    from wave_sdk.git import changed_files

    try:
        changed = changed_files(context.config.root, current.commit, head)
    except GitError as exc:
        return result(
            False,
            f"cannot compare with the live release's commit {short_commit(current.commit)}: "
            f"{exc.message} (fetch it, or check that this is the deployed repository)",
        )
    return changed, f"since {short_commit(current.commit)} (live in {context.environment})"


def _under(path: str, specs: list[str]) -> bool:
    """Whether ``path`` is one of ``specs`` or inside one (a directory ends with ``/``)."""
    return any(path == s.rstrip("/") or path.startswith(s.rstrip("/") + "/") for s in specs)


@register("changelog", "documentation")
def changelog(context: Context) -> CheckResult:
    """The changelog changed between the live release's commit and the one being deployed."""
    name = context.config.gate.changelog
    found = _changes(context, name)
    if isinstance(found, CheckResult):
        return found
    changed, since = found
    if Path(name).as_posix() in changed:
        return result(True, f"{name} changed {since}")
    return result(
        False,
        f"{name} did not change {since}: {len(changed)} file(s) changed, none of them the "
        f"changelog — add an entry for this release",
    )


def _docs_follow(
    context: Context, *, what: str, watched: list[str], docs: list[str], keys: str
) -> CheckResult:
    """When a file under ``watched`` changed since the live release, one under ``docs`` did."""
    if not watched or not docs:
        return result(
            True,
            f"which changes need {what} is not configured: set [gate] {keys}",
            pending=True,
        )
    found = _changes(context, what)
    if isinstance(found, CheckResult):
        return found
    changed, since = found
    touched = [f for f in changed if _under(f, watched)]
    if not touched:
        return result(True, f"nothing under {', '.join(watched)} changed {since}")
    updated = [f for f in changed if _under(f, docs)]
    shown = ", ".join(touched[:3]) + (f" and {len(touched) - 3} more" if len(touched) > 3 else "")
    if updated:
        return result(True, f"{shown} changed, and {what} with it ({', '.join(updated[:3])})")
    return result(
        False,
        f"{shown} changed {since}, but nothing under {', '.join(docs)}: update {what}",
    )


@register("api-docs", "documentation")
def api_docs(context: Context) -> CheckResult:
    """API documentation changed with the API: files under ``api_paths`` need ``api_docs``."""
    gate = context.config.gate
    return _docs_follow(
        context,
        what="the API documentation",
        watched=gate.api_paths,
        docs=gate.api_docs,
        keys="api_paths and api_docs",
    )


@register("readme", "documentation")
def readme(context: Context) -> CheckResult:
    """The README changed when what it documents did: files under ``readme_paths``."""
    gate = context.config.gate
    return _docs_follow(
        context,
        what=gate.readme,
        watched=gate.readme_paths,
        docs=[gate.readme],
        keys="readme_paths",
    )


@register("validation-report", "documentation")
def validation_report(context: Context) -> CheckResult:
    """The validation report exists (``wave check`` writes it), for this commit if it says."""
    from wave_sdk.validation import read_report_header, report_path

    path = report_path(context.config)
    if path is None:
        return result(
            False,
            "[gate] report is empty, so there is no validation report to find: name the file "
            "(default VALIDATION-REPORT.md) or drop 'validation-report' from [gate] checks",
        )
    shown = context.show(path)
    if not path.exists():
        return result(
            False,
            f"{shown} is missing: run `wave check --env {context.environment}` (it writes it)",
        )
    header = read_report_header(path)
    commit = header.get("commit")
    if commit and context.commit and not commit_matches(commit, context.commit):
        return result(
            False,
            f"{shown} validated commit {short_commit(commit)}, but the release is "
            f"{short_commit(context.commit)}: run `wave check --env {context.environment}` again",
        )
    if header.get("status") == "in progress":
        return result(True, f"{shown} (being written by this run)")
    when = f", written {header['generated']}" if header.get("generated") else ""
    made = header.get("status") or "not written by wave check"
    return result(True, f"{shown} present ({made}{when})")


@register("deployment-starting", "communication")
def deployment_starting(context: Context) -> CheckResult:
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
        return result(
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
            return result(True, f"{context.show(path)} announced the last deploy ({last.release})")
    return result(
        False,
        f"no deployment-starting signal in {context.show(signals)}/ for the last deploy of "
        f"{context.environment} ({last.deploy_id}, {last.release}): restore it or tell the "
        "team by hand, then drop 'deployment-starting' from [gate] checks if they are kept "
        "elsewhere",
    )


@register("on-call", "communication")
def on_call(context: Context) -> CheckResult:
    """An on-call engineer is identified: ``[project.contacts] on_call`` names someone."""
    people = context.config.project.contacts.on_call
    if people:
        return result(True, f"on-call: {', '.join(people)} ([project.contacts] on_call)")
    return result(
        False,
        "no on-call engineer: a failure would name nobody — set [project.contacts] on_call",
    )


@register("rollback-plan", "communication")
def rollback_plan(context: Context) -> CheckResult:
    """The rollback plan: what a failed deploy returns to (``wave rollback --plan`` shows it)."""
    current = context.store.current(context.environment) if context.store else None
    if current is None:
        return result(
            True,
            f"first deploy of {context.environment}: a failure leaves it without a release "
            "(nothing to roll back to)",
            pending=True,
        )
    return result(
        True,
        f"on failure, roll back to {current.release} (live now); `wave rollback --plan --env "
        f"{context.environment}` shows each target",
    )


@register("stakeholders", "communication")
def stakeholders(context: Context) -> CheckResult:
    """Stakeholders are aware: ``[gate] stakeholders_command`` exits 0; else a manual item."""
    command = context.config.gate.stakeholders_command
    if command is None:
        return manual_item(
            context,
            "stakeholders",
            "a manual item: tell the stakeholders, or set [gate] stakeholders_command to a "
            "command that exits 0 once they are aware",
        )
    from wave_sdk import procs

    shown = procs.shown(command)
    try:
        done = procs.run(procs.command_argv(command), cwd=context.config.root, timeout=60)
    except OSError as exc:
        return result(False, f"`{shown}` cannot start: {exc.strerror or exc}")
    if done.ok:
        return result(True, f"`{shown}` exited 0")
    return result(False, f"`{shown}` {done.outcome()}: the stakeholders are not known to be aware")


def manual_item(context: Context, name: str, todo: str) -> CheckResult:
    """A manual item: passed once confirmed for this release, else pending with ``todo``.

    A confirmation is a ``confirm`` record in the environment's history naming the item
    and the release's content (``wave check`` asks on a terminal; ``wave check --confirm
    NAME`` and :meth:`Wave.confirm <wave_sdk.wave.Wave.confirm>` record it).
    """
    release = context.release
    if context.store is not None and release is not None:
        for record in reversed(context.store.history(context.environment)):
            same = (record.commit, record.digest) == (release.commit, release.digest)
            if record.kind == "confirm" and record.reason == name and same:
                when = record.finished_at.strftime("%Y-%m-%d %H:%M UTC")
                return result(True, f"confirmed by {record.deployer} at {when}")
    return result(True, todo, pending=True, manual=True)


def runbook_lines(context: Context, covered: set[str]) -> list[CheckSpec]:
    """The lines of the runbook's checklist that no check of the run answers, as items.

    Where the gate is on, ``wave check`` shows the runbook's whole checklist: a technical
    line none of the environment's commands answers (``covered`` holds the lines they do)
    is a manual item □ — "Bundle size acceptable" with no ``bundle-size`` command is
    something a person judges — and each post-deployment line says what will answer it
    (:mod:`wave_sdk.gate.post_deploy`).
    """
    from functools import partial

    from wave_sdk.checklist_items import ITEMS, TECHNICAL
    from wave_sdk.checks import CheckSpec

    specs = []
    for name in TECHNICAL:
        if ITEMS[name] in covered:
            continue
        todo = (
            f"a manual item: no command answers it — add [checks.{name}] and list it in "
            f"[environments.{context.environment}] checks, or confirm it"
        )
        check = partial(manual_item, name=name, todo=todo)
        specs.append(CheckSpec(name=name, item=ITEMS[name], run=bind(check, context, name)))
    from wave_sdk.gate.post_deploy import post_deploy_lines

    specs += post_deploy_lines(context)
    return specs
