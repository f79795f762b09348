"""``wave.toml`` (or ``[tool.wave]`` in ``pyproject.toml``) as validated pydantic models.

The file is read once, ``${VAR}`` references are resolved from the environment into
:class:`~pydantic.SecretStr` values (see :mod:`wave_sdk.secrets`), and the result is
validated in two stages: :class:`WaveConfig` for the core's keys, then each target's own
keys against the model of the adapter it names (:meth:`WaveConfig.target_settings`). Any
problem becomes one :class:`~wave_sdk.errors.ConfigError` line naming the file, the dotted
key path, what is wrong and how to fix it.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from wave_sdk import secrets
from wave_sdk.errors import ConfigError, PluginError, UnknownAdapterError, WaveError

if TYPE_CHECKING:
    from wave_sdk.plugins import PluginManager

CONFIG_FILES = ("wave.toml", "pyproject.toml")
ACTIONS = ("deploy", "migration", "config", "rollback")
LEVEL_NAMES = {1: "L1 (human)", 2: "L2 (CTO)", 3: "L3 (PM)", 4: "L4 (QA)", 5: "L5 (automatic)"}


def _parse_level(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"[Ll][1-5]", value.strip()):
        return int(value.strip()[1])
    return value


class _Invalid(ValueError):
    """A validator's complaint with its fix; :func:`_config_error` shows both on one line."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message)


def _level(value: Any) -> int:
    parsed = _parse_level(value)
    if isinstance(parsed, bool) or not isinstance(parsed, int) or not 1 <= parsed <= 5:
        raise _Invalid(
            f"{value!r} is not an approval level",
            hint="use one of L1 (human), L2 (CTO), L3 (PM), L4 (QA), L5 (automatic)",
        )
    return parsed


Level = Annotated[
    int,
    BeforeValidator(_level),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^[Ll][1-5]$"},
                {"type": "integer", "minimum": 1, "maximum": 5},
            ],
            "description": "L1 (human), L2 (CTO), L3 (PM), L4 (QA) or L5 (automatic)",
        }
    ),
]
"""An approval level: ``"L1"`` … ``"L5"`` (or 1 … 5). L1 is a human, L5 automatic."""

DEFAULT_MATRIX: dict[str, dict[str, int]] = {
    "deploy": {"development": 5, "staging": 3, "production": 1},
    "migration": {"development": 4, "staging": 2, "production": 1},
    "config": {"development": 5, "staging": 3, "production": 1},
    "rollback": {"development": 5, "staging": 3, "production": 1},
}
"""The runbook's approval matrix; ``[approvals]`` overrides cells of it."""


