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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from wave_sdk import secrets
from wave_sdk.errors import ConfigError

if TYPE_CHECKING:
    from wave_sdk.plugins import PluginManager

CONFIG_FILES = ("wave.toml", "pyproject.toml")
ACTIONS = ("deploy", "migration", "config", "rollback")
LEVEL_NAMES = {1: "L1 (human)", 2: "L2 (CTO)", 3: "L3 (PM)", 4: "L4 (QA)", 5: "L5 (automatic)"}


def _parse_level(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"[Ll][1-5]", value.strip()):
        return int(value.strip()[1])
    return value


Level = Annotated[int, BeforeValidator(_parse_level), Field(ge=1, le=5)]
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
            raise ValueError("must start with '/', e.g. /api/health")
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

    @property
    def targets(self) -> list[str]:
        return [self.target] if isinstance(self.target, str) else list(self.target)


class CheckConfig(Settings):
    """``[checks.<name>]``: one command of the technical checklist."""

    command: str | list[str] = Field(
        description="A shell command line (string) or an argv list run without a shell."
    )
    timeout: float = Field(600.0, gt=0, description="Seconds before the check is killed.")
    cwd: str | None = Field(None, description="Working directory, relative to the project.")


class SignalsConfig(Settings):
    """``[signals]``: where the runbook's signal files are written."""

    dir: str = Field(
        ".claude", description="Directory of signal files (WAVE keeps them in .claude/)."
    )


class StateConfig(Settings):
    """``[state]``: which store keeps history, current releases, locks and approvals."""

    store: str = Field("local", description="State store name; 'local' is built in.")
    path: str = Field(".wave/state", description="Directory of the local store.")
    lock_ttl: float = Field(
        3600.0, gt=0, description="Seconds after which a lock held from another host is stale."
    )


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
                    raise _CrossRefError(key, f"unknown target {target!r}", self.targets)
            for i, check in enumerate(env.checks):
                if check not in self.checks:
                    raise _CrossRefError(
                        f"environments.{env_name}.checks.{i}",
                        f"unknown check {check!r}",
                        self.checks,
                    )
        for action, cells in self.approvals.items():
            for env_name in cells:
                if env_name not in self.environments and env_name not in DEFAULT_MATRIX[action]:
                    raise _CrossRefError(
                        f"approvals.{action}.{env_name}",
                        f"unknown environment {env_name!r}",
                        self.environments,
                    )
        return self

    @property
    def root(self) -> Path:
        """The project directory: where the configuration file lives."""
        return self.source.parent if self.source else Path.cwd()

    @property
    def file_label(self) -> str:
        return self.source.name if self.source else "<config>"

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
        """The approval level the matrix requires for ``action`` in ``environment``."""
        cells = self.approvals.get(action, {})  # type: ignore[call-overload]
        if environment in cells:
            return int(cells[environment])
        # Environments outside the runbook's three need a human unless configured.
        return DEFAULT_MATRIX[action].get(environment, 1)

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
        try:
            spec = plugins.adapter_spec(entry.adapter)
        except ConfigError:
            raise
        except Exception as exc:
            from wave_sdk.errors import WaveError

            if isinstance(exc, WaveError):
                raise type(exc)(
                    f"{self.file_label}: targets.{name}.adapter: {exc.message}", hint=exc.hint
                ) from None
            raise
        model = spec.load_config()
        fields = dict(entry.model_extra or {})
        try:
            settings = model.model_validate(fields)
        except ValidationError as exc:
            raise _config_error(exc, self.file_label, prefix=("targets", name)) from None
        return spec, settings


class _CrossRefError(ValueError):
    def __init__(self, key: str, message: str, choices: Any) -> None:
        self.key = key
        self.choices = sorted(choices)
        super().__init__(message)


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
    "float_parsing": "use a number",
    "float_type": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "string_type": "use a quoted string",
    "list_type": 'use a list, e.g. ["a", "b"]',
    "dict_type": "use a table",
    "model_type": "use a table",
    "missing": "add it",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "literal_error": "use one of the allowed values",
}


def _config_error(exc: ValidationError, file: str, prefix: tuple[Any, ...] = ()) -> ConfigError:
    """Turn the first pydantic error into one actionable line."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(
        part for part in (*prefix, *err["loc"]) if not (isinstance(part, str) and "[" in part)
    )
    kind = err["type"]
    message = err["msg"]
    hint = _HINTS.get(kind)
    if kind == "extra_forbidden":
        parent_fields = _known_fields(exc, err["loc"][:-1])
        bad = str(loc[-1])
        close = difflib.get_close_matches(bad, parent_fields, n=1)
        message = f"unknown key {bad!r}"
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else (f"known keys: {', '.join(parent_fields)}" if parent_fields else "remove it")
        )
    elif kind == "missing":
        message = "required key is missing"
        hint = f"add {loc[-1]} = …"
    elif isinstance(err.get("input"), SecretStr):
        message = "this field does not accept a secret from ${VAR}"
        hint = "secrets belong in fields meant for them (such as env); use a literal value here"
    elif kind == "value_error" and isinstance(err.get("ctx", {}).get("error"), _CrossRefError):
        cross: _CrossRefError = err["ctx"]["error"]
        loc = (cross.key,)
        message = str(cross)
        hint = f"choose one of: {', '.join(cross.choices)}" if cross.choices else "define it first"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    if kind.startswith("literal") and err.get("ctx", {}).get("expected"):
        hint = f"use one of {err['ctx']['expected']}"
    return ConfigError(message, file=file, key=_dotted(loc) or None, hint=hint)


def _known_fields(exc: ValidationError, loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at ``loc`` (for 'did you mean' hints), best effort."""
    model: Any = WaveConfig if exc.title == "WaveConfig" else None
    if model is None:
        return []
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            # a dict key such as an environment name: step into the value type
            args = getattr(model, "__args__", None)
            model = args[-1] if args else None
            continue
        model = field.annotation
        args = [a for a in getattr(model, "__args__", ()) if isinstance(a, type)]
        if args and not hasattr(model, "model_fields"):
            model = args[-1]
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


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
        data = data.get("tool", {}).get("wave")
        if not isinstance(data, dict):
            raise ConfigError(
                "no [tool.wave] table", file=label, hint="add [tool.wave] or a wave.toml"
            )
        label = "pyproject.toml [tool.wave]"
    return parse_config(data, file=file, label=label)


def parse_config(
    data: dict[str, Any], *, file: Path | None = None, label: str | None = None
) -> WaveConfig:
    """Validate an already-parsed mapping (what :func:`load_config` does after reading)."""
    label = label or (file.name if file else "<config>")
    data = _interpolate(data, (), label)
    try:
        config = WaveConfig.model_validate({**data, "source": file})
    except ValidationError as exc:
        raise _config_error(exc, label) from None
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
