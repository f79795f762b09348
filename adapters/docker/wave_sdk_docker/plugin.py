"""The entry point: announce the adapter without importing it or the Docker SDK."""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, Capability, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="docker",
        adapter="wave_sdk_docker.adapter:DockerAdapter",
        config="wave_sdk_docker.config:DockerTarget",
        capabilities=frozenset(
            {
                Capability.ROLLBACK,
                Capability.ROLLBACK_TO,
                Capability.STATUS,
                Capability.HEALTH,
                Capability.RELEASES,
                Capability.LOGS,
            }
        ),
        summary="a container per release on a Docker engine (build, push, recreate, roll back)",
        install="pip install wave-sdk-docker",
    )
