"""The plugin manager: guarded entry-point loading and single-adapter dispatch.

Nothing happens at import time. :func:`get_plugin_manager` builds the manager on first use:
it registers the built-in plugin, then loads each entry point of the group ``wave_sdk``
one by one. A plugin that fails to import, or breaks a rule, is recorded in
:attr:`PluginManager.broken` (name and error) and skipped — the CLI stays usable and
``wave adapters`` lists it as broken. ``WAVE_DISABLE_PLUGINS=a,b`` skips plugins by
entry-point name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from wave_sdk import hookspecs
from wave_sdk._markers import PROJECT
from wave_sdk.entrypoints import entry_points
from wave_sdk.errors import PluginError, UnknownAdapterError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from wave_sdk.adapter import Adapter, AdapterSpec, TargetContext
    from wave_sdk.config.sections import SettingsSpec

OPERATION_HOOKS = ("wave_deploy", "wave_rollback", "wave_status")
"""Hooks that only the target's own adapter may implement; other plugins may only wrap."""

BUILTIN_PLUGINS = ("wave_sdk.builtin.plugin",)


@dataclass(frozen=True, kw_only=True)
class BrokenPlugin:
    """A plugin that could not be used: its entry-point name and why."""

    name: str
    error: str


class PluginManager:
    """The pluggy manager plus what wave-sdk needs around it.

    Attributes:
        pm: the underlying :class:`pluggy.PluginManager`; call hooks through ``pm.hook``
            for collecting hooks, and through :meth:`operation` for operation hooks.
        broken: plugins that failed to load, were rejected, or announce an adapter name
            another plugin already provides (a target using that name then fails).
        disabled: entry-point names skipped because of ``WAVE_DISABLE_PLUGINS``.

    """

    def __init__(self, *, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.broken: list[BrokenPlugin] = []
        self.disabled: list[str] = []
        self._adapters: dict[str, Adapter] = {}
        self._specs: dict[str, AdapterSpec] | None = None
        self._settings: dict[str, SettingsSpec] | None = None
        self._conflicts: dict[str, list[str]] = {}
        for module_name in BUILTIN_PLUGINS:
            self._register_module(module_name.rsplit(".", 1)[0], module_name)
        if load_entry_points:
            self._load_entry_points()

    # -- loading -----------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        disabled = {
            name.strip()
            for name in os.environ.get("WAVE_DISABLE_PLUGINS", "").split(",")
            if name.strip()
        }
        for ep in sorted(entry_points(group=PROJECT), key=lambda ep: ep.name):
            if ep.name in disabled:
                self.disabled.append(ep.name)
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except (Exception, SystemExit) as exc:  # a broken plugin must never break the CLI
                self._mark_broken(ep.name, f"{type(exc).__name__}: {exc}")
                continue
            self.register(plugin, name=ep.name)

    def _mark_broken(self, name: str, error: str) -> None:
        broken = BrokenPlugin(name=name, error=error)
        if broken not in self.broken:
            self.broken.append(broken)

    def _register_module(self, name: str, module_name: str) -> None:
        import importlib

        self.register(importlib.import_module(module_name), name=name)

    def register(self, plugin: object, *, name: str) -> None:
        """Register a plugin object, enforcing the operation-hook rule.

        Raises nothing: a plugin that breaks a rule is recorded in :attr:`broken`.
        """
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._mark_broken(name, f"{type(exc).__name__}: {exc}")
            return
        for hook_name in OPERATION_HOOKS:
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    self.pm.unregister(plugin)
                    self._mark_broken(
                        name,
                        f"implements {hook_name} without wrapper=True; only the "
                        "target's adapter performs operations, other plugins may wrap",
                    )
                    return
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(plugin)
            self._mark_broken(name, str(exc))
            return
        self._specs = self._settings = None

    # -- adapters ----------------------------------------------------------------------

    @property
    def adapter_specs(self) -> dict[str, AdapterSpec]:
        """Every adapter announced by a working plugin, by name."""
        if self._specs is None:
            from dataclasses import replace

            specs: dict[str, AdapterSpec] = {}
            conflicts: dict[str, list[str]] = {}
            from wave_sdk.adapter import AdapterSpec

            # Registration order (the built-in first), not pluggy's call order (LIFO): the
            # first announcement of a name is the one kept, the later ones are conflicts.
            impls = [
                impl
                for impl in self.pm.hook.wave_adapters.get_hookimpls()
                if not (impl.wrapper or impl.hookwrapper)
            ]
            for impl in impls:
                plugin_name = self.pm.get_name(impl.plugin) or "?"
                try:
                    announced: list[Any] = list(impl.function() or ())  # type: ignore[call-overload]
                except Exception as exc:
                    self._mark_broken(
                        plugin_name, f"wave_adapters failed: {type(exc).__name__}: {exc}"
                    )
                    continue
                wrong = [a for a in announced if not isinstance(a, AdapterSpec)]
                if wrong:
                    self._mark_broken(
                        plugin_name,
                        f"wave_adapters yielded {type(wrong[0]).__name__} {wrong[0]!r}, "
                        "not an AdapterSpec",
                    )
                    continue
                for spec in announced:
                    spec = replace(spec, plugin=plugin_name)
                    if spec.name in specs:
                        first = specs[spec.name].plugin
                        conflicts.setdefault(spec.name, [first]).append(plugin_name)
                        self._mark_broken(
                            plugin_name,
                            f"announces adapter {spec.name!r}, already provided by plugin "
                            f"{first!r}; targets using {spec.name!r} fail until one of them "
                            "is removed or disabled",
                        )
                        continue
                    specs[spec.name] = spec
            self._specs, self._conflicts = specs, conflicts
        return self._specs

    @property
    def settings_specs(self) -> dict[str, SettingsSpec]:
        """Every ``[plugins.<name>]`` section a working plugin declares, by name.

        The first declaration of a name is kept; a second plugin declaring it is recorded
        in :attr:`broken` (its section would be validated by the wrong model).
        """
        if self._settings is None:
            from dataclasses import replace

            from wave_sdk.config.sections import SettingsSpec

            specs: dict[str, SettingsSpec] = {}
            for impl in self.pm.hook.wave_settings.get_hookimpls():  # registration order
                plugin_name = self.pm.get_name(impl.plugin) or "?"
                try:
                    declared: list[Any] = list(impl.function() or ())  # type: ignore[call-overload]
                except Exception as exc:
                    self._mark_broken(
                        plugin_name, f"wave_settings failed: {type(exc).__name__}: {exc}"
                    )
                    continue
                for spec in declared:
                    if not isinstance(spec, SettingsSpec):
                        self._mark_broken(
                            plugin_name, f"wave_settings yielded {spec!r}, not a SettingsSpec"
                        )
                    elif spec.name in specs:
                        self._mark_broken(
                            plugin_name,
                            f"declares [plugins.{spec.name}], already declared by plugin "
                            f"{specs[spec.name].plugin!r}",
                        )
                    else:
                        specs[spec.name] = replace(spec, plugin=plugin_name)
            self._settings = specs
        return self._settings

    def adapter_spec(self, name: str) -> AdapterSpec:
        """The spec of adapter ``name``, or a clear error listing what is installed."""
        specs = self.adapter_specs
        if name in self._conflicts:
            raise PluginError(
                f"adapter {name!r} is provided by several plugins: "
                f"{', '.join(self._conflicts[name])}",
                hint="uninstall one of them or disable it with WAVE_DISABLE_PLUGINS",
            )
        if name not in specs:
            installed = ", ".join(sorted(specs)) or "none"
            broken = sorted({b.name for b in self.broken})
            extra = f"; broken plugins: {', '.join(broken)} (see `wave adapters`)" if broken else ""
            if self.disabled:
                extra += f"; disabled by WAVE_DISABLE_PLUGINS: {', '.join(self.disabled)}"
            hint = f"install it with `pip install wave-sdk-{name}`"
            if name in self.disabled:
                hint = f"remove {name} from WAVE_DISABLE_PLUGINS, or {hint}"
            raise UnknownAdapterError(
                f"no adapter named {name!r} is installed (installed: {installed}{extra})",
                hint=hint,
            )
        return specs[name]

    @contextmanager
    def open_adapter(
        self, spec: AdapterSpec, *, config: BaseModel, context: TargetContext
    ) -> Iterator[Adapter]:
        """Instantiate the adapter for one target and register it for the duration."""
        cls = spec.load_adapter()
        adapter = cls(config=config, context=context)
        plugin_name = f"adapter:{context.target}"
        with self._lock:
            if self.pm.has_plugin(plugin_name):
                raise PluginError(f"target {context.target!r} is already open")
            self.pm.register(adapter, name=plugin_name)
            self._adapters[plugin_name] = adapter
        try:
            yield adapter
        finally:
            with self._lock:
                self.pm.unregister(adapter)
                del self._adapters[plugin_name]
            adapter.close()

    _lock = threading.Lock()

    def operation(self, hook_name: str, adapter: Adapter) -> Any:
        """A caller of ``hook_name`` that reaches ``adapter`` and no other adapter.

        Wrappers from ordinary plugins still run around it; collecting hooks
        (``wave_health``) still reach every ordinary plugin.
        """
        others = [a for a in self._adapters.values() if a is not adapter]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=others)


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager, built (and entry points loaded) on first call."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = PluginManager()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests that install plugins call this)."""
    global _manager
    with _manager_lock:
        _manager = None
