"""wave-sdk: a deployment runbook as code.

The names a user needs are importable from here; each lives in a module named for what it
holds, and is imported only when first used so that ``import wave_sdk`` (and ``wave --help``)
stays cheap:

* :class:`Wave` (:mod:`wave_sdk.wave`) — the facade: plan, check, deploy, roll back,
  recover, status, health, history, and auto-deploy on a push (:mod:`wave_sdk.autodeploy`).
  A deploy or a rollback is a journaled run of :mod:`wave_sdk.run` (plan, deploy, rollback,
  journal, recovery).
* :func:`load_config`, :class:`WaveConfig`, :class:`Settings` (:mod:`wave_sdk.config`).
* :class:`Adapter`, :class:`AdapterSpec`, :class:`TargetContext` (:mod:`wave_sdk.adapter`)
  and :data:`hookimpl` — what a plugin author writes against; the hooks themselves are
  documented in :mod:`wave_sdk.hookspecs`.
* The models (:mod:`wave_sdk.models`), the errors (:mod:`wave_sdk.errors`), signals
  (:mod:`wave_sdk.signals`), state (:mod:`wave_sdk.state`), checks, approvals, health.
* Trust: what a release *is* (:mod:`wave_sdk.content`: a clean checkout's commit, else a
  digest), who may approve it (:mod:`wave_sdk.approvals`, :mod:`wave_sdk.signing`), which
  branch it must be on (:mod:`wave_sdk.git.binding`), what a source may hold
  (:mod:`wave_sdk.sources`), secrets kept out of every output (:mod:`wave_sdk.secrets`).
* :mod:`wave_sdk.digests` — the toolkit for adapters that upload a directory by digest.
* :mod:`wave_sdk.testing` — the conformance suite every adapter must pass.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing costs `wave --help` a fifth of
# its start-up, and type checkers honour a module-level TYPE_CHECKING = False just the same.
TYPE_CHECKING = False

__version__ = "0.1.0"

_EXPORTS = {
    "Wave": "wave_sdk.wave",
    "Plan": "wave_sdk.wave",
    "DeployReport": "wave_sdk.wave",
    "load_config": "wave_sdk.config",
    "WaveConfig": "wave_sdk.config",
    "Settings": "wave_sdk.config",
    "SettingsSpec": "wave_sdk.config.sections",
    "Adapter": "wave_sdk.adapter",
    "AdapterSpec": "wave_sdk.adapter",
    "TargetContext": "wave_sdk.adapter",
    "hookimpl": "wave_sdk._markers",
    "hookspec": "wave_sdk._markers",
    "Release": "wave_sdk.models",
    "DeployResult": "wave_sdk.models",
    "RollbackResult": "wave_sdk.models",
    "StatusReport": "wave_sdk.models",
    "HealthResult": "wave_sdk.models",
    "CheckResult": "wave_sdk.models",
    "Approval": "wave_sdk.models",
    "HistoryRecord": "wave_sdk.models",
    "Capability": "wave_sdk.adapter",
    "Signal": "wave_sdk.signals",
    "CheckSpec": "wave_sdk.checks",
    "ApprovalProviderSpec": "wave_sdk.approvals",
    "StateStoreSpec": "wave_sdk.state",
    "StateStore": "wave_sdk.state",
    "Reporter": "wave_sdk.reporting",
    "Event": "wave_sdk.reporting",
    "WaveError": "wave_sdk.errors",
    "ConfigError": "wave_sdk.errors",
    "AdapterError": "wave_sdk.errors",
    "VerificationFailed": "wave_sdk.errors",
}

__all__ = [
    "Adapter",
    "AdapterError",
    "AdapterSpec",
    "Approval",
    "ApprovalProviderSpec",
    "Capability",
    "CheckResult",
    "CheckSpec",
    "ConfigError",
    "DeployReport",
    "DeployResult",
    "Event",
    "HealthResult",
    "HistoryRecord",
    "Plan",
    "Release",
    "Reporter",
    "RollbackResult",
    "Settings",
    "SettingsSpec",
    "Signal",
    "StateStore",
    "StateStoreSpec",
    "StatusReport",
    "TargetContext",
    "VerificationFailed",
    "Wave",
    "WaveConfig",
    "WaveError",
    "hookimpl",
    "hookspec",
    "load_config",
]

if TYPE_CHECKING:
    from wave_sdk._markers import hookimpl, hookspec
    from wave_sdk.adapter import Adapter, AdapterSpec, Capability, TargetContext
    from wave_sdk.approvals import ApprovalProviderSpec
    from wave_sdk.checks import CheckSpec
    from wave_sdk.config import Settings, WaveConfig, load_config
    from wave_sdk.config.sections import SettingsSpec
    from wave_sdk.errors import AdapterError, ConfigError, VerificationFailed, WaveError
    from wave_sdk.models import (
        Approval,
        CheckResult,
        DeployResult,
        HealthResult,
        HistoryRecord,
        Release,
        RollbackResult,
        StatusReport,
    )
    from wave_sdk.reporting import Event, Reporter
    from wave_sdk.signals import Signal
    from wave_sdk.state import StateStore, StateStoreSpec
    from wave_sdk.wave import DeployReport, Plan, Wave


if not TYPE_CHECKING:
    # Hidden from type checkers, which see the imports above: a misspelt name is then an
    # error for them too, not a name of type Any.

    def __getattr__(name: str) -> object:
        from importlib import import_module

        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'wave_sdk' has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value
        return value
