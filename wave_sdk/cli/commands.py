"""Handlers of the ``wave`` subcommands: each takes the parsed arguments, returns an exit code.

Output rules, the same for every command: human text on stdout (progress on stderr); with
``--json`` exactly one JSON document on stdout and progress as JSON lines on stderr. Errors
are one line on stderr (or a JSON object on stdout with ``--json``), never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.errors import StateError, UsageError, WaveError
from wave_sdk.secrets import dumps, redact

if TYPE_CHECKING:
    from wave_sdk.models import Release, RollbackPlan


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        print(dumps(data, indent=2))
    else:
        print(redact(text))


def report_error(args: argparse.Namespace, exc: WaveError) -> None:
    if getattr(args, "json", False):
        print(dumps(exc.to_dict(), indent=2))
    else:
        print(f"wave: error: {exc}", file=sys.stderr)


def _wave(args: argparse.Namespace) -> Any:
    from wave_sdk.reporting import ConsoleReporter, JsonLinesReporter
    from wave_sdk.wave import Wave

    reporter = JsonLinesReporter() if args.json else ConsoleReporter(verbose=args.verbose)
    interactive = sys.stdin.isatty() and not args.json and not os.environ.get("CI")
    return Wave(
        args.config,
        reporter=reporter,
        interactive=interactive,
        wave=getattr(args, "wave", None),
    )


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


# -- commands --------------------------------------------------------------------------


def init(args: argparse.Namespace) -> int:
    from wave_sdk.cli.template import WAVE_TOML

    path = (
        Path(args.config or ".") / "wave.toml"
        if not (args.config or "").endswith(".toml")
        else Path(args.config)
    )
    if (os.path.lexists(path) and not path.is_file()) or path.is_symlink():
        raise UsageError(
            f"{path} is {'a directory' if path.is_dir() else 'a link'}, not a file to write",
            hint="remove it first, or pass --config with another path",
        )
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists", hint="pass --force to overwrite it")
    try:
        path.write_text(WAVE_TOML)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or type(exc).__name__}",
            hint="check the directory exists and is writable, or pass --config with another path",
        ) from None
    _out(args, {"written": str(path)}, f"wrote {path} — edit it, then run `wave config validate`")
    return 0


def content_line(release: Release) -> str:
    """``commit abc… (clean checkout)`` or ``digest sha256:… — why not a commit``."""
    if release.commit:
        return f"commit {release.commit}"
    if release.digest:
        why = release.metadata.get("why_not_commit")
        return f"digest {release.digest}" + (f" — no commit: {why}" if why else "")
    return "no commit or digest"


def plan(args: argparse.Namespace) -> int:
    wave = _wave(args)
    result = wave.plan(args.env, release=wave.release(args.release, source=args.source))
    lines = [f"plan: {result.release.id} → {result.environment}"]
    what = content_line(result.release)
    lines.append(f"  {'release':<8}{'':<6} {what}")
    for step in result.steps:
        mark = (
            ""
            if step.satisfied is None
            else (" ✓ approved" if step.satisfied else " ✗ not approved")
        )
        level = f" [L{step.level}]" if step.level else ""
        lines.append(f"  {step.step:<8}{level:<6} {step.detail}{mark}")
    _out(args, _dump(result), "\n".join(lines))
    return 0


def check(args: argparse.Namespace) -> int:
    from wave_sdk import validation

    wave = _wave(args)
    wave.config.environment(args.env)
    release = None
    with contextlib.suppress(WaveError):
        release = wave.release_for(args.env)
    for item in args.confirm:
        if release is None:
            raise UsageError(
                f"cannot confirm {item}: there is no release to confirm it for",
                hint="run it in the project's git checkout",
            )
        wave.confirm(args.env, item, release=release)
    results = wave.check(args.env, release=release, report=True)
    path = validation.report_path(wave.config)
    if release is not None and wave.ctx.interactive:
        results = _ask_manual_items(wave, args.env, release, results, path)
    ok = all(r.ok for r in results)
    data = {
        "environment": args.env,
        "commit": release.commit if release else None,
        "wave": wave.config.gate.wave,
        "ok": ok,
        "report": str(path) if path else None,
        "checks": [{**_dump(r), "status": r.status} for r in results],
    }
    text = validation.render_checklist(
        results,
        environment=args.env,
        release=release,
        wave=wave.config.gate.wave,
        report=path,
    )
    _out(args, data, text)
    return 0 if ok else 3


def _ask_manual_items(
    wave: Any, environment: str, release: Any, results: list[Any], path: Path | None
) -> list[Any]:
    """On a terminal: ask for each manual item still pending; record and show the yeses."""
    from wave_sdk import validation

    asked = False
    for i, result in enumerate(results):
        if not (result.manual and result.pending):
            continue
        answer = input(f"□ {result.name}: {result.detail}\n  Done? Type 'yes' to record it: ")
        if answer.strip().lower() != "yes":
            continue
        record = wave.confirm(environment, result.name, release=release)
        results[i] = result.model_copy(
            update={
                "pending": False,
                "manual": False,
                "detail": f"confirmed by {record.deployer} just now",
            }
        )
        asked = True
    if asked and path is not None:
        status = "passed" if all(r.ok for r in results) else "failed"
        validation.write_report(
            path,
            results,
            config=wave.config,
            environment=environment,
            release=release,
            status=status,
        )
    return results


def deploy(args: argparse.Namespace) -> int:
    if args.auto:
        return _auto_deploy(args)
    if args.env is None:
        raise UsageError(
            "wave deploy needs --env ENV (or --auto)",
            hint="name an environment of the configuration, e.g. --env staging",
        )
    if args.branch is not None:
        raise UsageError("--branch goes with --auto", hint="drop --branch, or add --auto")
    wave = _wave(args)
    try:
        report = wave.deploy(
            args.env,
            release=args.release,
            source=args.source,
            dry_run=args.dry_run,
            lock_wait=args.lock_wait,
            allow_no_rollback=args.allow_no_rollback,
            migrations=args.migrations,
        )
    except WaveError as exc:
        return _failed_run(args, exc)
    if args.dry_run:
        text = "\n".join(
            [f"dry run: {report.release} → {report.environment}"]
            + [f"  {s.step:<8} {s.detail}" for s in report.plan.steps]
        )
    else:
        times = ", ".join(f"{k} {v:g} ms" for k, v in report.response_time_ms.items())
        text = f"deployed {report.release} to {report.environment}" + (
            f" ({times})" if times else ""
        )
        if report.outcome == "degraded" and report.decision:
            text += f"\nwarning: degraded, kept live: {report.decision['reason']}"
    _out(args, _dump(report), text)
    return 0


def _failed_run(args: argparse.Namespace, exc: WaveError) -> int:
    """Print a failed deploy's error *and* its run's report, with ``--json``.

    A CI artefact then keeps what happened (steps, verification, decision, rollback) when
    the deploy failed after it started; anything else goes up to :func:`report_error`.
    """
    report = getattr(exc, "report", None)
    if args.json and report is not None:
        print(dumps({**exc.to_dict(), "report": report}, indent=2))
        return exc.exit_code
    raise exc


def _auto_deploy(args: argparse.Namespace) -> int:
    """``wave deploy --auto``: see :meth:`Wave.auto_deploy <wave_sdk.Wave.auto_deploy>`."""
    given = [
        flag
        for flag, value in (
            ("--env", args.env),
            ("--release", args.release),
            ("--source", args.source),
            ("--migrations", args.migrations),
            ("--allow-no-rollback", args.allow_no_rollback or None),
        )
        if value is not None
    ]
    if given:
        raise UsageError(
            f"--auto deploys the current commit wherever the branch goes; {given[0]} "
            "does not go with it",
            hint=f"drop {given[0]}, or deploy by hand with --env",
        )
    wave = _wave(args)
    try:
        report = wave.auto_deploy(
            branch=args.branch, dry_run=args.dry_run, lock_wait=args.lock_wait
        )
    except WaveError as exc:
        return _failed_run(args, exc)
    data = {
        "branch": report.branch,
        "branch_from": report.branch_from,
        "deployed": [_dump(r) for r in report.deployed],
        "skipped": [{"environment": s.environment, "reason": s.reason} for s in report.skipped],
    }
    lines = [
        f"{'planned' if args.dry_run else 'deployed'} {r.release} to {r.environment}"
        for r in report.deployed
    ] or [f"a push to {report.branch} deploys nowhere"]
    lines += [f"  not {s.environment}: {s.reason}" for s in report.skipped]
    _out(args, data, "\n".join(lines))
    return 0


def rollback(args: argparse.Namespace) -> int:
    wave = _wave(args)
    if args.plan:
        plan = wave.rollback_plan(args.env)
        decision = plan.decision
        text = "\n".join(
            [
                f"{args.env}: current release {plan.current or '-'}",
                f"  decision: {decision['action']} — {decision['reason']}",
                f"  advice:   {plan.advice}",
                f"  `wave rollback` would return to {plan.rollback_to or '-'} "
                f"({plan.rollback_to_reason})",
                *_rollback_plan_warnings(plan),
            ]
        )
        _out(args, _dump(plan), text)
        return 0
    results = wave.rollback(args.env, to=args.to, reason=args.reason, lock_wait=args.lock_wait)
    text = (
        "\n".join(f"rolled back {r.target}: {r.from_release} → {r.to_release}" for r in results)
        or "every target already runs that release; verified"
    )
    _out(args, [_dump(r) for r in results], text)
    return 0


def _rollback_plan_warnings(plan: RollbackPlan) -> list[str]:
    """What would make the plan's rollback fail or surprise: drift, a missing release."""
    lines = []
    last = plan.last_run
    if last is not None and (last.kind, last.outcome) == ("rollback", "failed"):
        lines.append(f"  warning: the last rollback failed — {last.reason}")
    for name, target in plan.targets.items():
        if target.error:
            lines.append(f"  {name}: cannot tell what is live — {target.error}")
            continue
        if plan.current and target.live != plan.current:
            lines.append(
                f"  {name}: {target.live or 'nothing'} is live ({target.state}), "
                f"not the recorded {plan.current}"
            )
        if target.goal_kept is False:
            lines.append(
                f"  warning: {plan.rollback_to} is no longer kept on {name}: "
                f"deploy it again (`wave deploy --release {plan.rollback_to} --source DIR`)"
            )
    return lines


