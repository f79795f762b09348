"""The entry point: announce the adapter without importing it or httpx."""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, Capability, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="netlify",
        adapter="wave_sdk_netlify.adapter:NetlifyAdapter",
        config="wave_sdk_netlify.config:NetlifyTarget",
        capabilities=frozenset(Capability) - {Capability.LOGS},  # a static site has no log
        summary="a static site on Netlify by digest (uploads what changed, restores any deploy)",
        install="pip install wave-sdk-netlify",
    )
