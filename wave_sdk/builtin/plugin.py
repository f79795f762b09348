"""The built-in plugin: the ``local`` adapter, the local state store, HTTP health checks.

Registered first and by the same rules as any installed plugin, so everything it does a
third-party plugin can do too. It imports nothing heavy: the adapter and its config model
are named as strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from wave_sdk._markers import hookimpl
from wave_sdk.adapter import AdapterSpec

if TYPE_CHECKING:
    from wave_sdk.adapter import TargetContext
    from wave_sdk.models import HealthResult
    from wave_sdk.state import StateStoreSpec


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="local",
        adapter="wave_sdk.builtin.local:LocalAdapter",
        config="wave_sdk.builtin.local:LocalTarget",
        capabilities=frozenset({"rollback", "rollback_to", "status", "health", "releases"}),
        summary="a directory and a start command, run as a local process (built in)",
        install="built in",
    )


@hookimpl
def wave_state_store() -> Iterator[StateStoreSpec]:
    from wave_sdk.state import LocalStateStore, StateStoreSpec

    def local(config: Any) -> LocalStateStore:
        from pathlib import Path

        path = Path(config.state.path)
        return LocalStateStore(path if path.is_absolute() else config.root / path)

    yield StateStoreSpec(name="local", factory=local, summary="a directory on this machine")


@hookimpl
def wave_health(target: TargetContext, url: str | None) -> list[HealthResult]:
    """The core's HTTP endpoint checks, as one contributor among others."""
    if target.config is None:
        return []
    from wave_sdk.health import probe

    return probe(url, target.config.health_for(target.environment))