def recover(args: argparse.Namespace) -> int:
    wave = _wave(args)
    done = wave.recover(args.env)
    text = "\n".join(f"recovered {d.kind} {d.message}" for d in done) or (
        f"{args.env}: no interrupted run to recover"
    )
    _out(args, {"environment": args.env, "recovered": [d.to_dict() for d in done]}, text)
    return 0


def status(args: argparse.Namespace) -> int:
    wave = _wave(args)
    reports = wave.status(args.env)
    interrupted = wave.interrupted(args.env, quiet=True)
    envs = [args.env] if args.env else list(wave.config.environments)
    data: dict[str, Any] = {}
    lines = []
    for env_name in envs:
        current = wave.store.current(env_name)
        unreadable = None
        try:
            lock = wave.store.read_lock(env_name)
        except StateError as exc:  # shown, not fatal: status must still tell what runs
            lock, unreadable = None, str(exc)
        targets = [r for r in reports if r.target in wave.config.environment(env_name).targets]
        # Drift: a target whose live release is not the one recorded as current (a release
        # left in place after a failure, a change made behind wave's back, a dead run).
        drift = {
            r.target: {
                "live": r.current,
                "recorded": current.targets.get(r.target, current.release),
            }
            for r in targets
            if current is not None and r.current != current.targets.get(r.target, current.release)
        }
        stale = lock is not None and wave.store.is_stale(lock)
        dead = [run for run in interrupted if run.begin.environment == env_name]
        data[env_name] = {
            "current": _dump(current) if current else None,
            "lock": {**lock.public(), "stale": stale}
            if lock
            else {"unreadable": unreadable}
            if unreadable
            else None,
            "interrupted": [run.summary() for run in dead],
            "targets": [_dump(r) for r in targets],
            "drift": drift,
        }
        lines.append(
            f"{env_name}: "
            + (
                f"{current.release} (deployed {current.deployed_at:%Y-%m-%d %H:%M}Z)"
                if current
                else "nothing deployed yet"
            )
            + (f" — locked by {lock.describe()}" + (" (stale)" if stale else "") if lock else "")
            + (f" — {unreadable}" if unreadable else "")
        )
        for r in targets:
            lines.append(
                f"  {r.target} ({r.adapter}): {r.state}, current release {r.current or '-'}"
                + (f" at {r.url}" if r.url else "")
            )
            if r.target in drift:
                lines.append(
                    f"    drift: {r.current or 'nothing'} is live, the recorded current release "
                    f"is {drift[r.target]['recorded']}"
                )
            lines.append(f"    releases available: {', '.join(r.releases) or 'none'}")
            lines += _host_lines(r.details.get("hosts"))
    _out(args, data, "\n".join(lines))
    return 0


