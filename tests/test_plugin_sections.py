"""``[plugins.<name>]``: a section a plugin declares with ``wave_settings``, validated by its model.

The mechanism is the core's, for any plugin: these tests declare sections from plugin
objects of their own (no contrib plugin involved) and check what a configuration with
such sections gives — the validated settings, and one error line for each mistake.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import Field, SecretStr

from wave_sdk import SettingsSpec, hookimpl
from wave_sdk.config import Settings, config_schema, parse_config, validate_sections
from wave_sdk.errors import ConfigError, PluginError
from wave_sdk.plugins import PluginManager


class PagerSettings(Settings):
    """``[plugins.pager]``."""

    service_key: SecretStr
    environments: list[str] = Field(default_factory=lambda: ["production"])


class Pager:
    @hookimpl
    def wave_settings(self) -> Iterator[SettingsSpec]:
        yield SettingsSpec(name="pager", config=PagerSettings, summary="page someone")


class Broken:
    @hookimpl
    def wave_settings(self) -> Iterator[SettingsSpec]:
        yield SettingsSpec(name="broken", config="no_such_module_here:Model")


def manager(*plugins: tuple[str, object]) -> PluginManager:
    pm = PluginManager(load_entry_points=False)
    for name, plugin in plugins:
        pm.register(plugin, name=name)
    return pm


def config(plugins: dict[str, Any]) -> Any:
    return parse_config({"plugins": plugins})


def test_a_declared_section_is_validated_by_the_plugin_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAGER_KEY", "k3y-of-the-pager")
    cfg = config({"pager": {"service_key": "${PAGER_KEY}"}})
    settings = validate_sections(cfg, manager(("pager", Pager())))
    assert isinstance(settings["pager"], PagerSettings)
    read = cfg.plugin_settings("pager", PagerSettings)
    assert read is not None and read.service_key.get_secret_value() == "k3y-of-the-pager"
    assert read.environments == ["production"]
    assert cfg.plugin_settings("other", PagerSettings) is None  # not configured: None
    assert cfg.plugin_dir("pager") == cfg.root / ".wave" / "plugins" / "pager"


def test_a_wrong_key_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGER_KEY", "k3y-of-the-pager")
    cfg = config({"pager": {"service_key": "${PAGER_KEY}", "enviroments": []}})
    with pytest.raises(ConfigError) as info:
        validate_sections(cfg, manager(("pager", Pager())))
    assert str(info.value) == (
        "<config>: plugins.pager.enviroments: unknown key 'enviroments' — did you mean "
        "'environments'?"
    )


def test_a_section_nobody_declares_names_the_declared_ones() -> None:
    cfg = config({"pagr": {}})
    with pytest.raises(ConfigError) as info:
        validate_sections(cfg, manager(("pager", Pager())))
    assert str(info.value) == (
        "<config>: plugins.pagr: no installed plugin declares [plugins.pagr] "
        "(declared: pager) — did you mean [plugins.pager]?"
    )


def test_a_second_declaration_of_a_name_is_a_broken_plugin() -> None:
    class Other:
        @hookimpl
        def wave_settings(self) -> Iterator[SettingsSpec]:
            yield SettingsSpec(name="pager", config=PagerSettings)

    pm = manager(("pager", Pager()), ("other", Other()))
    assert pm.settings_specs["pager"].plugin == "pager"  # the first one is kept
    assert [(b.name, b.error) for b in pm.broken] == [
        ("other", "declares [plugins.pager], already declared by plugin 'pager'")
    ]


def test_a_model_that_cannot_be_imported_is_a_one_line_plugin_error() -> None:
    cfg = config({"broken": {}})
    with pytest.raises(PluginError) as info:
        validate_sections(cfg, manager(("broken", Broken())))
    assert str(info.value).startswith(
        "[plugins.broken] (plugin broken): cannot load its configuration model "
        "'no_such_module_here:Model': ModuleNotFoundError:"
    )


def test_the_schema_has_each_declared_section() -> None:
    schema = config_schema(manager(("pager", Pager()), ("broken", Broken())))
    plugins = schema["properties"]["plugins"]
    assert list(plugins["properties"]) == ["pager"]  # the broken one is left out
    assert plugins["properties"]["pager"]["required"] == ["service_key"]
    assert plugins["additionalProperties"] is False
