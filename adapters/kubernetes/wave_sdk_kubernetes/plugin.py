"""The entry point: announce the adapter without importing it or the ``kubernetes`` client.

Importing the official client costs ~330 ms; ``wave adapters``, ``wave config validate``
and ``--help`` load this module only, so it imports nothing but ``wave_sdk``.
"""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, Capability, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="kubernetes",
        adapter="wave_sdk_kubernetes.adapter:KubernetesAdapter",
        config="wave_sdk_kubernetes.config:KubernetesTarget",
        capabilities=frozenset(
            {
                Capability.ROLLBACK,
                Capability.ROLLBACK_TO,
                Capability.STATUS,
                Capability.HEALTH,
                Capability.RELEASES,
            }
        ),
        summary="a Deployment's image per release (set image, rollout status, rollout undo)",
        install="pip install wave-sdk-kubernetes",
    )