def _host_lines(hosts: Any) -> list[str]:
    """Per-host lines for adapters that deploy to several machines (``details["hosts"]``).

    The shape is the adapter's; what is shown is what a person scans for: the release, the
    processes (status, restarts, memory, uptime), free disk, or why the host is unreachable.
    """
    if not isinstance(hosts, dict):
        return []
    lines = []
    for name, info in hosts.items():
        if not isinstance(info, dict):
            continue
        if info.get("reachable") is False:
            lines.append(f"    {name}: unreachable — {info.get('error', '')}")
            continue
        parts = [f"release {info.get('current') or '-'}"]
        if info.get("app"):
            parts.append(str(info["app"]))
        for p in info.get("processes") or []:
            if isinstance(p, dict):
                memory = p.get("memory")
                mib = f", {memory / 2**20:.0f} MiB" if isinstance(memory, int | float) else ""
                uptime = p.get("uptime_s")
                up = f", up {uptime:.0f}s" if isinstance(uptime, int | float) else ""
                parts.append(
                    f"pid {p.get('pid')} {p.get('status')} ({p.get('restarts')} restarts{mib}{up})"
                )
        disk = info.get("disk")
        if isinstance(disk, dict) and disk.get("free"):
            parts.append(f"disk {disk.get('used_pct', '?')} used, {disk['free']} free")
        lines.append(f"    {name}: " + "; ".join(parts))
    return lines