class Settings(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable.

    Adapter authors subclass it for their target model (``AdapterSpec.config``). Fields that
    may carry secrets are typed ``SecretStr`` (or ``dict[str, str | SecretStr]``): a
    ``${VAR}`` reference yields a ``SecretStr``, and a plain ``str`` field refuses it so a
    secret cannot end up in a value that gets printed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectConfig(Settings):
    """``[project]``: who this is, and whom to call when a deploy fails."""

    name: str = Field("app", description="Project name, used in signals and history.")
    contacts: list[str] = Field(
        default_factory=list, description="Emergency contacts, shown in every failure message."
    )


class HealthEndpoint(Settings):
    """One HTTP health endpoint and what a healthy answer looks like."""

    path: str = Field(description="Path under the base URL, e.g. /api/health.")
    status: int = Field(200, ge=100, le=599, description="Expected HTTP status.")
    json_fields: dict[str, Any] = Field(
        default_factory=dict,
        alias="json",
        description='Expected JSON fields, dotted paths allowed: {"status" = "ok"}.',
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("path")
    @classmethod
    def _starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise _Invalid(f"{value!r} must start with '/'", hint=f"write it as '/{value}'")
        return value


def _default_endpoints() -> list[HealthEndpoint]:
    return [
        HealthEndpoint(path=p) for p in ("/api/health", "/api/health/db", "/api/health/external")
    ]


class HealthConfig(Settings):
    """``[health]``: how a release is verified over HTTP after a deploy."""

    endpoints: list[HealthEndpoint] = Field(
        default_factory=_default_endpoints,
        description="Endpoints to probe; default the runbook's three.",
    )
    base_url: str | None = Field(
        None, description="Base URL; default the URL the adapter reports for the release."
    )
    timeout: float = Field(5.0, gt=0, description="Seconds per request.")
    interval: float = Field(1.0, ge=0, description="Seconds between verification rounds.")
    consecutive: int = Field(
        2, ge=1, description="Rounds in a row that must pass before the release counts healthy."
    )
    retries: int = Field(10, ge=0, description="Failed rounds tolerated before giving up.")
    deadline: float = Field(60.0, gt=0, description="Seconds verification may take in all.")


class BakeConfig(Settings):
    """``[environments.<name>.bake]``: keep probing after verification passed.

    A breach of either threshold over the window counts as a failed verification and goes
    to the decision tree with the share of probes that answered well within ``max_p95_ms``.
    """

    duration: float = Field(gt=0, description="Seconds to keep probing the health endpoints.")
    interval: float = Field(1.0, gt=0, description="Seconds between probing rounds.")
    max_error_rate: float = Field(
        0.01, ge=0, le=1, description="Largest tolerated share of failed requests."
    )
    max_p95_ms: float | None = Field(
        None, gt=0, description="Largest tolerated 95th-percentile response time, in ms."
    )


class EnvironmentConfig(Settings):
    """``[environments.<name>]``: where a branch goes and what guards it."""

    branch: str | None = Field(None, description="Branch pattern, e.g. 'feature/*' or 'main'.")
    auto_deploy: bool = Field(False, description="Deploy automatically on push to the branch.")
    target: str | list[str] = Field(
        description="Target name, or names deployed in order (backend before frontend)."
    )
    checks: list[str] = Field(
        default_factory=list, description="Checks (from [checks]) to pass first."
    )
    health: HealthConfig | None = Field(
        None, description="Overrides [health] for this environment."
    )
    smoke: str | list[str] | None = Field(
        None,
        description="Smoke-test command run after the health checks pass, e.g. "
        "'npm run test:smoke -- --env=production' (a string runs in a shell).",
    )
    smoke_timeout: float = Field(600.0, gt=0, description="Seconds the smoke test may take.")
    bake: BakeConfig | None = Field(
        None, description="Monitoring window after verification (error rate and p95)."
    )
    auto_rollback: bool = Field(
        True,
        description="Act on the decision tree after a failed verification; when false, "
        "print its recommendation and leave the release as it is.",
    )
    production: bool | None = Field(
        None, description="Treat as production (default: when the name is 'production')."
    )
    allow_lower_approvals: bool = Field(
        False,
        description="Production only: let [approvals] require less than L1 here. Every "
        "plan and deploy says so.",
    )
    gate: bool | None = Field(
        None,
        description="Run the [gate] checks before deploying here (default: in production, "
        "when the project uses the WAVE framework).",
    )
    database_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL of the environment's database, as a secret: "
        '"${DATABASE_URL}". [migrations] backs it up, migrates it and rolls it back.',
    )

    @field_validator("target")
    @classmethod
    def _names_a_target(cls, value: str | list[str]) -> str | list[str]:
        if not value:
            raise _Invalid("names no target", hint='name one from [targets], e.g. target = "web"')
        return value

    @property
    def targets(self) -> list[str]:
        return [self.target] if isinstance(self.target, str) else list(self.target)

    def is_production(self, name: str) -> bool:
        return self.production if self.production is not None else name == "production"


class DecisionsConfig(Settings):
    """``[decisions]``: the thresholds of the runbook's rollback decision tree."""

    most_users: float = Field(
        0.95,
        ge=0,
        le=1,
        description="Share of passing checks that counts as 'working for most users'.",
    )
    config_paths: list[str] = Field(
        default_factory=lambda: [".env*", "*.env", "config/*", "config/**/*"],
        description="Glob patterns of configuration files: a release changing only these "
        "is a configuration change.",
    )


class CheckConfig(Settings):
    """``[checks.<name>]``: one command of the technical checklist."""

    command: str | list[str] = Field(
        description="A shell command line (string) or an argv list run without a shell."
    )
    timeout: float = Field(600.0, gt=0, description="Seconds before the check is killed.")
    cwd: str | None = Field(None, description="Working directory, relative to the project.")
    needs: list[str] = Field(
        default_factory=list,
        description="Checks (from [checks]) that must pass before this one starts; they run "
        "even when the environment does not list them.",
    )
    parallel: bool = Field(
        True,
        description="false: run alone, once no other check is running or ready to start "
        "(for checks that need the whole machine or share a build directory).",
    )


GateCheckName = Literal[
    "gate7-approval",
    "gate7-escalations",
    "gate7-violations",
    "gate7-budget",
    "gate7-qa",
    "gate7-merge",
    "changelog",
    "validation-report",
    "deployment-starting",
]
"""The built-in checks of ``[gate] checks``; see docs/gate.md for each one."""

GATE_CHECKS: tuple[GateCheckName, ...] = get_args(GateCheckName)


class GateConfig(Settings):
    """``[gate]``: the runbook's Gate 7 and its documentation and communication checklists.

    The checks read the WAVE framework's files (formats in docs/gate.md). They run before a
    deploy to an environment whose ``gate`` is true; unset, that is a production environment
    of a project that uses the framework (a ``[gate]`` table, or framework files in ``dir``).
    """

    wave: int | None = Field(
        None,
        ge=0,
        description="The wave being deployed (signal-wave<N>-…); `--wave N` overrides it.",
    )
    dir: str | None = Field(
        None, description="Directory of the WAVE framework's files; default [signals] dir."
    )
    checks: list[GateCheckName] = Field(
        default_factory=lambda: list(GATE_CHECKS),
        description="Which built-in checks run (default: all of them).",
    )
    budget_limit: float | None = Field(
        None, ge=0, description="Budget limit; wins over a 'limit' in the budget file."
    )
    budget_file: str = Field(
        "budget.json", description='Budget file in dir: {"spent": 12.5, "limit": 50}.'
    )
    violations_file: str = Field("VIOLATIONS.log", description="Violations log in dir.")
    target_branch: str | None = Field(
        None,
        description="Branch the merge check merges into; default the environment's branch, "
        "else [git] main.",
    )
    branches: list[str] | None = Field(
        None, description="Branches that must merge cleanly, in order; default [git] merge_order."
    )
    changelog: str = Field(
        "CHANGELOG.md", description="Changelog that must change between deployed releases."
    )
    report: str = Field(
        "VALIDATION-REPORT.md",
        description="Report `wave check` writes, relative to the project; '' writes none.",
    )


class SignalsConfig(Settings):
    """``[signals]``: where the runbook's signal files are written."""

    dir: str = Field(
        ".claude", description="Directory of signal files (WAVE keeps them in .claude/)."
    )
    story_pattern: str = Field(
        r"\b[A-Z][A-Z0-9]+-\d+\b",
        description="Regular expression of story ids in commit messages (for changes.stories).",
    )


class StateConfig(Settings):
    """``[state]``: which store keeps history, current releases, locks and approvals."""

    store: str = Field("local", description="State store name; 'local' is built in.")
    path: str = Field(".wave/state", description="Directory of the local store.")
    lock_ttl: float = Field(
        3600.0, gt=0, description="Seconds after which a lock held from another host is stale."
    )


class GitConfig(Settings):
    """``[git]``: the repository procedures of the runbook (``wave merge``, hotfix, revert)."""

    remote: str = Field("origin", description="Remote that merges and hotfixes are pushed to.")
    main: str = Field("main", description="Production branch: hotfixes start and land here.")
    develop: str = Field("develop", description="Integration branch hotfixes are backported to.")
    merge_order: list[str] = Field(
        default_factory=list,
        description="Branches `wave merge` merges, in order: backend before frontend.",
    )
    message: str = Field(
        "Merge {branch} into {target}",
        description="Merge commit message; {branch} and {target} are replaced.",
    )
    push: bool = Field(True, description="Push after a merge, hotfix or revert succeeds.")

    @field_validator("remote", "main", "develop")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return _git_name(value)

    @field_validator("merge_order")
    @classmethod
    def _plain_names(cls, value: list[str]) -> list[str]:
        for name in value:
            _git_name(name)
        if len(set(value)) != len(value):
            raise _Invalid("names a branch twice", hint="list each branch once, backend first")
        return value

    @field_validator("message")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        from wave_sdk.git import template_problem

        problem = template_problem(value)
        if problem:
            raise _Invalid(problem, hint="use only {branch} and {target} ({{ and }} for braces)")
        return value


def _git_name(value: str) -> str:
    # Imported here: wave_sdk.git is needed only by configurations that reach this key.
    from wave_sdk.git import name_problem

    problem = name_problem(value)
    if problem:
        raise _Invalid(
            f"{value!r} is not a usable git name: {problem}",
            hint="use letters, digits and . _ - / (e.g. feature/backend)",
        )
    return value


class MigrationsConfig(Settings):
    """``[migrations]``: the database migration procedure (see docs/migrations.md).

    A release carries migrations when a ``detect`` path changed since the last deployed
    commit; it is then deployed database first: backup, staging, approval, production.
    """

    command: str | list[str] = Field(
        description="Applies pending migrations, e.g. 'alembic upgrade head' or 'npx prisma "
        "migrate deploy' (a string runs in a shell). It gets DATABASE_URL and the PG* "
        "variables of the environment being migrated.",
    )
    down: str | list[str] | None = Field(
        None,
        description="Undoes the release's migrations (e.g. 'alembic downgrade -1'); without "
        "it, a rollback restores the backup taken before migrating.",
    )
    detect: list[str] = Field(
        default_factory=lambda: ["migrations/", "prisma/migrations/", "alembic/versions/"],
        description="Paths (git pathspecs, relative to the project) whose change since the "
        "last deployed commit means the release carries migrations.",
    )
    backup_dir: str = Field(
        ".wave/backups", description="Where pg_dump backups go, relative to the project."
    )
    staging_first: bool = Field(
        True, description="A deploy to production migrates the staging database first."
    )
    staging_environment: str = Field(
        "staging", description="The environment staging_first migrates first."
    )
    timeout: float = Field(
        1800.0, gt=0, description="Seconds each command (migration, down, backup, restore) may run."
    )
    cwd: str | None = Field(None, description="Working directory, relative to the project.")


class TargetEntry(BaseModel):
    """``[targets.<name>]``: ``adapter`` plus that adapter's own keys (validated later)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    adapter: str = Field(description="Adapter name, as listed by `wave adapters`.")


class WaveConfig(Settings):
    """The whole configuration file."""

    project: ProjectConfig = Field(default_factory=ProjectConfig)
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    targets: dict[str, TargetEntry] = Field(default_factory=dict)
    approvals: dict[Literal["deploy", "migration", "config", "rollback"], dict[str, Level]] = Field(
        default_factory=dict, description="Cells overriding the runbook's approval matrix."
    )
    checks: dict[str, CheckConfig] = Field(default_factory=dict)
    health: HealthConfig = Field(default_factory=HealthConfig)
    signals: SignalsConfig = Field(default_factory=SignalsConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    git: GitConfig = Field(default_factory=GitConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    decisions: DecisionsConfig = Field(default_factory=DecisionsConfig)
    migrations: MigrationsConfig | None = Field(
        None, description="How releases with database migrations are deployed."
    )

    # Where the file was read from; not part of the file itself.
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _cross_references(self) -> WaveConfig:
        for env_name, env in self.environments.items():
            for i, target in enumerate(env.targets):
                if target not in self.targets:
                    key = f"environments.{env_name}.target" + (
                        "" if isinstance(env.target, str) else f".{i}"
                    )
                    raise _CrossRefError(
                        key, f"unknown target {target!r}", self.targets, define=f"targets.{target}"
                    )
            for i, check in enumerate(env.checks):
                if check not in self.checks:
                    raise _CrossRefError(
                        f"environments.{env_name}.checks.{i}",
                        f"unknown check {check!r}",
                        self.checks,
                        define=f"checks.{check}",
                    )
        for name, command in self.checks.items():
            for i, need in enumerate(command.needs):
                if need not in self.checks:
                    raise _CrossRefError(
                        f"checks.{name}.needs.{i}",
                        f"unknown check {need!r}",
                        self.checks,
                        define=f"checks.{need}",
                    )
        cycle = _needs_cycle({name: check.needs for name, check in self.checks.items()})
        if cycle:
            raise _CrossRefError(
                f"checks.{cycle[0]}.needs",
                f"needs form a cycle: {' → '.join(cycle)}",
                (),
                define="",
                hint="remove one of these needs",
            )
        for action, cells in self.approvals.items():
            for env_name, level in cells.items():
                cell_env = self.environments.get(env_name)
                production = (
                    cell_env.is_production(env_name) if cell_env else env_name == "production"
                )
                if production and level > 1 and not (cell_env and cell_env.allow_lower_approvals):
                    raise _CrossRefError(
                        f"approvals.{action}.{env_name}",
                        f"production needs L1 (a human) for {action}; L{level} lowers it",
                        (),
                        define=f"environments.{env_name}",
                        hint=f"to lower it on purpose, set allow_lower_approvals = true in "
                        f"[environments.{env_name}]",
                    )
                if env_name not in self.environments and env_name not in DEFAULT_MATRIX[action]:
                    raise _CrossRefError(
                        f"approvals.{action}.{env_name}",
                        f"unknown environment {env_name!r}",
                        {*self.environments, *DEFAULT_MATRIX[action]},
                        define=f"environments.{env_name}",
                    )
        return self

    @property
    def root(self) -> Path:
        """The project directory: where the configuration file lives."""
        return self.source.parent if self.source else Path.cwd()

    @property
    def file_label(self) -> str:
        """The file as error messages name it (keys are relative to ``[tool.wave]`` there)."""
        return _label(self.source) if self.source else "<config>"

    def environment(self, name: str) -> EnvironmentConfig:
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise ConfigError(
                f"unknown environment {name!r} (configured: {known})",
                file=self.file_label,
                key="environments",
                hint=f"add [environments.{name}] or pick a configured one",
            )
        return self.environments[name]

    def health_for(self, environment: str) -> HealthConfig:
        return self.environment(environment).health or self.health

    def required_level(self, action: str, environment: str) -> int:
        """The approval level the matrix requires for ``action`` in ``environment``.

        Production needs L1 whatever the matrix says unless the environment sets
        ``allow_lower_approvals`` (validation refuses a lowered cell without it).
        """
        env = self.environments.get(environment)
        production = env.is_production(environment) if env else environment == "production"
        cells = self.approvals.get(action, {})  # type: ignore[call-overload]
        if environment in cells:
            level = int(cells[environment])
        else:
            # Environments outside the runbook's three need a human unless configured.
            level = DEFAULT_MATRIX[action].get(environment, 1)
        if production and not (env and env.allow_lower_approvals):
            return 1
        return level

    def target_settings(self, name: str, plugins: PluginManager) -> tuple[Any, BaseModel]:
        """Validate target ``name`` against its adapter's model; return (spec, settings)."""
        if name not in self.targets:
            raise ConfigError(
                f"unknown target {name!r}",
                file=self.file_label,
                key="targets",
                hint=f"add [targets.{name}] with an adapter",
            )
        entry = self.targets[name]
        where = f"{self.file_label}: targets.{name}.adapter"
        try:
            spec = plugins.adapter_spec(entry.adapter)
        except ConfigError:
            raise
        except WaveError as exc:
            hint = exc.hint
            close = _suggest(entry.adapter, plugins.adapter_specs)
            if isinstance(exc, UnknownAdapterError) and close:
                hint = f"did you mean {close!r}? (otherwise {hint})"
            raise type(exc)(f"{where}: {exc.message}", hint=hint) from None
        try:
            model = spec.load_config()
        except Exception as exc:  # a broken plugin: one line, never a traceback
            raise PluginError(
                f"{where}: adapter {spec.name!r} cannot load its configuration model "
                f"{spec.config!r}: {type(exc).__name__}: {exc}",
                hint=f"reinstall or fix the plugin {spec.plugin!r} (see `wave adapters`)",
            ) from None
        fields = dict(entry.model_extra or {})
        try:
            settings = model.model_validate(fields)
        except ValidationError as exc:
            raise _config_error(
                exc, self.file_label, prefix=("targets", name), model=model, data=fields
            ) from None
        return spec, settings


def _needs_cycle(needs: dict[str, list[str]]) -> list[str] | None:
    """A cycle of ``needs`` as a path (``a → b → a``), or ``None``; a cycle would never start."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for need in needs.get(name, ()):
            found = visit(need, [*path, name])
            if found:
                return found
        done.add(name)
        return None

    for name in needs:
        found = visit(name, [])
        if found:
            return found
    return None


class _CrossRefError(_Invalid):
    """A name that should refer to another section of the file, and does not."""

    def __init__(
        self, key: str, message: str, choices: Any, *, define: str, hint: str | None = None
    ) -> None:
        self.key = key
        self.choices = sorted(choices)
        name = message.rpartition(" ")[2].strip("'")
        close = _suggest(name, self.choices)
        if hint:
            pass
        elif close:
            hint = f"did you mean {close!r}? (or add [{define}])"
        elif self.choices:
            hint = f"choose one of: {', '.join(self.choices)} (or add [{define}])"
        else:
            hint = f"add [{define}] first"
        super().__init__(message, hint=hint)


# -- loading ---------------------------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _interpolate(value: Any, path: tuple[str | int, ...], file: str) -> Any:
    """Resolve ``${VAR}`` into SecretStr values; ``$$`` is a literal ``$``."""
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), file) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), file) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    used_var = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal used_var
        name = match.group(1)
        if name is None:
            return "$"
        used_var = True
        if name not in os.environ:
            raise ConfigError(
                f"environment variable {name} is not set",
                file=file,
                key=_dotted(path),
                hint=f"export {name}=… before running wave, or remove the reference",
            )
        secrets.register(os.environ[name])
        return os.environ[name]

    resolved = _VAR.sub(substitute, value)
    if used_var:
        secrets.register(resolved)
        return SecretStr(resolved)
    return resolved


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


_HINTS = {
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "float_type": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "string_type": "use a quoted string",
    "list_type": 'use a list, e.g. ["a", "b"]',
    "dict_type": "use a table",
    "model_type": "use a table",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
    "too_short": "add at least one entry",
}

_TOML_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def _config_error(
    exc: ValidationError,
    file: str,
    prefix: tuple[Any, ...] = (),
    *,
    model: Any = None,
    data: Any = None,
) -> ConfigError:
    """Turn a validation error into one actionable line: file, dotted key, problem, fix.

    Pydantic's error locations mix the keys of the file with tags of its own (union members
    such as ``str`` or ``list[str]``, ``[key]`` for a dict key). Walking the raw input
    (``data``, what was validated against ``model``) along the location tells them apart:
    a part is a key of the file only if the input has it. The same walk yields the model
    at the error, whose fields are the 'did you mean' candidates.
    """
    errors = exc.errors(include_url=False)
    located = [(err, _locate(model, data, err["loc"])) for err in errors]
    first_path = located[0][1].path
    # A union reports one error per member at the same key: keep those of the member the
    # input got furthest into (a list with a bad item beats "should be a string").
    group = [(e, w) for e, w in located if w.path[: len(first_path)] == first_path]
    depth = max(len(w.path) for _, w in group)
    group = [(e, w) for e, w in group if len(w.path) == depth]
    err, where = group[0]
    loc: tuple[Any, ...] = (*prefix, *where.path)
    kind = err["type"]
    message = err["msg"]
    hint = _HINTS.get(kind)
    ctx_error = err.get("ctx", {}).get("error")
    if any(isinstance(e.get("input"), SecretStr) for e, _ in group):
        message = "this field does not accept a secret from ${VAR}"
        hint = "secrets belong in fields meant for them (such as env); use a literal value here"
    elif kind == "extra_forbidden" or where.bad_key:
        bad = str(where.path[-1])
        choices = where.choices
        close = _suggest(bad, choices)
        message = f"unknown key {bad!r}"
        hint = (
            f"did you mean {close!r}?"
            if close
            else (f"known keys: {', '.join(choices)}" if choices else "remove it")
        )
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"must be a table, not {_TOML_TYPES.get(type(err.get('input')), 'that')}"
        hint = f"write it as [{_dotted(loc)}] with its keys below, or {{ key = value, … }}"
    elif kind == "missing":
        message = "required key is missing"
        hint = f"add {loc[-1]} = …"
    elif isinstance(ctx_error, _CrossRefError):
        loc = (*prefix, *ctx_error.key.split("."))
        message = str(ctx_error)
        hint = ctx_error.hint
    elif isinstance(ctx_error, _Invalid):
        message = str(ctx_error)
        hint = ctx_error.hint
    elif kind == "value_error" or kind == "assertion_error":
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        if len(group) > 1:  # several union members at one key: "a string or a list"
            parts = dict.fromkeys(e["msg"].removeprefix("Input should be ") for e, _ in group)
            message = "Input should be " + " or ".join(parts)
            hints = [h for h in dict.fromkeys(_HINTS.get(e["type"]) for e, _ in group) if h]
            hint = " or ".join(hints) or hint
        value = err.get("input")
        got = _TOML_TYPES.get(type(value))
        if kind.endswith(("_type", "_parsing")) and got:
            # "Input should be a valid integer, not a string 'two'": what it got, not why.
            shown = f" {value!r}" if isinstance(value, (str, int, float)) else ""
            message = f"{message.split(', ')[0]}, not {got}{shown if len(shown) <= 40 else ''}"
        if kind.startswith("literal") and err.get("ctx", {}).get("expected"):
            hint = f"use one of {err['ctx']['expected']}"
    return ConfigError(
        message,
        file=file,
        key=_dotted(loc) or None,
        hint=hint or "see `wave config schema` for what this key accepts",
    )


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` is most likely a typo of, if any.

    Edit distance with transpositions first ("prot" is "port", not "root"), so a swapped,
    missing or extra letter always finds its key; difflib's similarity as a fallback.
    """
    choices = list(choices)
    limit = 1 if len(word) <= 4 else 2 if len(word) <= 8 else 3
    scored = sorted((_distance(word.lower(), c.lower()), c) for c in choices)
    if scored and scored[0][0] <= limit:
        return scored[0][1]
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[len(b)]


