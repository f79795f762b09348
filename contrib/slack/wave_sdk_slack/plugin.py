"""The entry point: declare ``[plugins.slack]``, notify on signals, add communication checks.

Light on purpose: ``wave adapters`` and ``wave --help`` load this module, so it imports
only the hook marker. The settings model is imported when a configuration is validated or
read, ``slack_sdk`` only when a message is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from wave_sdk import hookimpl

if TYPE_CHECKING:
    from wave_sdk.checks import CheckSpec
    from wave_sdk.config import SettingsSpec, WaveConfig
    from wave_sdk.signals import Signal
    from wave_sdk_slack.config import SlackSettings


def _settings(config: WaveConfig) -> SlackSettings | None:
    from wave_sdk_slack.config import SlackSettings

    return config.plugin_settings("slack", SlackSettings)


@hookimpl
def wave_settings() -> Iterator[SettingsSpec]:
    from wave_sdk.config import SettingsSpec

    yield SettingsSpec(
        name="slack",
        config="wave_sdk_slack.config:SlackSettings",
        summary="The runbook's Slack notifications through an incoming webhook "
        "(wave-sdk-slack, docs/plugins/slack.md).",
    )


@hookimpl
def wave_signal(signal: Signal, config: WaveConfig) -> None:
    """Post the signal's message when the environment wants it; raise to warn when not delivered.

    The core reports the exception as ``signal observer slack failed: …`` and goes on.
    """
    settings = _settings(config)
    if settings is None:
        return
    from wave_sdk_slack.message import build, notices_of

    if not notices_of(signal) & set(settings.notices(signal.environment)):
        return
    from wave_sdk.errors import PluginError
    from wave_sdk_slack.answers import record
    from wave_sdk_slack.webhook import post

    answer = post(
        settings.webhook_url.get_secret_value(),
        build(signal, settings),
        run=signal.deploy_id or signal.timestamp.isoformat(),
        budget=settings.budget,
        timeout=settings.timeout,
        attempts=settings.attempts,
    )
    record(config, signal, answer)
    if not answer.ok:
        raise PluginError(
            f"could not notify Slack of {signal.signal_type} ({signal.environment}): "
            f"{answer.problem()} after {answer.attempts} attempt(s) in {answer.seconds:.1f}s; "
            "the run goes on"
        )


@hookimpl
def wave_checks(environment: str, config: WaveConfig) -> Iterator[CheckSpec]:
    settings = _settings(config)
    if settings is None or settings.check == "off":
        return
    from functools import partial

    from wave_sdk.checks import CheckSpec
    from wave_sdk_slack import checks

    yield CheckSpec(
        name=checks.TEAM_NOTIFIED,
        group="communication",
        run=partial(checks.team_notified, config, environment, settings),
    )
