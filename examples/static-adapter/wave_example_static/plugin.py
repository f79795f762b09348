"""The entry point: announce the adapter without importing it (``wave adapters`` stays fast)."""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, Capability, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="static",
        adapter="wave_example_static.adapter:StaticAdapter",
        config="wave_example_static.adapter:StaticTarget",
        capabilities=frozenset(
            {
                Capability.ROLLBACK,
                Capability.ROLLBACK_TO,
                Capability.STATUS,
                Capability.HEALTH,
                Capability.RELEASES,
            }
        ),
        summary="publish a static site into a document root (example adapter)",
        install="pip install -e examples/static-adapter",
    )
