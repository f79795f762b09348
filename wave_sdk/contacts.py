"""Emergency contacts by the runbook's roles, and which roles a kind of failure needs.

The runbook's "Emergency Contacts" table names four roles: the on-call engineer (first
responder), the tech lead (escalation), devops (infrastructure) and the database admin
(database issues). ``[project.contacts]`` (:class:`~wave_sdk.config.ContactsConfig`) holds
who fills each; a failure message names
the roles that fit it (:data:`NEEDED`): always the on-call engineer, the database admin
when the database is involved, devops when the platform failed, and the tech lead with
devops when a rollback failed and a human must step in. A plain list (``contacts =
["…"]``, the older form) is the on-call engineers.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["on_call", "tech_lead", "devops", "database_admin"]

ROLES: dict[Role, str] = {
    "on_call": "On-Call Engineer",
    "tech_lead": "Tech Lead",
    "devops": "DevOps",
    "database_admin": "Database Admin",
}
"""Each role as the runbook's table names it."""

Failure = Literal["checks", "application", "platform", "database", "rollback"]
"""What went wrong: a pre-deploy check; the release (verification); the target or its
platform (an adapter's error); the database (a migration, or its rollback); a rollback
that did not bring the environment back (a human is needed)."""

NEEDED: dict[Failure, tuple[Role, ...]] = {
    "checks": ("on_call",),
    "application": ("on_call",),
    "platform": ("on_call", "devops"),
    "database": ("on_call", "database_admin"),
    "rollback": ("on_call", "tech_lead", "devops"),
}
"""The roles each kind of failure names, first responder first."""


def roles_for(failure: Failure, *, database: bool = False) -> list[Role]:
    """The roles ``failure`` needs; ``database``: the run had migrated a database too."""
    roles = list(NEEDED[failure])
    if database and "database_admin" not in roles:
        roles.append("database_admin")
    return roles


def line(named: list[tuple[Role, str]]) -> str:
    """``; emergency contacts: On-Call Engineer: …; DevOps: …``, or nothing."""
    if not named:
        return ""
    return "; emergency contacts: " + "; ".join(f"{ROLES[r]}: {who}" for r, who in named)
