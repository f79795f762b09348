"""The runbook's documentation and communication checks: changelog, report, announcement."""

from __future__ import annotations

from pathlib import Path

from wave_sdk.gate.base import Context, commit_matches, read_json, register, result, short_commit
from wave_sdk.models import CheckResult

# -- documentation and communication ---------------------------------------------------


@register("changelog", "documentation")
def changelog(context: Context) -> CheckResult:
    """The changelog changed between the live release's commit and the one being deployed."""
    name = context.config.gate.changelog
    current = context.store.current(context.environment) if context.store else None
    if current is None:
        return result(True, f"first deploy of {context.environment}: no release to compare")
    if current.commit is None:
        return result(
            False,
            f"the live release {current.release} has no commit, so whether {name} changed "
            "is unknown: deploy from a git checkout, or drop 'changelog' from [gate] checks",
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
    wanted = Path(name).as_posix()
    since = f"since {short_commit(current.commit)} (live in {context.environment})"
    if wanted in changed:
        return result(True, f"{name} changed {since}")
    return result(
        False,
        f"{name} did not change {since}: {len(changed)} file(s) changed, none of them the "
        f"changelog — add an entry for this release",
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
