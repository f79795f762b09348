"""``[plugins.slack]``: the webhook, which signals notify where, and whom to call.

Only pydantic here: the core imports this model to validate a configuration, and
``wave config validate`` must not import ``slack_sdk``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import Field, SecretStr, field_validator

from wave_sdk.config import Settings
from wave_sdk.config.errors import Invalid
from wave_sdk.contacts import Role

Notice = Literal["deployment-starting", "deployment-complete", "rollback-complete", "failed"]
"""What a message announces. ``failed`` is a failed or interrupted run: a signal whose
status is not a success, or the ``rollback-complete`` of a deploy that was rolled back
(which is both ``rollback-complete`` and ``failed``: either one in a list sends it)."""

NOTICES: tuple[Notice, ...] = get_args(Notice)

ROLES: dict[Role, str] = {
    "on_call": "On-Call Engineer (first responder)",
    "tech_lead": "Tech Lead (escalation)",
    "devops": "DevOps (infrastructure)",
    "database_admin": "Database Admin (database issues)",
}


class SlackSettings(Settings):
    """``[plugins.slack]``: the runbook's Slack notifications (docs/plugins/slack.md)."""

    webhook_url: SecretStr = Field(
        description='Incoming webhook URL, always as a secret: "${SLACK_WEBHOOK_URL}". '
        "It is never printed: every output shows it as ***."
    )
    notify: list[Notice] = Field(
        default_factory=lambda: list(NOTICES),
        description="Which signals post a message, in every environment not listed in "
        "`environments`: deployment-starting, deployment-complete, rollback-complete, failed.",
    )
    environments: dict[str, list[Notice]] = Field(
        default_factory=dict,
        description="Per environment, which signals post a message: { development = [], "
        'production = ["deployment-starting", "deployment-complete", "rollback-complete", '
        '"failed"] }.',
    )
    contacts: dict[Role, list[str]] = Field(
        default_factory=dict,
        description="Emergency contacts by the runbook's role (on_call, tech_lead, devops, "
        'database_admin), as Slack mrkdwn, e.g. { on_call = ["<@U024BE7LH>"] } to mention '
        "someone: a failure or rollback names the roles its kind needs; a role left out "
        "falls back to [project] contacts.",
    )
    budget: float = Field(
        5.0,
        ge=0.1,
        le=5,
        description="Seconds all of one run's messages may add to it, retries and waits "
        "included (at most 5: a notification never holds a deploy longer); once spent, "
        "the run's later messages are dropped with a warning.",
    )
    timeout: float = Field(
        2.0, gt=0, description="Seconds one attempt may take (within what is left of budget)."
    )
    attempts: int = Field(
        3, ge=1, le=10, description="Attempts per message: timeouts, 429 and 5xx are retried."
    )
    check: Literal["require", "warn", "off"] = Field(
        "warn",
        description="The team-notified check (the webhook answered the environment's last "
        "message): `require` fails the gate on a miss, `warn` passes saying so, `off` adds "
        "no check.",
    )

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _from_the_environment(cls, value: Any) -> Any:
        if not isinstance(value, SecretStr):
            raise Invalid(
                "is written in the file: a webhook URL is a secret",
                hint='write webhook_url = "${SLACK_WEBHOOK_URL}" and set the variable',
            )
        if not value.get_secret_value().startswith(("https://", "http://")):
            raise Invalid("is not an http(s) URL", hint="copy the incoming webhook URL from Slack")
        return value

    def notices(self, environment: str) -> list[Notice]:
        """The signals that post a message in ``environment``."""
        return self.environments.get(environment, self.notify)

    def contacts_for(
        self, roles: list[Role], fallback: Mapping[str, list[str]]
    ) -> list[tuple[str, str]]:
        """(role as the runbook names it, who) for each role.

        A role not set here takes ``[project.contacts]``'s people for it (``fallback``,
        the signal's ``contacts_by_role``).
        """
        out = []
        for role in roles:
            people = self.contacts.get(role) or fallback.get(role)
            if people:
                out.append((ROLES[role], ", ".join(people)))
        return out
