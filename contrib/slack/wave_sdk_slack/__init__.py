"""wave-sdk-slack: the runbook's Slack notifications, as a plugin of wave-sdk.

The modules, in the order a signal goes through them:

* :mod:`~wave_sdk_slack.plugin` — the entry point: declares ``[plugins.slack]``, observes
  signals, contributes the communication checks; imports nothing heavy;
* :mod:`~wave_sdk_slack.config` — :class:`SlackSettings`, the section's model;
* :mod:`~wave_sdk_slack.message` — a signal as the runbook's message (``text`` + Block Kit
  ``blocks``), with the emergency contacts for the kind of failure;
* :mod:`~wave_sdk_slack.webhook` — the incoming webhook, retried within the run's budget;
* :mod:`~wave_sdk_slack.answers` — the webhook's last answer per environment;
* :mod:`~wave_sdk_slack.checks` — the communication checks: "Team notified" (which reads
  that answer) and "On-call engineer identified".

See docs/plugins/slack.md.
"""

__version__ = "0.1.0"
