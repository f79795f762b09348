"""The entry point: announce the adapter without importing it (``wave adapters`` stays fast)."""

from __future__ import annotations

from collections.abc import Iterator

from wave_sdk import AdapterSpec, Capability, hookimpl


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="ssh",
        adapter="wave_sdk_ssh.adapter:SSHAdapter",
        config="wave_sdk_ssh.config:SSHTarget",
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
        summary="servers over SSH: releases/, current symlink, pm2 or systemd, rolling batches",
        install="pip install wave-sdk-ssh",
    )