class _Where:
    """Where an error is in the file: the key path, and the keys allowed beside the last."""

    def __init__(self) -> None:
        self.path: list[str | int] = []
        self.choices: list[str] = []
        self.bad_key = False


def _locate(model: Any, data: Any, loc: tuple[Any, ...]) -> _Where:
    """Follow ``loc`` through the raw input ``data`` and the type ``model`` it was checked as.

    Parts the input does not have are pydantic's tags and are dropped — except a missing
    key, which the model at that point declares.
    """
    where = _Where()
    if data is None:  # nothing to walk: keep what does not look like a tag
        where.path = [p for p in loc if not (isinstance(p, str) and "[" in p)]
        return where
    node, annotation, parent = data, model, None
    for part in loc:
        container = _narrow(annotation, node)
        if part == "[key]" and where.path:
            # A dict key of the wrong kind (``[approvals] deplyo = …``): the key is the error.
            where.bad_key = True
            where.choices = _literal_choices(parent)
            continue
        parent = container
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            where.choices = _keys_of(container)
            where.path.append(part)
            node, annotation = node[part], _member(container, part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            where.choices = []
            where.path.append(part)
            node, annotation = node[part], _member(container, part)
        elif isinstance(node, dict) and isinstance(part, str) and part in _keys_of(container):
            where.choices = _keys_of(container)  # a required key that is missing
            where.path.append(part)
            node, annotation = None, _member(container, part)
    return where


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _narrow(annotation: Any, node: Any) -> Any:
    """The member of a union (``str | list[str]``, ``X | None``) that fits ``node``'s shape."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    members = [_unwrap(m) for m in get_args(annotation)]
    for member in members:
        origin = get_origin(member) or member
        if isinstance(node, dict) and (_is_model(member) or origin is dict):
            return member
        if isinstance(node, list) and origin in (list, tuple, set, frozenset):
            return member
    return members[0]


def _member(container: Any, part: str | int) -> Any:
    """The declared type of ``container[part]``; ``None`` when unknown (extra keys)."""
    if _is_model(container):
        field = _field(container, str(part))
        return field.annotation if field is not None else None
    origin, args = get_origin(container), get_args(container)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, set, frozenset) and args:
        return args[0]
    if origin is tuple and args:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else None
    return None


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias) and not field.exclude:
            return field
    return None


def _keys_of(container: Any) -> list[str]:
    """The keys a table of type ``container`` may have (empty when any key goes)."""
    if not _is_model(container):
        return []
    return sorted(
        field.alias or name for name, field in container.model_fields.items() if not field.exclude
    )


def _literal_choices(container: Any) -> list[str]:
    args = get_args(container)
    key = _unwrap(args[0]) if get_origin(container) is dict and args else None
    return [str(a) for a in get_args(key)] if get_origin(key) is Literal else []


def find_config(start: Path | None = None) -> Path:
    """The nearest ``wave.toml``, or ``pyproject.toml`` with ``[tool.wave]``, upwards."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "wave.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "[tool.wave" in pyproject.read_text(errors="replace"):
            return pyproject
    raise ConfigError(
        f"no wave.toml (or pyproject.toml with [tool.wave]) in {here} or above",
        hint="run `wave init` to write one, or pass --config PATH",
    )


def load_config(path: str | os.PathLike[str] | None = None) -> WaveConfig:
    """Read, interpolate and validate a configuration file.

    ``path`` may be a file or a directory to search from; ``None`` searches from the
    current directory upwards.
    """
    if path is None or Path(path).is_dir():
        file = find_config(Path(path) if path else None)
    else:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"{file}: no such file", hint="check the path given to --config")
    label = file.name
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}", file=label, hint="fix the syntax at the line and column shown"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=label) from None
    if file.name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("wave") if isinstance(tool, dict) else None
        if not isinstance(table, dict):
            raise ConfigError(
                "there is no [tool.wave] table",
                file=label,
                key="tool.wave",
                hint="add a [tool.wave] table, or write a wave.toml (`wave init`)",
            )
        data, label = table, _label(file)
    return parse_config(data, file=file, label=label)


