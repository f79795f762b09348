"""The built-in plugin: the local adapter and state store, health, gate, approval files.

It provides the ``local`` adapter, the local state store, the HTTP health checks, the
runbook's gate checks (:mod:`wave_sdk.gate`) and the approval signal files.

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
    from wave_sdk.approvals import ApprovalProviderSpec
    from wave_sdk.checks import CheckSpec
    from wave_sdk.config import WaveConfig
    from wave_sdk.models import HealthResult, Release
    from wave_sdk.state import StateStore, StateStoreSpec


@hookimpl
def wave_adapters() -> Iterator[AdapterSpec]:
    yield AdapterSpec(
        name="local",
        adapter="wave_sdk.builtin.local:LocalAdapter",
        config="wave_sdk.builtin.local:LocalTarget",
        capabilities=frozenset({"rollback", "rollback_to", "status", "health", "releases", "logs"}),
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


@hookimpl
def wave_checks(
    environment: str, config: WaveConfig, release: Release | None, store: StateStore
) -> list[CheckSpec]:
    """The branch rule, "Database migrations ready" and, where the gate is on, Gate 7's.

    The migrations check comes with ``[migrations]`` or the gate; the gate's are in
    docs/gate.md, with the runbook's lines no check answers (manual items □) unless
    ``[gate] checks`` picks some checks only.
    """
    from functools import partial

    from wave_sdk.gate import gate_checks, gate_enabled
    from wave_sdk.git.binding import branch_check

    found = []
    branch = branch_check(config, environment, release)
    if branch is not None:
        found.append(branch)
    gated = gate_enabled(config, environment)
    # The whole runbook checklist, unless [gate] checks chose some checks only.
    whole = gated and "checks" not in config.gate.model_fields_set
    if config.migrations is not None or whole:
        from wave_sdk.checklist_items import ITEMS
        from wave_sdk.checks import CheckSpec
        from wave_sdk.migrations.ready import NAME, migrations_ready

        found.append(
            CheckSpec(
                name=NAME,
                item=ITEMS[NAME],
                run=partial(migrations_ready, config, environment, release),
            )
        )
    gate = gate_checks(environment=environment, config=config, release=release, store=store)
    if whole:
        from wave_sdk.checks import command_checks
        from wave_sdk.gate.base import Context
        from wave_sdk.gate.checklist import runbook_lines

        covered = {s.item for s in command_checks(config, config.environment(environment).checks)}
        gate += runbook_lines(Context(environment, config, release, store), covered)
    return [*found, *gate]


@hookimpl
def wave_approval(config: WaveConfig) -> Iterator[ApprovalProviderSpec]:
    """The WAVE framework's approval signal files (Gate 7's merge approval among them)."""
    from wave_sdk.approvals import ApprovalProviderSpec
    from wave_sdk.gate import signal_approvals

    yield ApprovalProviderSpec(name="signal-files", find=signal_approvals(config))
