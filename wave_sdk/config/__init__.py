"""``wave.toml`` (or ``[tool.wave]`` in ``pyproject.toml``) as validated pydantic models.

The file is read once, ``${VAR}`` references are resolved from the environment into
:class:`~pydantic.SecretStr` values (see :mod:`wave_sdk.secrets`), and the result is
validated in two stages: :class:`WaveConfig` for the core's keys, then each target's own
keys against the model of the adapter it names (:meth:`WaveConfig.target_settings`). Any
problem becomes one :class:`~wave_sdk.errors.ConfigError` line naming the file, the dotted
key path, what is wrong and how to fix it.

The modules, in the order a file goes through them:

* :mod:`~wave_sdk.config.loading`: finding and reading the file, ``${VAR}`` secrets;
* :mod:`~wave_sdk.config.models`: one model per table, :class:`WaveConfig` the whole file;
* :mod:`~wave_sdk.config.levels`: approval levels and the default approval matrix;
* :mod:`~wave_sdk.config.references`: names that must refer to another table;
* :mod:`~wave_sdk.config.sections`: ``[plugins.<name>]``, validated by the plugin's model;
* :mod:`~wave_sdk.config.errors`: a validation error as the one line users see;
* :mod:`~wave_sdk.config.suggest`: 'did you mean' for a misspelt key or name;
* :mod:`~wave_sdk.config.schema`: the file's JSON Schema, with each adapter's target keys.

The names below are the public ones; import them from here.
"""

from __future__ import annotations

from wave_sdk.config.levels import ACTIONS, DEFAULT_MATRIX, LEVEL_NAMES, Level
from wave_sdk.config.loading import CONFIG_FILES, find_config, load_config, parse_config
from wave_sdk.config.models import (
    GATE_CHECKS,
    BakeConfig,
    CheckConfig,
    ContactsConfig,
    DecisionsConfig,
    Environment,
    EnvironmentConfig,
    GateCheckName,
    GateConfig,
    GitConfig,
    HealthConfig,
    HealthEndpoint,
    InsidePath,
    MigrationsConfig,
    ProjectConfig,
    Settings,
    SignalsConfig,
    StateConfig,
    TargetEntry,
    WaveConfig,
)
from wave_sdk.config.schema import config_schema
from wave_sdk.config.sections import PluginSection, SettingsSpec, validate_sections

__all__ = [
    "ACTIONS",
    "CONFIG_FILES",
    "DEFAULT_MATRIX",
    "GATE_CHECKS",
    "LEVEL_NAMES",
    "BakeConfig",
    "CheckConfig",
    "ContactsConfig",
    "DecisionsConfig",
    "Environment",
    "EnvironmentConfig",
    "GateCheckName",
    "GateConfig",
    "GitConfig",
    "HealthConfig",
    "HealthEndpoint",
    "InsidePath",
    "Level",
    "MigrationsConfig",
    "PluginSection",
    "ProjectConfig",
    "Settings",
    "SettingsSpec",
    "SignalsConfig",
    "StateConfig",
    "TargetEntry",
    "WaveConfig",
    "config_schema",
    "find_config",
    "load_config",
    "parse_config",
    "validate_sections",
]
