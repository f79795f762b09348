"""What an adapter is: a registration record (:class:`AdapterSpec`) and a base class.

A plugin announces an adapter by yielding an :class:`AdapterSpec` from the
``wave_adapters`` hook. The spec names its classes as ``"module:attribute"`` strings so that
listing adapters (``wave adapters``, config validation) never imports the adapter's platform
library — the Docker SDK or the Kubernetes client load only when a target of that adapter
actually runs.

The core instantiates :class:`Adapter` subclasses, one per target, and registers each
instance with the plugin manager under its target's name. The base class carries the
hook implementations that route ``wave_deploy``/``wave_rollback``/``wave_status``/
``wave_health`` to :meth:`Adapter.deploy` & co.; the core calls those hooks with every
other adapter instance removed, so exactly the configured adapter acts.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, final

from wave_sdk._markers import hookimpl

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from pydantic import BaseModel

    from wave_sdk.config import WaveConfig
    from wave_sdk.models import DeployResult, HealthResult, Release, RollbackResult, StatusReport
    from wave_sdk.reporting import Reporter


def load_object(reference: str | Any) -> Any:
    """Resolve a ``"package.module:attribute"`` reference; pass anything else through."""
    if not isinstance(reference, str):
        return reference
    module_name, _, attribute = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


class Capability(StrEnum):
    """What an adapter can do beyond deploy; the conformance suite tests each declared one."""

    ROLLBACK = "rollback"
    """Roll back to the previous release."""
    ROLLBACK_TO = "rollback_to"
    """Roll back to a named earlier release."""
    STATUS = "status"
    """Report what runs and which releases are available."""
    HEALTH = "health"
    """Report platform-native health (process alive, container healthy, pods ready)."""
    RELEASES = "releases"
    """List the releases kept on the target (lets the pipeline check its rollback target)."""
    LOGS = "logs"
    """Read the live release's log lines since a moment (:meth:`Adapter.logs`); the bake
    window scans them for ``[environments.<name>.bake] log_patterns``."""


LOG_LINES = 1000
"""Lines :meth:`Adapter.logs` returns at most by default: the newest, when there are more."""

LOG_BYTES = 1 << 20
"""Bytes of log an adapter reads at most per :meth:`Adapter.logs` call, whatever ``limit``
says: a release that logs a gigabyte must not make the bake window read it."""


def load_declared(reference: str | Any, *, owner: str, what: str) -> Any:
    """:func:`load_object` for what a plugin declared; a failure is a one-line PluginError.

    ``owner`` and ``what`` name it in the message: ``adapter 'fly' (plugin fly)``,
    ``configuration model``.
    """
    try:
        return load_object(reference)
    except Exception as exc:  # ImportError, AttributeError, or the module's own failure
        from wave_sdk.errors import PluginError

        raise PluginError(
            f"{owner}: cannot load its {what} {reference!r}: {type(exc).__name__}: {exc}",
            hint="reinstall the plugin, or disable it with WAVE_DISABLE_PLUGINS",
        ) from exc


@final
@dataclass(frozen=True, kw_only=True)
class AdapterSpec:
    """How a plugin registers an adapter (yield it from ``wave_adapters``).

    Attributes:
        name: the value of ``adapter = "…"`` in a target's configuration.
        adapter: the :class:`Adapter` subclass, or ``"module:Class"`` to import it lazily.
        config: the pydantic model of the target's own fields, or ``"module:Model"``.
            It validates ``[targets.<name>]`` minus the ``adapter`` key and provides the
            adapter's part of ``wave config schema``.
        capabilities: the :class:`Capability` values the adapter supports;
            the conformance suite tests each one.
        summary: one line for ``wave adapters``.
        install: the command that installs the adapter, shown when a configuration names it
            but it is missing (e.g. ``pip install wave-sdk-docker``).
        plugin: filled by the core with the name of the plugin that registered the spec.

    """

    name: str
    adapter: str | type[Adapter]
    config: str | type[BaseModel]
    capabilities: frozenset[str] = frozenset()
    summary: str = ""
    install: str = ""
    plugin: str = ""

    def load_adapter(self) -> type[Adapter]:
        """The adapter class, imported now; a broken import is a one-line PluginError."""
        cls = self._load(self.adapter, "adapter class")
        if not (isinstance(cls, type) and issubclass(cls, Adapter)):
            from wave_sdk.errors import PluginError

            raise PluginError(f"adapter {self.name!r}: {self.adapter!r} is not an Adapter subclass")
        return cls

    def load_config(self) -> type[BaseModel]:
        """The target configuration model, imported now."""
        return self._load(self.config, "configuration model")  # type: ignore[no-any-return]

    def _load(self, reference: str | Any, what: str) -> Any:
        owner = f"adapter {self.name!r} (plugin {self.plugin or '?'})"
        return load_declared(reference, owner=owner, what=what)


@dataclass(frozen=True, kw_only=True)
class TargetContext:
    """What an adapter instance knows about where it runs.

    Attributes:
        target: the target's name (``[targets.<name>]``).
        environment: the environment being operated on.
        project: the project's name.
        root: the project directory (where the configuration file lives); relative paths in
            a target's configuration are relative to it.
        state_dir: a directory private to this target, for an adapter's own bookkeeping.
        reporter: progress sink; adapters report long steps through it.
        config: the whole validated configuration (plugins read their own sections).
        protected: releases the core may have to return to on this target — the
            environment's last verified release and the one ``wave rollback`` would pick.
            Retention (``keep``) must never remove them, whatever it counts.

    """

    target: str
    environment: str
    project: str
    root: Path
    state_dir: Path
    reporter: Reporter = field(repr=False)
    config: WaveConfig | None = field(default=None, repr=False)
    protected: frozenset[str] = frozenset()


class Adapter(ABC):
    """Base class of every adapter.

    Subclasses implement :meth:`deploy`, :meth:`rollback` and :meth:`status`, and may
    override :meth:`health`, :meth:`releases`, :meth:`logs` and :meth:`close`. They raise
    :class:`~wave_sdk.errors.AdapterError` (or a subclass) for failures the user can act on,
    with the platform's own exception mapped in the adapter's ``errors.py``.

    Instances are created by the core, one per target and command, with the validated
    configuration model; they must not do network I/O in ``__init__``.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, config: BaseModel, context: TargetContext) -> None:
        self.config = config
        self.context = context

    @abstractmethod
    def deploy(self, release: Release) -> DeployResult:
        """Make ``release`` the live one. Deploying the live release again is a no-op."""

    @abstractmethod
    def rollback(self, to: str | None = None) -> RollbackResult:
        """Make an earlier release live again: ``to``, or the one before the current."""

    @abstractmethod
    def status(self) -> StatusReport:
        """What runs now and which releases are kept."""

    def brief_status(self) -> StatusReport:
        """:meth:`status` as the pipeline needs it; by default the same report.

        The core reads a target's status for itself around every rollback and plan (see
        :func:`~wave_sdk.hookspecs.wave_status`'s ``brief``). Override this when
        :meth:`status` gathers figures only a person reads at a cost the pipeline should
        not pay on every host each time — the SSH adapter's asks pm2 for memory and
        restarts, a Node start per host, where the pid files tell whether the app runs.
        ``current``, ``state``, ``url`` and ``releases`` must be what :meth:`status` says.
        """
        return self.status()

    def health(self) -> list[HealthResult]:
        """Platform-native health; HTTP endpoint checks are the core's business."""
        return []

    def releases(self) -> list[str]:
        """Releases kept on the target, newest first (default: from :meth:`status`)."""
        return list(self.status().releases)

    def logs(self, since: datetime, *, limit: int = LOG_LINES) -> list[str]:
        """The live release's log lines written at or after ``since``, oldest first.

        Declare :attr:`Capability.LOGS` when implemented; the core calls it only then.

        Args:
            since: an aware UTC moment. The pipeline passes the moment the deploy began, so
                the lines are those the new release wrote since it went out.
                A platform that stamps its lines (``docker logs --since``) filters by the
                stamp; a log file without stamps is read from where it ended when the live
                release started (a per-release file from its start), which holds every line
                at or after ``since`` and never a line of an earlier release.
            limit: at most this many lines, the newest when there are more.

        Reads are bounded: at most :data:`LOG_BYTES` bytes of the end of the log, and only
        the release's own log (never the platform's). Lines come back as written — the core
        masks secrets before it shows or stores any (:func:`wave_sdk.secrets.redact`).

        Raises:
            AdapterError: the log cannot be read (no live release, the host is unreachable).

        """
        from wave_sdk.errors import AdapterError

        raise AdapterError(f"adapter {self.name!r} cannot read logs (no {Capability.LOGS!r})")

    def close(self) -> None:  # noqa: B027 - optional hook, deliberately a no-op
        """Release connections; called once the command is done with the target."""

    # Hook implementations: the core registers the instance as a plugin and calls these
    # with every other adapter removed (see wave_sdk.plugins.PluginManager.operation).

    @hookimpl
    def wave_deploy(self, target: TargetContext, release: Release) -> DeployResult:
        return self.deploy(release)

    @hookimpl
    def wave_rollback(self, target: TargetContext, to: str | None) -> RollbackResult:
        return self.rollback(to)

    @hookimpl
    def wave_status(self, target: TargetContext, brief: bool) -> StatusReport:
        return self.brief_status() if brief else self.status()

    @hookimpl
    def wave_health(self, target: TargetContext, url: str | None) -> list[HealthResult]:
        return self.health()