def health(args: argparse.Namespace) -> int:
    wave = _wave(args)
    results = wave.health(args.env)
    ok = all(r.ok for rs in results.values() for r in rs)
    lines = []
    for target, rs in results.items():
        lines.append(f"{target}:")
        for r in rs:
            took = f" {r.response_time_ms:g} ms" if r.response_time_ms is not None else ""
            lines.append(f"  {'✓' if r.ok else '✗'} {r.source}:{r.name} {r.detail}{took}")
    _out(
        args,
        {"ok": ok, "targets": {t: [_dump(r) for r in rs] for t, rs in results.items()}},
        "\n".join(lines),
    )
    return 0 if ok else 6


def history(args: argparse.Namespace) -> int:
    wave = _wave(args)
    records = wave.history(args.env)
    if args.limit:
        records = records[-args.limit :]
    lines = []
    for r in records:
        extra = ""
        if r.rolled_back_to:
            extra = f" (rolled back {r.rolled_back_from} → {r.rolled_back_to})"
        if r.approved_by:
            extra += f" approved by {r.approved_by}"
        lines.append(
            f"{r.finished_at:%Y-%m-%d %H:%M:%S}Z {r.environment:<12} {r.kind:<8} "
            f"{r.release or '-':<14} {r.outcome:<11} by {r.deployer}{extra}"
            + (f" — {r.reason}" if r.reason else "")
        )
    _out(args, [_dump(r) for r in records], "\n".join(lines) or "no history yet")
    return 0


def adapters(args: argparse.Namespace) -> int:
    from wave_sdk.plugins import get_plugin_manager

    manager = get_plugin_manager()
    specs = manager.adapter_specs
    data = {
        "adapters": [
            {
                "name": s.name,
                "plugin": s.plugin,
                "capabilities": sorted(s.capabilities),
                "summary": s.summary,
            }
            for s in specs.values()
        ],
        "broken": [{"name": b.name, "error": b.error} for b in manager.broken],
        "disabled": manager.disabled,
    }
    lines = [
        f"{s.name:<12} {', '.join(sorted(s.capabilities)) or '-':<44} {s.summary}"
        for s in specs.values()
    ]
    lines += [f"{b.name:<12} BROKEN: {b.error}" for b in manager.broken]
    lines += [f"{name:<12} disabled by WAVE_DISABLE_PLUGINS" for name in manager.disabled]
    _out(args, data, "\n".join(lines))
    return 0


