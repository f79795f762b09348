"""The JSON Schema of the configuration file, for ``wave config schema`` and the docs.

The core's keys come from :class:`~wave_sdk.config.WaveConfig`; each installed adapter adds
its target keys as one variant of ``[targets.<name>]``, chosen by ``adapter``; each section a
plugin declares (``wave_settings``) is one property of ``[plugins]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wave_sdk.config.models import WaveConfig
from wave_sdk.errors import PluginError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from wave_sdk.plugins import PluginManager


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
        sub = _model_schema(model, defs)
        sub.setdefault("properties", {})["adapter"] = {"const": name, "description": spec.summary}
        sub["required"] = ["adapter", *sub.get("required", [])]
        sub["title"] = f"{name} target"
        variants.append(sub)
    if variants:
        schema["properties"]["targets"]["additionalProperties"] = {"oneOf": variants}
    schema["properties"]["plugins"] = sections_schema(plugins, defs)
    return schema


def _model_schema(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """``model``'s schema, its own definitions moved into the file's ``defs``."""
    sub = model.model_json_schema(ref_template="#/$defs/{model}")
    for key, value in sub.pop("$defs", {}).items():
        defs.setdefault(key, value)
    return sub


def sections_schema(plugins: PluginManager, defs: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of ``[plugins]``: one property per section a plugin declares."""
    properties: dict[str, Any] = {}
    for name, spec in sorted(plugins.settings_specs.items()):
        try:
            sub = _model_schema(spec.load_config(), defs)
        except PluginError:  # a broken plugin is listed by `wave adapters`, not here
            continue
        sub["title"] = f"[plugins.{name}]"
        if spec.summary:
            sub["description"] = spec.summary
        properties[name] = sub
    return {
        "type": "object",
        "description": "Sections of installed plugins, each validated by the plugin's model.",
        "properties": properties,
        "additionalProperties": False,
    }
