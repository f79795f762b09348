"""The configuration file as pydantic models: one per table, :class:`WaveConfig` the whole.

Validation runs in two stages: :class:`WaveConfig` checks the core's keys (and, through
:mod:`~wave_sdk.config.references`, the names that refer across tables); each target's own
keys are checked later against the model of the adapter it names
(:meth:`WaveConfig.target_settings`), since only then are the adapters known.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from wave_sdk.config.errors import Invalid, config_error, label_of
from wave_sdk.config.levels import DEFAULT_MATRIX, Level
from wave_sdk.config.references import check_references
from wave_sdk.config.sections import PluginSection, section_settings
from wave_sdk.config.suggest import suggest
from wave_sdk.contacts import Failure, Role, roles_for
from wave_sdk.errors import ConfigError, PluginError, UnknownAdapterError, WaveError, clip

if TYPE_CHECKING:
    from wave_sdk.adapter import AdapterSpec
    from wave_sdk.plugins import PluginManager

S = TypeVar("S", bound=BaseModel)


class Settings(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable.

    Adapter authors subclass it for their target model (``AdapterSpec.config``). Fields that
    may carry secrets are typed ``SecretStr`` (or ``dict[str, str | SecretStr]``): a
    ``${VAR}`` reference yields a ``SecretStr``, and a plain ``str`` field refuses it so a
    secret cannot end up in a value that gets printed. A float is finite and at most
    :data:`LARGEST_FLOAT` (``inf``, ``nan`` and ``1e300`` are refused): every float here is a
    duration, a share or a limit that a deadline, a sleep or a comparison is computed from,
    and the clock overflows long before such a deadline.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _floats_within_reach(cls, value: Any) -> Any:
        if isinstance(value, float) and abs(value) > LARGEST_FLOAT:
            raise Invalid(
                f"{value:g} is out of range",
                hint=f"give at most {LARGEST_FLOAT:.0f} (seconds: about 31 years)",
            )
        return value


LARGEST_FLOAT = 1e9
"""The largest float a configuration accepts, in either sign: a billion seconds is 31 years."""


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def check_name(value: str) -> str:
    """Check an environment, target or project name.

    Names become file names, log fields and signal names: a letter or digit, then letters,
    digits, ``.``, ``_`` or ``-``; at most 63; no ``..`` (so no ``/``, no control
    characters, nothing that leaves a directory).
    """
    if not _NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            f"invalid name {clip(value)!r}: use letters, digits, '.', '_' or '-' "
            "(at most 63, starting with a letter or digit, no '..')"
        )
    return value


Name = Annotated[str, AfterValidator(check_name)]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_environment(env: dict[str, str | SecretStr]) -> dict[str, str | SecretStr]:
    """Check the environment a target gives its process.

    Names a shell could export, and values a process can be given — no NUL, which no
    environment block can carry. Found when the file is loaded, not when the adapter starts
    the process. The message names the key, never the value (it may be a secret).
    """
    for key, value in env.items():
        if not _VARIABLE.fullmatch(key):
            raise ValueError(
                f"environment key {clip(key)!r} is not a variable name: use letters, digits "
                "and '_', not starting with a digit"
            )
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if "\0" in text:
            raise ValueError(f"the value of {key} holds a NUL byte, which no process can be given")
    return env


Environment = Annotated[dict[str, str | SecretStr], AfterValidator(check_environment)]
"""A target's ``env`` table; ``${VAR}`` values are :class:`~pydantic.SecretStr`."""


def check_inside(value: str) -> str:
    """Check a path that must stay inside the directory it is relative to.

    A release's ``shared`` entries: relative, no ``..`` that leaves it, not the directory
    itself.
    """
    normal = posixpath.normpath(value)
    if posixpath.isabs(normal) or normal in (".", "..") or normal.startswith("../"):
        raise ValueError(
            f"{clip(value)!r} leaves the release directory: use a relative path inside it, "
            "such as .env or storage/uploads"
        )
    return value


InsidePath = Annotated[str, AfterValidator(check_inside)]
"""A relative path that stays inside the release (see :func:`check_inside`)."""


