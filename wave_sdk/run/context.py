"""What every step of a run shares: configuration, plugins, state, progress, identity.

One :class:`RunContext` per :class:`~wave_sdk.wave.Wave`; runs, steps and recovery receive
it instead of the facade, so a step sees the services it uses and nothing of the others'
state. The adapter boundary (:mod:`wave_sdk.run.boundary`) and approvals
(:mod:`wave_sdk.run.approve`) are built on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wave_sdk.adapter import Adapter, TargetContext
from wave_sdk.reporting import Event, Reporter
from wave_sdk.signals import write_signal

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig
    from wave_sdk.contacts import Failure
    from wave_sdk.plugins import PluginManager
    from wave_sdk.signals import Signal
    from wave_sdk.state import StateStore


class RunContext:
    """The services of one project: see the module docstring."""

    def __init__(
        self,
        *,
        config: WaveConfig,
        plugins: PluginManager,
        reporter: Reporter,
        deployer: str,
        interactive: bool,
    ) -> None:
        self.config = config
        self.plugins = plugins
        self.reporter = reporter
        self.deployer = deployer
        self.interactive = interactive
        self._store: StateStore | None = None

    @property
    def store(self) -> StateStore:
        """The state store ``[state] store`` names, opened on first use."""
        if self._store is None:
            from wave_sdk.state import open_state_store

            self._store = open_state_store(self.config, self.plugins)
        return self._store

    def emit(self, kind: str, step: str, message: str, **data: Any) -> None:
        self.reporter.emit(Event(kind, step, message, data))

    def contacts(self, failure: Failure = "application", *, database: bool = False) -> str:
        """``; emergency contacts: On-Call Engineer: …`` for a message that needs a human.

        The roles that ``failure`` needs (:data:`wave_sdk.contacts.NEEDED`); nothing when
        none is filled.
        """
        from wave_sdk.contacts import line

        return line(self.config.project.contacts.for_failure(failure, database=database))

    # -- signals -----------------------------------------------------------------------

    @property
    def signals_dir(self) -> Path:
        path = Path(self.config.signals.dir)
        return path if path.is_absolute() else self.config.root / path

    def signal(self, signal: Signal) -> Path:
        """Write ``signal`` and hand it to every ``wave_signal`` observer."""
        path = write_signal(signal, self.signals_dir)
        self.emit("info", "signal", f"signal {signal.signal_type} → {path}")
        arguments = {"signal": signal, "config": self.config}
        # Called one by one rather than through pm.hook so that one failing observer neither
        # fails the run nor silences the observers after it.
        for impl in self.plugins.pm.hook.wave_signal.get_hookimpls():
            if impl.wrapper or impl.hookwrapper:
                continue
            try:
                impl.function(*(arguments[name] for name in impl.argnames))
            except Exception as exc:  # observers never fail a run
                name = self.plugins.pm.get_name(impl.plugin)
                self.emit("warn", "signal", f"signal observer {name} failed: {exc}")
        return path

    # -- targets -----------------------------------------------------------------------

    def protected(self, environment: str, target: str) -> frozenset[str]:
        """Releases retention must keep on ``target``: the last verified one.

        That is where a failed deploy returns, and where ``wave rollback`` goes when a
        failed release was left in place — whatever ``keep`` counts and whatever is live.
        """
        current = self.store.current(environment)
        if current is None:
            return frozenset()
        return frozenset({current.targets.get(target, current.release)})

    @contextmanager
    def open_target(self, target: str, environment: str) -> Iterator[Adapter]:
        """The adapter instance of ``target``, registered for the duration of the block."""
        spec, settings = self.config.target_settings(target, self.plugins)
        context = TargetContext(
            target=target,
            environment=environment,
            project=self.config.project.name,
            root=self.config.root,
            state_dir=self.config.root / ".wave" / "targets" / target,
            reporter=self.reporter,
            config=self.config,
            protected=self.protected(environment, target),
        )
        with self.plugins.open_adapter(spec, config=settings, context=context) as adapter:
            yield adapter