def approve(args: argparse.Namespace) -> int:
    wave = _wave(args)
    approval = wave.approve(
        args.env,
        args.action,
        level=args.level,
        release=args.release,
        commit=args.commit,
        digest=args.digest,
        source=args.source,
        approved_by=args.by,
        expires_in=args.expires,
    )
    bound = f" for {approval.bound_to}" if approval.bound_to else ""
    if approval.signature:
        bound += " (signed)"
    if approval.commit is None and approval.digest is None:
        bound += " — it names no commit or digest, so it covers L3 to L5 steps only"
    _out(
        args,
        _dump(approval),
        f"recorded L{approval.level} approval of {args.action} to {args.env}{bound} "
        f"by {approval.approved_by}",
    )
    return 0


def lock(args: argparse.Namespace) -> int:
    wave = _wave(args)
    wave.config.environment(args.env)
    held = wave.store.read_lock(args.env)  # an unreadable lock is a one-line error, exit 1
    stale = held is not None and wave.store.is_stale(held)
    text = f"{args.env}: " + (
        "unlocked"
        if held is None
        else f"locked by {held.describe()}" + (" (stale)" if stale else "")
    )
    _out(
        args,
        {"environment": args.env, "lock": held.public() if held else None, "stale": stale},
        text,
    )
    return 0


def unlock(args: argparse.Namespace) -> int:
    wave = _wave(args)
    held = wave.unlock(args.env, reason=args.reason, live=args.force >= 2)
    _out(
        args,
        {"environment": args.env, "broken": held},
        f"{args.env}: "
        + ("lock broken (recorded in history)" if held else "was not locked (recorded)"),
    )
    return 0


