"""``[plugins.<name>]``: a configuration section of its own for each plugin that asks for one.

A plugin that is not an adapter (a notifier, an approval provider) still needs settings: a
webhook, which environments it acts on. It declares a section with a :class:`SettingsSpec`
yielded from the ``wave_settings`` hook, naming the section and the pydantic model that
validates it — as an adapter names the model of its targets. The core then treats the
section like a target's own keys:

* the file's :class:`~wave_sdk.config.WaveConfig` keeps ``[plugins.<name>]`` as it was
  written (:class:`PluginSection`); the section's keys are validated by the plugin's model
  in a second stage, once the plugins are known (:func:`validate_sections`, which
  ``wave config validate``, every deploy's plan and every rollback run), so a misspelt key
  is one error line naming ``plugins.<name>.<key>`` before anything changes;
* a section that no installed plugin declares is an error listing the sections that are
  declared (a misspelt ``[plugins.slak]``, or a plugin that is not installed);
* the plugin reads its validated settings with
  :meth:`~wave_sdk.config.WaveConfig.plugin_settings` (``None`` when the file has no section:
  an installed plugin that is not configured does nothing);
* ``${VAR}`` references become secrets there as everywhere (the plugin's model types such
  keys ``SecretStr``), and ``wave config schema`` and the configuration reference show
  each declared section's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, final

from pydantic import BaseModel, ConfigDict, ValidationError

from wave_sdk.config.errors import config_error
from wave_sdk.config.suggest import suggest
from wave_sdk.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from wave_sdk.config.models import WaveConfig
    from wave_sdk.plugins import PluginManager

S = TypeVar("S", bound=BaseModel)


class PluginSection(BaseModel):
    """``[plugins.<name>]`` as written: its keys are validated by the plugin's own model."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


@final
@dataclass(frozen=True, kw_only=True)
class SettingsSpec:
    """How a plugin declares its configuration section (yield it from ``wave_settings``).

    Attributes:
        name: the section's name: ``[plugins.<name>]``.
        config: the pydantic model of the section (subclass
            :class:`~wave_sdk.config.Settings`), or ``"module:Model"`` to import it only
            when a configuration is validated.
        summary: one line for the configuration reference.
        plugin: filled by the core with the name of the plugin that declared it.

    """

    name: str
    config: str | type[BaseModel]
    summary: str = ""
    plugin: str = ""

    def load_config(self) -> type[BaseModel]:
        """The section's model, imported now; a broken import is a one-line PluginError."""
        from wave_sdk.adapter import load_declared

        owner = f"[plugins.{self.name}] (plugin {self.plugin or '?'})"
        model = load_declared(self.config, owner=owner, what="configuration model")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise PluginError(f"{owner}: {self.config!r} is not a pydantic model")
        return model


def section_settings(config: WaveConfig, name: str, model: type[S]) -> S | None:
    """``[plugins.<name>]`` validated by ``model``; ``None`` when the file has no section."""
    section = config.plugins.get(name)
    if section is None:
        return None
    fields = dict(section.model_extra or {})
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise config_error(
            exc, config.file_label, prefix=("plugins", name), model=model, data=fields
        ) from None


def validate_sections(config: WaveConfig, plugins: PluginManager) -> dict[str, BaseModel]:
    """Every ``[plugins.<name>]`` of ``config`` validated by its plugin's model, by name.

    Raises :class:`~wave_sdk.errors.ConfigError` for a section no installed plugin declares
    and for a key its model refuses; :class:`~wave_sdk.errors.PluginError` when the model
    cannot be imported.
    """
    specs = plugins.settings_specs
    out: dict[str, BaseModel] = {}
    for name in config.plugins:
        spec = specs.get(name)
        if spec is None:
            declared = ", ".join(sorted(specs)) or "none"
            close = suggest(name, specs)
            raise ConfigError(
                f"no installed plugin declares [plugins.{name}] (declared: {declared})",
                file=config.file_label,
                key=f"plugins.{name}",
                hint=f"did you mean [plugins.{close}]?"
                if close
                else "install the plugin that reads it, or remove the section",
            )
        settings = section_settings(config, name, spec.load_config())
        assert settings is not None  # the section is in the file
        out[name] = settings
    return out
