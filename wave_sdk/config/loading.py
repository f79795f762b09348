"""Finding and reading ``wave.toml``, or the ``[tool.wave]`` table of ``pyproject.toml``.

The file is read once and its ``${VAR}`` references are resolved from the environment into
:class:`~pydantic.SecretStr` values (registered with :mod:`wave_sdk.secrets` for masking)
before :class:`~wave_sdk.config.WaveConfig` validates it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from wave_sdk import secrets
from wave_sdk.config.errors import config_error, dotted, keys_of, label_of
from wave_sdk.config.models import WaveConfig
from wave_sdk.errors import ConfigError, clip

CONFIG_FILES = ("wave.toml", "pyproject.toml")
"""The files :func:`find_config` looks for in each directory, in this order."""

MAX_BYTES = 1 << 20
"""Largest configuration file read (1 MiB): a real one is a few kilobytes."""

MAX_DEPTH = 32
"""Deepest nesting of tables and arrays accepted; the schema itself needs fewer than ten."""

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
                key=dotted(path),
                hint=f"export {name}=… before running wave, or remove the reference",
            )
        secrets.register(os.environ[name], name=name)
        return os.environ[name]

    resolved = _VAR.sub(substitute, value)
    if used_var:
        secrets.register(resolved)
        return SecretStr(resolved)
    return resolved


def find_config(start: Path | None = None) -> Path:
    """The nearest ``wave.toml``, or ``pyproject.toml`` with ``[tool.wave]``, upwards."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "wave.toml"
        if candidate.is_file():
            return candidate
        if os.path.lexists(candidate):
            # Not a file to read, yet it is this directory's: a parent's must not stand in.
            raise _not_a_file(candidate)
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "[tool.wave" in _read(pyproject, label_of(pyproject)):
            return pyproject
    raise ConfigError(
        f"no wave.toml (or pyproject.toml with [tool.wave]) in {here} or above",
        hint="run `wave init` to write one, or pass --config PATH",
    )


def _not_a_file(path: Path) -> ConfigError:
    what = "a directory" if path.is_dir() else "a link to no file"
    return ConfigError(
        f"{path.absolute()} is {what}, not a configuration file",
        hint="make it the wave.toml file, or pass --config PATH",
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
        if os.path.lexists(file) and not file.is_file():
            raise _not_a_file(file)
        if not file.is_file():
            raise ConfigError(f"{file}: no such file", hint="check the path given to --config")
    label = file.name
    try:
        data = tomllib.loads(_read(file, label))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}", file=label, hint="fix the syntax at the line and column shown"
        ) from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively.
        raise _too_deep(label, None) from None
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
        data, label = table, label_of(file)
    return parse_config(data, file=file, label=label)


def parse_config(
    data: dict[str, Any], *, file: Path | None = None, label: str | None = None
) -> WaveConfig:
    """Validate an already-parsed mapping (what :func:`load_config` does after reading)."""
    label = label or (label_of(file) if file else "<config>")
    _check_depth(data, label)
    data = _interpolate(data, (), label)
    if "source" in data:  # the field that records where the file is, not a key of it
        raise ConfigError(
            "unknown key 'source'",
            file=label,
            key="source",
            hint=f"known keys: {', '.join(keys_of(WaveConfig))}; a target's source goes "
            "in its [targets.<name>] table",
        )
    try:
        config = WaveConfig.model_validate({**data, "source": file})
    except ValidationError as exc:
        raise config_error(exc, label, model=WaveConfig, data=data) from None
    return config


def _read(file: Path, label: str) -> str:
    """The file's text, refused with one line when too large to be a configuration."""
    try:
        with open(file, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ConfigError(
                f"the file is larger than {MAX_BYTES // 1024} KiB, too large to be a configuration",
                file=label,
                hint="point --config at the configuration file, or shrink it",
            )
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=label) from None


def _check_depth(data: dict[str, Any], label: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before anything walks it recursively."""
    pending: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while pending:
        value, path = pending.pop()
        if len(path) > MAX_DEPTH:
            raise _too_deep(label, path[:MAX_DEPTH])
        if isinstance(value, dict):
            pending.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((v, (*path, i)) for i, v in enumerate(value))


def _too_deep(label: str, path: tuple[str | int, ...] | None) -> ConfigError:
    return ConfigError(
        f"tables or arrays are nested more than {MAX_DEPTH} deep",
        file=label,
        key=clip(str(path[0])) if path else None,
        hint="flatten it: no wave setting nests that deep",
    )
