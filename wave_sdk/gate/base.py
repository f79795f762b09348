"""Whether the gate is on, and what its checks share: the files' place, reading, the registry.

Each check is a function of a :class:`Context` registered under its ``[gate] checks`` name
with :func:`register`; :func:`gate_checks` turns the configured names into
:class:`~wave_sdk.checks.CheckSpec` values for the built-in plugin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.checklist_items import ITEMS
from wave_sdk.checks import CheckSpec
from wave_sdk.models import CheckResult, Release

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.state import StateStore

APPROVED = frozenset({"approved", "passed"})
"""Statuses that mean yes, in approval and Gate 4 signals (compared case-insensitively)."""

CLOSED = frozenset({"resolved", "closed"})
"""Statuses that close an escalation."""

_SUMMARY_FIELDS = ("summary", "reason", "title", "message", "description")


def gate7_signal_name(wave: int) -> str:
    """The file name of wave ``wave``'s Gate 7 approval signal."""
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
class Context:
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


Check = Callable[[Context], CheckResult]
CHECKS: dict[str, tuple[str, Check]] = {}
"""Every built-in check by its ``[gate] checks`` name: (checklist section, function).
Filled by :func:`register` as the check modules are imported (the package imports both)."""


def register(name: str, group: str) -> Callable[[Check], Check]:
    """Register a built-in check under its ``[gate] checks`` name and checklist section."""

    def add(func: Check) -> Check:
        CHECKS[name] = (group, func)
        return func

    return add


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
    context = Context(environment, config, release, store)
    specs = []
    for name in dict.fromkeys(config.gate.checks):
        group, func = CHECKS[name]
        specs.append(
            CheckSpec(name=name, group=group, run=bind(func, context, name), item=ITEMS[name])
        )
    return specs


def bind(func: Check, context: Context, name: str) -> Callable[[], CheckResult]:
    """``func`` run on ``context``, its result named ``name`` (checks return it unnamed)."""

    def run() -> CheckResult:
        return func(context).model_copy(update={"name": name})

    return run


def result(ok: bool, detail: str, **extra: Any) -> CheckResult:
    """A check's result; its name is filled in by its spec (see :func:`bind`), in one place."""
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


def status_of(data: dict[str, Any]) -> str | None:
    """A file's ``status``, lower-case, or ``None`` when it has none."""
    value = data.get("status")
    return str(value).strip().lower() if value is not None else None


def summary_of(data: dict[str, Any]) -> str:
    """A file's first descriptive field on one line, at most 80 characters; "" if none."""
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


def short_commit(commit: str | None) -> str:
    """A commit as messages show it: 12 characters."""
    return commit[:12] if commit else "unknown"


def no_wave(what: str) -> CheckResult:
    """The failure of a check that needs a wave number and has none."""
    return result(
        False,
        f"no wave number, so no {what} to look for: set [gate] wave = N in wave.toml "
        "or pass --wave N",
    )


def missing_dir(context: Context, what: str) -> CheckResult:
    """The failure of a check whose directory of framework files does not exist."""
    return result(
        False,
        f"{context.show(context.directory)}/ does not exist, so there is no {what}: "
        "set [gate] dir to where the WAVE framework keeps its files",
    )