def _label(file: Path) -> str:
    return "pyproject.toml [tool.wave]" if file.name == "pyproject.toml" else file.name


def parse_config(
    data: dict[str, Any], *, file: Path | None = None, label: str | None = None
) -> WaveConfig:
    """Validate an already-parsed mapping (what :func:`load_config` does after reading)."""
    label = label or (_label(file) if file else "<config>")
    data = _interpolate(data, (), label)
    if "source" in data:  # the field that records where the file is, not a key of it
        raise ConfigError(
            "unknown key 'source'",
            file=label,
            key="source",
            hint=f"known keys: {', '.join(_keys_of(WaveConfig))}; a target's source goes "
            "in its [targets.<name>] table",
        )
    try:
        config = WaveConfig.model_validate({**data, "source": file})
    except ValidationError as exc:
        raise _config_error(exc, label, model=WaveConfig, data=data) from None
    return config


def config_schema(plugins: PluginManager | None = None) -> dict[str, Any]:
    """JSON Schema of the whole file, with each installed adapter's target keys."""
    schema = WaveConfig.model_json_schema(by_alias=True)
    schema["properties"].pop("source", None)
    schema["title"] = "wave.toml"
    if plugins is None:
        return schema
    defs = schema.setdefault("$defs", {})
    variants = []
    for name, spec in sorted(plugins.adapter_specs.items()):
        try:
            model = spec.load_config()
        except Exception:  # a broken adapter is listed by `wave adapters`, not here
            continue
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        for key, value in sub.pop("$defs", {}).items():
            defs.setdefault(key, value)
        sub.setdefault("properties", {})["adapter"] = {"const": name, "description": spec.summary}
        sub["required"] = ["adapter", *sub.get("required", [])]
        sub["title"] = f"{name} target"
        variants.append(sub)
    if variants:
        schema["properties"]["targets"]["additionalProperties"] = {"oneOf": variants}
    return schema
