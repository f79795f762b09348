"""The JSON Schema of the configuration file, for ``wave config schema`` and the docs.

The core's keys come from :class:`~wave_sdk.config.WaveConfig`; each installed adapter adds
its target keys as one variant of ``[targets.<name>]``, chosen by ``adapter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wave_sdk.config.models import WaveConfig

if TYPE_CHECKING:
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
