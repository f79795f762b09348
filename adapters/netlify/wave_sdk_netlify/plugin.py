"""The entry point: announces no adapter yet.

The Netlify adapter (issue 11) is being built on top of the fake API in
:mod:`wave_sdk_netlify.fake`; until it exists this hook yields nothing, so ``wave adapters``
does not offer an ``adapter = "netlify"`` that cannot deploy.
"""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield from ()