class ContactsConfig(Settings):
    """``[project.contacts]``: who fills each of the runbook's emergency roles.

    A plain list (``contacts = ["…"]``) is the on-call engineers. Which roles a failure
    names is :mod:`wave_sdk.contacts`'s table.
    """

    on_call: list[str] = Field(
        default_factory=list,
        description="On-call engineers, the first responders: named in every failure message.",
    )
    tech_lead: list[str] = Field(
        default_factory=list, description="Escalation: named when a rollback failed."
    )
    devops: list[str] = Field(
        default_factory=list,
        description="Infrastructure: named when a target or its platform failed, or a "
        "rollback did.",
    )
    database_admin: list[str] = Field(
        default_factory=list,
        description="Database issues: named when a migration or a database rollback failed.",
    )

    @model_validator(mode="before")
    @classmethod
    def _a_list_is_on_call(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise Invalid(
                "is a string",
                hint=f'use a list of the on-call engineers (contacts = ["{clip(value, 40)}"]), '
                "or a [project.contacts] table with on_call, tech_lead, devops, database_admin",
            )
        return {"on_call": value} if isinstance(value, list) else value

    def of(self, role: Role) -> list[str]:
        """Who fills ``role``."""
        people: list[str] = getattr(self, role)
        return people

    def for_signal(self) -> dict[str, Any]:
        """The contact fields of a :class:`~wave_sdk.signals.Signal`: everyone, by role."""
        by_role = {role: self.of(role) for role in get_args(Role) if self.of(role)}
        return {"contacts": self.on_call, "contacts_by_role": by_role}

    def for_failure(self, failure: Failure, *, database: bool = False) -> list[tuple[Role, str]]:
        """(role, who) for each role ``failure`` needs that someone fills, in order."""
        return [
            (role, ", ".join(self.of(role)))
            for role in roles_for(failure, database=database)
            if self.of(role)
        ]


class ProjectConfig(Settings):
    """``[project]``: who this is, and whom to call when a deploy fails."""

    name: Name = Field("app", description="Project name, used in signals and history.")
    contacts: ContactsConfig = Field(
        default_factory=ContactsConfig,
        description="Emergency contacts by the runbook's role: on_call, tech_lead, devops, "
        "database_admin (lists); a failure message names the roles it needs. A list "
        '(contacts = ["…"]) is the on-call engineers.',
    )


class HealthEndpoint(Settings):
    """One HTTP health endpoint and what a healthy answer looks like."""

    path: str | SecretStr = Field(
        description="Path under the base URL, e.g. /api/health. A token it needs goes in the "
        'query as a secret: "/api/health?token=${HEALTH_TOKEN}" (sent as it is, shown as '
        '"/api/health?***").'
    )
    status: int = Field(200, ge=100, le=599, description="Expected HTTP status.")
    json_fields: dict[str, Any] = Field(
        default_factory=dict,
        alias="json",
        description='Expected JSON fields, dotted paths allowed: {"status" = "ok"}.',
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @field_validator("path")
    @classmethod
    def _starts_with_slash(cls, value: str | SecretStr) -> str | SecretStr:
        if isinstance(value, SecretStr):
            if not value.get_secret_value().startswith("/"):
                raise Invalid("must start with '/'", hint="write the path before the ${VAR}")
        elif not value.startswith("/"):
            raise Invalid(f"{value!r} must start with '/'", hint=f"write it as '/{value}'")
        return value

    @property
    def url_path(self) -> str:
        """The path to request, secrets included."""
        return self.path.get_secret_value() if isinstance(self.path, SecretStr) else self.path

    @property
    def shown(self) -> str:
        """The path to show: a query holding a secret is shown as ``?***``."""
        if isinstance(self.path, str):
            return self.path
        from wave_sdk.secrets import redact

        path, query_mark, _ = self.path.get_secret_value().partition("?")
        return redact(path) + ("?***" if query_mark else "")


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
    page: str = Field(
        "/",
        description="Page requested once the health rounds pass, the runbook's 'Application "
        "loads': an answer below 400 passes, anything else fails verification; '' skips it.",
    )

    @field_validator("page")
    @classmethod
    def _page_is_a_path(cls, value: str) -> str:
        if value and not value.startswith("/"):
            raise Invalid(f"{value!r} must start with '/'", hint=f"write it as '/{value}'")
        return value


class BakeConfig(Settings):
    """``[environments.<name>.bake]``: keep probing after verification passed.

    A breach of either threshold over the window counts as a failed verification and goes
    to the decision tree with the share of probes that answered well within ``max_p95_ms``.
    With ``log_patterns``, the new release's log lines matching one count as failed
    requests too (targets whose adapter declares the ``logs`` capability).
    """

    duration: float = Field(gt=0, description="Seconds to keep probing the health endpoints.")
    interval: float = Field(1.0, gt=0, description="Seconds between probing rounds.")
    max_error_rate: float = Field(
        0.01, ge=0, le=1, description="Largest tolerated share of failed requests."
    )
    max_p95_ms: float | None = Field(
        None, gt=0, description="Largest tolerated 95th-percentile response time, in ms."
    )
    log_patterns: list[str] = Field(
        default_factory=list,
        description="Regular expressions of error lines, e.g. ['(?i)\\berror\\b', "
        "'Traceback']: where the target's adapter can read logs (the logs capability), "
        "each new log line matching one counts as a failed request.",
    )

    @field_validator("log_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for number, pattern in enumerate(value):
            _compiles(pattern, f"pattern {number + 1}")
        return value


class EnvironmentConfig(Settings):
    """``[environments.<name>]``: where a branch goes and what guards it."""

    branch: str | None = Field(
        None,
        description="Branch, or pattern such as 'feature/*', that a deployed commit must be "
        "on (the `branch` check).",
    )
    auto_deploy: bool = Field(
        False,
        description="Deploy here when `wave deploy --auto` (a CI job on push) runs for a "
        "branch matching `branch`; refused where deploys need L1 (docs/ci.md).",
    )
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
        description="Let [approvals] require less here than the runbook's matrix (L1 in "
        "production). Every plan says so.",
    )
    require_pushed: bool | None = Field(
        None,
        description="A deployed commit must be on `branch` as the remote ([git] remote) has "
        "it, not only locally (default: where a deploy needs L1).",
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
            raise Invalid("names no target", hint='name one from [targets], e.g. target = "web"')
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
    item: str | None = Field(
        None,
        description="The runbook's checklist line it answers, printed with its mark; default "
        "by name: build, typecheck, lint, test, audit, bundle-size (docs/gate.md).",
    )


GateCheckName = Literal[
    "gate7-stories",
    "gate7-approval",
    "gate7-escalations",
    "gate7-violations",
    "gate7-budget",
    "gate7-qa",
    "gate7-merge",
    "changelog",
    "api-docs",
    "readme",
    "validation-report",
    "deployment-starting",
    "on-call",
    "rollback-plan",
    "stakeholders",
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
    api_paths: list[str] = Field(
        default_factory=list,
        description="Paths (files, or directories ending in /) whose change means the API "
        "changed, e.g. ['src/api/', 'openapi.yaml']: then something under api_docs must "
        "change too (the api-docs check).",
    )
    api_docs: list[str] = Field(
        default_factory=list, description="Paths of the API documentation, e.g. ['docs/api/']."
    )
    readme_paths: list[str] = Field(
        default_factory=list,
        description="Paths whose change needs the README to change too (the readme check), "
        "e.g. ['src/cli/', 'wave.toml.example'].",
    )
    readme: str = Field("README.md", description="The README, relative to the project.")
    stakeholders_command: str | list[str] | None = Field(
        None,
        description="Command that exits 0 once the stakeholders are aware of the release (a "
        "ticket's state, a sent announcement); without it, 'stakeholders' is a manual item.",
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

    @field_validator("story_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        return _compiles(value, "the pattern")


class StateConfig(Settings):
    """``[state]``: which store keeps history, current releases, locks and approvals.

    A store from a plugin reads its own keys from the table named after it (``[state.s3]``
    for ``store = "s3"``), validated by the model its
    :class:`~wave_sdk.state.StateStoreSpec` declares; no other key may be unknown here.
    """

    store: str = Field("local", description="State store name; 'local' is built in.")
    path: str = Field(".wave/state", description="Directory of the local store.")
    lock_ttl: float = Field(
        3600.0, gt=0, description="Seconds after which a lock held from another host is stale."
    )
    # The sub-tables, gathered by _store_tables: only the plugins know their names and models.
    tables: SkipJsonSchema[dict[str, dict[str, Any]]] = Field(
        default_factory=dict, exclude=True, repr=False
    )

    @model_validator(mode="before")
    @classmethod
    def _store_tables(cls, data: Any) -> Any:
        """Set ``[state.<name>]`` tables aside; any other unknown key stays an error."""
        if not isinstance(data, dict):
            return data
        tables = {
            k: v for k, v in data.items() if k not in cls.model_fields and isinstance(v, dict)
        }
        if not tables:
            return data
        return {k: v for k, v in data.items() if k not in tables} | {"tables": tables}

    def table(self, store: str) -> dict[str, Any]:
        """The keys of ``[state.<store>]`` (empty when the file has no such table)."""
        return dict(self.tables.get(store, {}))


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
            raise Invalid("names a branch twice", hint="list each branch once, backend first")
        return value

    @field_validator("message")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        from wave_sdk.git import template_problem

        problem = template_problem(value)
        if problem:
            raise Invalid(problem, hint="use only {branch} and {target} ({{ and }} for braces)")
        return value


def _git_name(value: str) -> str:
    # Imported here: wave_sdk.git is needed only by configurations that reach this key.
    from wave_sdk.git import name_problem

    problem = name_problem(value)
    if problem:
        raise Invalid(
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
    test_down: bool = Field(
        False,
        description="On staging_environment, exercise the down migration after migrating: "
        "up, down, up — so the way back is known to work before production is offered. "
        "Needs `down`.",
    )
    timeout: float = Field(
        1800.0, gt=0, description="Seconds each command (migration, down, backup, restore) may run."
    )
    cwd: str | None = Field(None, description="Working directory, relative to the project.")

    @model_validator(mode="after")
    def _down_to_test(self) -> MigrationsConfig:
        if self.test_down and self.down is None:
            raise Invalid(
                "test_down exercises the down migration, and none is configured",
                hint='set down = "…" (e.g. "alembic downgrade -1"), or test_down = false',
            )
        return self


def _compiles(pattern: str, what: str) -> str:
    """Return ``pattern`` once it is known to compile.

    A bad one is a configuration error, found when the file is loaded, not a traceback in
    the middle of a run.
    """
    try:
        re.compile(pattern)
    except re.error as exc:
        raise Invalid(
            f"{what} ({pattern!r}) is not a regular expression: {exc}",
            hint="write a Python regular expression (re module syntax)",
        ) from None
    return pattern


class TargetEntry(BaseModel):
    """``[targets.<name>]``: ``adapter`` plus that adapter's own keys (validated later)."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    adapter: Name = Field(description="Adapter name, as listed by `wave adapters`.")


class ApprovalsConfig(Settings):
    """``[approvals]``: cells overriding the runbook's matrix, and who may approve how.

    The trust model (docs/concepts.md#trust) is what these keys tune: approvals bind to the
    code they name, may be signed, and a file dropped in the signals directory cannot
    stand in for a human unless configured to.
    """

    deploy: dict[str, Level] = Field(
        default_factory=dict, description='Deploy cells, e.g. { staging = "L2" }.'
    )
    migration: dict[str, Level] = Field(default_factory=dict, description="Migration cells.")
    config: dict[str, Level] = Field(default_factory=dict, description="Config-change cells.")
    rollback: dict[str, Level] = Field(default_factory=dict, description="Rollback cells.")
    require_signature: bool = Field(
        False,
        description="Count only approvals (records and signal files) signed with `key`; "
        "unsigned or badly signed ones are refused, saying why.",
    )
    key: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key approvals are signed with, as a secret: "
        '"${WAVE_APPROVAL_KEY}". `wave approve` signs when it is set.',
    )
    signal_files_up_to: Level = Field(
        2,
        description="The highest authority an approval signal file can carry (default L2: "
        "a file never stands in for the L1 human).",
    )
    gate7_approves: bool = Field(
        False,
        description="Let the Gate 7 signal count as the deploy approval too (capped by "
        "signal_files_up_to); by default it satisfies the gate7-approval check only.",
    )
    distinct_approver: bool | None = Field(
        None,
        description="Refuse an approval given by the deployer themself (default: for L1 "
        "steps; true: every level; false: never).",
    )

    @model_validator(mode="after")
    def _key_for_signatures(self) -> ApprovalsConfig:
        if self.require_signature and self.key is None:
            raise Invalid(
                "require_signature = true needs a key to check signatures with",
                hint='add key = "${WAVE_APPROVAL_KEY}" to [approvals]',
            )
        return self

    def cells(self, action: str) -> dict[str, int]:
        """The overridden cells of ``action``'s row: environment → level."""
        return dict(getattr(self, action, {}))

    def distinct_for(self, level: int) -> bool:
        """Whether a step needing ``level`` refuses the deployer's own approval."""
        return self.distinct_approver if self.distinct_approver is not None else level == 1


class WaveConfig(Settings):
    """The whole configuration file."""

    project: ProjectConfig = Field(default_factory=ProjectConfig)
    environments: dict[Name, EnvironmentConfig] = Field(default_factory=dict)
    targets: dict[Name, TargetEntry] = Field(default_factory=dict)
    approvals: ApprovalsConfig = Field(
        default_factory=ApprovalsConfig,
        description="Cells overriding the runbook's approval matrix, and approval rules.",
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
    plugins: dict[Name, PluginSection] = Field(
        default_factory=dict,
        description="Sections of installed plugins, [plugins.<name>], each validated by the "
        "model its plugin declares (see wave_sdk.config.sections).",
    )

    # Where the file was read from; not part of the file itself.
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _cross_references(self) -> WaveConfig:
        check_references(self)
        return self

    @property
    def root(self) -> Path:
        """The project directory: where the configuration file lives."""
        return self.source.parent if self.source else Path.cwd()

    @property
    def file_label(self) -> str:
        """The file as error messages name it (keys are relative to ``[tool.wave]`` there)."""
        return label_of(self.source) if self.source else "<config>"

    def environment(self, name: str) -> EnvironmentConfig:
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            from wave_sdk.secrets import redact  # before repr() and the cut: both change it

            raise ConfigError(
                f"unknown environment {clip(redact(name))!r} (configured: {known})",
                file=self.file_label,
                key="environments",
                hint="pick a configured one, or add [environments.NAME] to the file",
            )
        return self.environments[name]

    def health_for(self, environment: str) -> HealthConfig:
        return self.environment(environment).health or self.health

    def runbook_level(self, action: str, environment: str) -> int | None:
        """The level the runbook's matrix sets for ``action`` in ``environment``.

        Its column by name (development, staging, production), else production's for a
        production-like environment; ``None`` for any other environment, which the runbook
        does not cover (it then needs L1 unless ``[approvals]`` says otherwise).
        """
        row = DEFAULT_MATRIX[action]
        if environment in row:
            return row[environment]
        env = self.environments.get(environment)
        return row["production"] if env and env.is_production(environment) else None

    def required_level(self, action: str, environment: str) -> int:
        """The approval level ``action`` needs in ``environment``.

        ``[approvals]`` overrides cells; a cell below the runbook's matrix counts only when
        the environment sets ``allow_lower_approvals`` (validation refuses it without).
        """
        env = self.environments.get(environment)
        runbook = self.runbook_level(action, environment)
        cells = self.approvals.cells(action)
        level = cells.get(environment, runbook if runbook is not None else 1)
        if runbook is not None and level > runbook and not (env and env.allow_lower_approvals):
            return runbook
        return level

    def lowered(self, action: str, environment: str) -> int | None:
        """The runbook's level when ``allow_lower_approvals`` lowered this cell, else ``None``."""
        runbook = self.runbook_level(action, environment)
        if runbook is not None and self.required_level(action, environment) > runbook:
            return runbook
        return None

    def plugin_settings(self, name: str, model: type[S]) -> S | None:
        """``[plugins.<name>]`` validated by ``model``; ``None`` when the file has none."""
        return section_settings(self, name, model)

    def plugin_dir(self, name: str) -> Path:
        """A directory for plugin ``name``'s machine-local files: ``.wave/plugins/<name>``.

        Not created here. What a team must share belongs in the state store, not here.
        """
        return self.root / ".wave" / "plugins" / name

    def target_settings(self, name: str, plugins: PluginManager) -> tuple[AdapterSpec, BaseModel]:
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
            close = suggest(entry.adapter, plugins.adapter_specs)
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
            raise config_error(
                exc, self.file_label, prefix=("targets", name), model=model, data=fields
            ) from None
        return spec, settings
