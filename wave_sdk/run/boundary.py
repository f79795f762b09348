"""The adapter boundary: every operation on a target, with its result checked.

An adapter is third-party code. Whatever it does — raise a platform exception, return
``None``, a ``dict``, a result for another target or another release — the run gets either
a well-formed result for the target and release it asked about, or an
:class:`~wave_sdk.errors.AdapterError` naming the adapter and the method, which it handles
like any failed operation (roll back, record, signal). Never a traceback.

Operations go through :meth:`~wave_sdk.plugins.PluginManager.operation`, which reaches the
adapter the target's configuration names and no other, with other plugins' wrappers around.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from wave_sdk.errors import AdapterError, WaveError
from wave_sdk.models import DeployResult, RollbackResult, StatusReport

if TYPE_CHECKING:
    from wave_sdk.adapter import Adapter
    from wave_sdk.models import Release
    from wave_sdk.plugins import PluginManager

R = TypeVar("R", DeployResult, RollbackResult, StatusReport)


def _call(plugins: PluginManager, hook: str, adapter: Adapter, expected: type[R], **kw: Any) -> R:
    method = hook.removeprefix("wave_")
    where = f"{adapter.context.target}: adapter {adapter.name or type(adapter).__name__!r}"
    try:
        result = plugins.operation(hook, adapter)(target=adapter.context, **kw)
    except WaveError:
        raise
    except Exception as exc:
        # An adapter that let a platform exception escape: still one line for the user.
        raise AdapterError(f"{where}: {method} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, expected):
        got = "nothing" if result is None else f"a {type(result).__name__}"
        raise AdapterError(
            f"{where}: {method}() returned {got}, not a {expected.__name__}",
            hint="a bug in the adapter: report it to its authors",
        )
    if result.target != adapter.context.target:
        raise AdapterError(
            f"{where}: {method}() answered for target {result.target!r}",
            hint="a bug in the adapter: report it to its authors",
        )
    if getattr(result, "ok", True) is False:  # a result may report failure instead of raising
        message = getattr(result, "message", "") or "no reason given"
        raise AdapterError(f"{adapter.context.target}: {method} failed: {message}")
    return result


def deploy(plugins: PluginManager, adapter: Adapter, release: Release) -> DeployResult:
    """Deploy ``release``; the result must name this target and this release."""
    result = _call(plugins, "wave_deploy", adapter, DeployResult, release=release)
    if result.release != release.id:
        raise AdapterError(
            f"{adapter.context.target}: adapter {adapter.name!r}: deploy() of {release.id} "
            f"reported release {result.release!r}",
            hint="a bug in the adapter: report it to its authors",
        )
    return result


def rollback(plugins: PluginManager, adapter: Adapter, to: str | None) -> RollbackResult:
    """Roll back (to ``to`` when given); the result must say it went there."""
    result = _call(plugins, "wave_rollback", adapter, RollbackResult, to=to)
    if to is not None and result.to_release != to:
        raise AdapterError(
            f"{adapter.context.target}: adapter {adapter.name!r}: rollback(to={to!r}) "
            f"reported {result.to_release!r}",
            hint="a bug in the adapter: report it to its authors",
        )
    return result


def status(plugins: PluginManager, adapter: Adapter, *, brief: bool = False) -> StatusReport:
    """What runs on the target now; ``brief`` when the pipeline reads it for itself."""
    return _call(plugins, "wave_status", adapter, StatusReport, brief=brief)


def live(plugins: PluginManager, adapter: Adapter) -> StatusReport | None:
    """The pipeline's own read (a brief :func:`status`); ``None`` when the target cannot say.

    A target that cannot say is treated as changed.
    """
    try:
        return status(plugins, adapter, brief=True)
    except WaveError:
        return None
