"""The entry point: announces the ``s3`` state store, importing neither boto3 nor the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from wave_sdk import hookimpl

if TYPE_CHECKING:
    from wave_sdk.state import StateStore, StateStoreSpec


def _open(config: Any) -> StateStore:
    from wave_sdk.state import store_settings
    from wave_sdk_s3.settings import S3Settings
    from wave_sdk_s3.store import S3StateStore

    return S3StateStore(store_settings(config, "s3", S3Settings))


@hookimpl
def wave_state_store() -> Iterator[StateStoreSpec]:
    from wave_sdk.state import StateStoreSpec

    yield StateStoreSpec(
        name="s3",
        factory=_open,
        summary="an S3 bucket shared by a team: history, locks, approvals, journals, backups",
        config="wave_sdk_s3.settings:S3Settings",
    )
