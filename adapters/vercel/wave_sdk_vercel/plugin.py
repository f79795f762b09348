"""The entry point: announce the adapter without importing it or httpx."""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, Capability, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="vercel",
        adapter="wave_sdk_vercel.adapter:VercelAdapter",
        config="wave_sdk_vercel.config:VercelTarget",
        capabilities=frozenset(Capability) - {Capability.LOGS},  # a static site has no log
        summary="a static site on Vercel by digest (uploads what changed, promotes, rolls back)",
        install="pip install wave-sdk-vercel",
    )
