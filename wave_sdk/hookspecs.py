"""The hooks of wave-sdk. Each docstring below is the reference for its hook.

A plugin is a module (or any object) with functions named after these hooks and marked with
``@wave_sdk.hookimpl``; it is published under the entry-point group ``wave_sdk``::

    # pyproject.toml of your plugin
    [project.entry-points.wave_sdk]
    myplugin = "myplugin.plugin"

Hooks fall in three kinds, and the kind decides how many implementations take part:

* **Registration** hooks (``wave_adapters``, ``wave_settings``, ``wave_state_store``,
  ``wave_approval``, ``wave_checks``) are called on every plugin and *yield typed
  records*; the core chooses among them by the names in the configuration.
* **Operation** hooks (``wave_deploy``, ``wave_rollback``, ``wave_status``) act on a
  target. Exactly one implementation performs them: the adapter instance the target's
  configuration names. Other plugins may only *wrap* them (``@hookimpl(wrapper=True)``) to
  time, audit or notify; a plain implementation of an operation hook in any other plugin is
  rejected when the plugin loads, because it could deploy twice.
* **Collecting** hooks (``wave_health``, ``wave_signal``) are called on every plugin: each
  adds health results or observes a signal.

Hook arguments are passed by name; an implementation may accept any subset of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from wave_sdk._markers import hookspec

if TYPE_CHECKING:
    from wave_sdk.adapter import AdapterSpec, TargetContext
    from wave_sdk.approvals import ApprovalProviderSpec
    from wave_sdk.checks import CheckSpec
    from wave_sdk.config import WaveConfig
    from wave_sdk.config.sections import SettingsSpec
    from wave_sdk.models import DeployResult, HealthResult, Release, RollbackResult, StatusReport
    from wave_sdk.signals import Signal
    from wave_sdk.state import StateStore, StateStoreSpec


@hookspec
def wave_adapters() -> Iterable[AdapterSpec]:  # type: ignore[empty-body]
    """Announce the adapters this plugin provides.

    Called once per process, the first time the core needs the adapter registry (config
    validation, ``wave adapters``, any operation). Yield one
    :class:`~wave_sdk.adapter.AdapterSpec` per adapter. Keep the module that implements this
    hook light: name the adapter class and its config model as ``"module:Class"`` strings so
    that the platform SDK is imported only when a target of this adapter runs.

    Two plugins announcing the same adapter name is an error reported by ``wave adapters``
    and raised when a target uses that name.

    Returns:
        An iterable of :class:`~wave_sdk.adapter.AdapterSpec`.

    Example::

        from wave_sdk import AdapterSpec, Capability, hookimpl

        @hookimpl
        def wave_adapters():
            yield AdapterSpec(
                name="fly",
                adapter="wave_fly.adapter:FlyAdapter",
                config="wave_fly.adapter:FlyTarget",
                capabilities=frozenset({Capability.ROLLBACK, Capability.STATUS}),
                summary="Fly.io machines",
                install="pip install wave-fly",
            )

    """


@hookspec
def wave_settings() -> Iterable[SettingsSpec]:  # type: ignore[empty-body]
    """Declare the configuration sections this plugin reads (a registration hook).

    A plugin that is not an adapter — a notifier, an approval provider — reads its settings
    from a section of its own, ``[plugins.<name>]``. Yield one
    :class:`~wave_sdk.config.sections.SettingsSpec` per section, naming the pydantic model
    that validates it (as ``"module:Model"``, so that declaring costs no import). The core
    validates the section with that model in ``wave config validate`` and before every
    deploy and rollback — a wrong key is one error line naming ``plugins.<name>.<key>``
    before anything changes — refuses a section no installed plugin declares, and shows
    each declared section in ``wave config schema`` and the configuration reference.

    The plugin reads its settings where it needs them with
    ``config.plugin_settings(name, Model)`` (:class:`~wave_sdk.config.WaveConfig`), which
    returns ``None`` when the file has no such section: an installed plugin that is not
    configured stays silent. When two plugins declare the same name, the first declaration
    (in loading order) is kept and the other plugin is recorded as broken
    (``PluginManager.broken``, in :mod:`wave_sdk.plugins`). ``wave adapters`` does not call
    this hook: it stays free of the configuration machinery.

    Returns:
        An iterable of :class:`~wave_sdk.config.sections.SettingsSpec`.

    Example::

        from wave_sdk import SettingsSpec, hookimpl

        @hookimpl
        def wave_settings():
            yield SettingsSpec(
                name="pager",
                config="wave_pager.config:PagerSettings",
                summary="Page the on-call engineer when a deploy fails",
            )

        @hookimpl
        def wave_signal(signal, config):
            settings = config.plugin_settings("pager", PagerSettings)
            if settings is not None and signal.status == "failed":
                page(settings.service_key.get_secret_value(), signal.reason)

    """


@hookspec(firstresult=True)
def wave_deploy(target: TargetContext, release: Release) -> DeployResult:  # type: ignore[empty-body]
    """Make ``release`` the live release of ``target`` (an operation hook).

    Performed only by the adapter instance the target's configuration names (see the module
    docstring); the base class :class:`~wave_sdk.adapter.Adapter` implements it by calling
    :meth:`~wave_sdk.adapter.Adapter.deploy`. Other plugins may wrap it::

        @hookimpl(wrapper=True)
        def wave_deploy(target, release):
            started = time.monotonic()
            result = yield          # the adapter deploys here
            log.info("%s deployed in %.1fs", release.id, time.monotonic() - started)
            return result

    A wrapper must return the result (possibly replaced) or let an exception propagate; it
    must not swallow an :class:`~wave_sdk.errors.AdapterError`.

    Args:
        target: where the deploy happens (names, directories, reporter).
        release: what to deploy.

    Returns:
        A :class:`~wave_sdk.models.DeployResult`. Raise
        :class:`~wave_sdk.errors.AdapterError` on failure instead of returning ``ok=False``
        when nothing was changed.

    """


@hookspec(firstresult=True)
def wave_rollback(target: TargetContext, to: str | None) -> RollbackResult:  # type: ignore[empty-body]
    """Make an earlier release live again on ``target`` (an operation hook).

    Same dispatch rule as :func:`wave_deploy`. ``to`` is the release id to return to;
    ``None`` means "the release before the current one". The pipeline passes the last
    release that passed verification when it rolls back automatically.

    Returns:
        A :class:`~wave_sdk.models.RollbackResult`. Raise
        :class:`~wave_sdk.errors.ReleaseNotFound` when ``to`` is not on the target and
        :class:`~wave_sdk.errors.RollbackUnavailable` when there is no earlier release.

    """


@hookspec(firstresult=True)
def wave_status(target: TargetContext, brief: bool) -> StatusReport:  # type: ignore[empty-body]
    """Report what runs on ``target`` and which releases it keeps (an operation hook).

    Same dispatch rule as :func:`wave_deploy`; it has no side effects, but a second
    adapter answering for a target it does not own would report someone else's state.

    ``brief`` is true when the pipeline reads the target for itself — before a rollback
    (is it already on the release?), after one (where to verify), for a plan, a health
    round or a migration's check — and false when a person asked (``wave status``,
    :meth:`Wave.status <wave_sdk.Wave.status>`). A brief report must be as exact about
    ``current``, ``state``, ``url`` and ``releases``, and may leave out what only a reader
    wants (per-process figures, disk); the :class:`~wave_sdk.adapter.Adapter` base routes
    it to :meth:`~wave_sdk.adapter.Adapter.brief_status`.

    Returns:
        A :class:`~wave_sdk.models.StatusReport`.

    """


@hookspec
def wave_health(target: TargetContext, url: str | None) -> list[HealthResult]:  # type: ignore[empty-body]
    """Contribute health results for ``target`` (a collecting hook).

    Called on the target's adapter (its platform-native view: process alive, container
    ``healthy``, pods ready), on the core's HTTP checker (the configured health endpoints
    under ``url``) and on every other plugin (a database probe, a queue depth). Adapters of
    *other* targets are not called. The pipeline calls it once per verification round and
    needs every result of a round to be ``ok``.

    Args:
        target: the target being verified.
        url: base URL the release answers on — ``health.base_url`` of the environment if
            configured, else the URL the adapter reported for the deploy or status — or
            ``None`` when unknown (HTTP checks then report a failure saying so).

    Returns:
        A list of :class:`~wave_sdk.models.HealthResult` (empty to abstain).

    Example::

        @hookimpl
        def wave_health(target, url):
            ok = redis.Redis().ping()
            return [HealthResult(source="redis", name="ping", ok=ok)]

    """


@hookspec
def wave_checks(  # type: ignore[empty-body]
    environment: str, config: WaveConfig, release: Release | None, store: StateStore
) -> Iterable[CheckSpec]:
    """Contribute pre-deploy checks for ``environment`` (a registration hook).

    Called on every plugin each time the gate runs (``wave deploy``, ``wave check``). Yield
    :class:`~wave_sdk.checks.CheckSpec` records; they run together with the commands
    configured under ``[checks]`` — concurrently, except where a spec's ``needs`` or
    ``parallel=False`` say otherwise — and a failing one stops the deploy before anything
    changes. ``group`` puts a check under a section of the printed checklist and of
    ``VALIDATION-REPORT.md`` (``gate7``, ``technical``, ``documentation``,
    ``communication``, or a name of your own). The built-in plugin contributes the runbook's
    Gate 7, documentation and communication checks this way (see docs/gate.md).

    Args:
        environment: the environment about to be deployed (or checked).
        config: the whole configuration; ``config.gate.wave`` already reflects ``--wave``.
        release: what would be deployed — its ``commit`` in particular — or ``None`` when
            ``wave check`` runs outside a git checkout.
        store: the state store, for checks that compare with what is live
            (``store.current(environment)``) or look at history.

    Returns:
        An iterable of :class:`~wave_sdk.checks.CheckSpec`.

    Example::

        @hookimpl
        def wave_checks(environment, config, release):
            if environment == "production":
                yield CheckSpec(
                    name="sbom", group="documentation", run=lambda: sbom_present(release)
                )

    """


@hookspec
def wave_signal(signal: Signal, config: WaveConfig) -> None:
    """Observe a signal after it was written (a collecting hook).

    Called on every plugin for each ``deployment-starting``, ``deployment-complete`` and
    ``rollback-complete`` signal, after the file is safely on disk. Notifiers (Slack) and
    ledgers (S3) implement it. An exception here is reported as a warning — ``signal
    observer <plugin> failed: <message>`` — and never fails the deploy: a notification
    outage must not roll back a good release. Observers run one after another in the
    deploying process, so each must bound its own time.

    Args:
        signal: the signal, as written to the signals directory.
        config: the project's configuration; a plugin reads its own section with
            :meth:`~wave_sdk.config.WaveConfig.plugin_settings` and keeps machine-local
            files under :meth:`~wave_sdk.config.WaveConfig.plugin_dir`.

    """


@hookspec
def wave_state_store() -> Iterable[StateStoreSpec]:  # type: ignore[empty-body]
    """Announce state-store backends (a registration hook).

    The state store owns history, the current release per environment, locks, approvals
    and the run journals (the :class:`~wave_sdk.state.StateStore` protocol).
    ``[state] store = "<name>"`` picks one; the built-in ``local`` keeps them under
    ``.wave/state``. Yield :class:`~wave_sdk.state.StateStoreSpec` records.

    A store's own keys live in ``[state.<name>]``, validated by the spec's ``config`` model
    before ``factory`` is called (read them there with
    :func:`~wave_sdk.state.store_settings`). The factory must not connect: ``wave config
    validate`` calls it, and must not import a client library either. A store that also
    implements :class:`~wave_sdk.migrations.vault.BackupVault` keeps the migration
    backups; ``wave state migrate --to <name>`` moves a project's state into it.

    Example::

        @hookimpl
        def wave_state_store():
            yield StateStoreSpec(
                name="s3",
                factory=lambda config: S3StateStore(
                    store_settings(config, "s3", S3Settings)
                ),
                config="wave_sdk_s3.settings:S3Settings",
                summary="an S3 bucket shared by a team",
            )

    """


@hookspec
def wave_approval(config: WaveConfig) -> Iterable[ApprovalProviderSpec]:  # type: ignore[empty-body]
    """Announce approval providers (a registration hook).

    When a step needs approval, the pipeline asks each provider in turn — records made by
    ``wave approve``, then plugin providers, then (on a terminal only) the interactive
    prompt — and proceeds with the first approval that covers the level, environment,
    action and commit. Yield :class:`~wave_sdk.approvals.ApprovalProviderSpec` records.

    ``config`` is the project's configuration (``config.gate.wave`` reflects ``--wave``),
    for providers that read files or services it names; the built-in plugin's
    ``signal-files`` provider reads the WAVE framework's approval signals this way.
    """