def state(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from wave_sdk.state import open_state_store
    from wave_sdk.state_transfer import migrate_state

    wave = _wave(args)
    source = wave.config.state.store
    if args.to == source:
        raise UsageError(
            f"--to {args.to}: that is already the configured store ([state] store)",
            hint="name the store to move the state to",
        )
    destination = open_state_store(wave.config, wave.plugins, name=args.to)
    done = migrate_state(
        wave.store,
        destination,
        wave.config.environments,
        names=(source, args.to),
        owner=wave.deployer,
    )
    text = (
        f"copied {done.history} history records ({done.history_kept} already there), "
        f"{len(done.current)} current releases and {done.approvals} approvals "
        f"({done.approvals_kept} already there) from {source} to {args.to}\n"
        f'now set [state] store = "{args.to}" in {wave.config.file_label}'
    )
    _out(args, asdict(done), text)
    return 0


def config(args: argparse.Namespace) -> int:
    from wave_sdk.config import config_schema, load_config, validate_sections
    from wave_sdk.plugins import get_plugin_manager

    manager = get_plugin_manager()
    if args.action == "schema":
        print(dumps(config_schema(manager), indent=2))
        return 0
    from wave_sdk.state import open_state_store, state_store_specs, store_settings

    cfg = load_config(args.config)
    targets = {name: cfg.target_settings(name, manager) for name in cfg.targets}
    sections = validate_sections(cfg, manager)
    open_state_store(cfg, manager)  # an unknown [state] store fails here, not at deploy time
    if args.action == "validate":
        from wave_sdk import secrets

        warnings = [
            f"${{{name}}} is shorter than {secrets.MIN_LENGTH} characters: wave cannot mask it "
            "in command output or logs (its own fields never show it); use a longer secret"
            for name in secrets.too_short()
        ]
        _out(
            args,
            {"valid": True, "file": str(cfg.source), "warnings": warnings},
            "\n".join(
                [
                    f"{cfg.source}: valid ({len(cfg.environments)} environments, "
                    f"{len(targets)} targets)",
                    *(f"warning: {w}" for w in warnings),
                ]
            ),
        )
        return 0
    data = cfg.model_dump(mode="json", by_alias=True)
    data["targets"] = {
        name: {"adapter": spec.name, **settings.model_dump(mode="json")}
        for name, (spec, settings) in targets.items()
    }
    store = cfg.state.store  # its [state.<store>] table, validated like a target's keys
    model = state_store_specs(manager)[store].load_config()
    if model is not None:
        data["state"][store] = store_settings(cfg, store, model).model_dump(mode="json")
    data["plugins"] = {name: s.model_dump(mode="json") for name, s in sections.items()}
    print(dumps(data, indent=2))
    return 0


# -- git procedures (wave_sdk.git) ------------------------------------------------------


def merge(args: argparse.Namespace) -> int:
    from wave_sdk.git import Repository, environment_checks, merge_target

    wave = _wave(args)
    settings = wave.config.git
    target = merge_target(wave.config, args.env)
    result = Repository.from_config(wave.config, reporter=wave.reporter).merge(
        target=target,
        branches=args.branch or settings.merge_order,
        message=settings.message,
        push=settings.push and not args.no_push,
        validate=environment_checks(wave, args.env),
    )
    lines = [f"merged into {result.target}, in order:"] + [
        f"  {m.branch}: {m.ref} {m.tip[:12]} → "
        + (f"merge commit {m.commit[:12]}" if m.commit else "already contained")
        for m in result.merged
    ]
    lines.append(f"validated: the checks of {args.env} pass")
    lines.append(
        f"pushed {result.target} ({result.after[:12]}) to {result.remote}"
        if result.pushed
        else f"not pushed: {result.target} is at {result.after[:12]} locally"
    )
    _out(args, _dump(result), "\n".join(lines))
    return 0


def hotfix(args: argparse.Namespace) -> int:
    from wave_sdk.git import Repository

    wave = _wave(args)
    if args.action == "start":
        if args.no_deploy or args.env:
            raise UsageError(
                "--env and --no-deploy belong to `wave hotfix finish`", hint="leave them out"
            )
        repo = Repository.from_config(wave.config, reporter=wave.reporter)
        started = repo.hotfix_start(args.name, main=wave.config.git.main)
        _out(
            args,
            _dump(started),
            f"created {started.branch} from {started.main} at {started.base[:12]}: commit the "
            f"fix there, then run `wave hotfix finish {started.name}`",
        )
        return 0
    done, report = wave.hotfix_finish(args.name, environment=args.env, deploy=not args.no_deploy)
    where = (("here", done.deleted), (f"on {wave.config.git.remote}", done.deleted_remote))
    places = [place for place, deleted in where if deleted]
    lines = [
        f"{done.branch} "
        + (
            f"checked, approved by {done.approved_by or 'nobody (none needed)'}, merged into"
            if done.merged
            else "was already in"
        )
        + f" {done.main} ({done.commit[:12]})"
        + (", pushed" if done.pushed else ""),
        f"deployed {report.release} to {report.environment}"
        if report
        else "not deployed (--no-deploy)",
        f"backported to {done.develop} ({done.backport[:12]})"
        + (", pushed" if done.backport_pushed else "")
        if done.backport
        else f"{done.develop} already had it",
        f"deleted {done.branch} " + " and ".join(places) if places else f"kept {done.branch}",
    ]
    data = {**_dump(done), "deploy": _dump(report) if report else None}
    _out(args, data, "\n".join(lines))
    return 0


def revert(args: argparse.Namespace) -> int:
    from wave_sdk.git import Repository

    wave = _wave(args)
    settings = wave.config.git
    result = Repository.from_config(wave.config, reporter=wave.reporter).revert(
        args.commit,
        branch=args.branch or settings.main,
        push=settings.push and not args.no_push,
    )
    lines = [
        f"{r.commit[:12]} on {result.branch} reverts {r.reverted[:12]}"
        + (" (a merge: against its first parent)" if r.mainline else "")
        for r in result.reverts
    ]
    lines.append(
        f"pushed {result.branch} ({result.commit[:12]}) to {wave.config.git.remote}"
        if result.pushed
        else f"not pushed: {result.branch} is at {result.commit[:12]} locally"
    )
    text = "\n".join(lines)
    _out(args, _dump(result), text)
    return 0
