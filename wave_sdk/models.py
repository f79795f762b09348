"""The values that flow between the pipeline, adapters and plugins.

They are pydantic models so they validate at the boundary (an adapter returning a malformed
result fails loudly, naming the field) and serialise the same way everywhere: ``--json``,
history lines and signals all come from ``model_dump(mode="json")``.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from wave_sdk.errors import clip

_RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

TEMPORARY = ".tmp-"
"""What wave puts in the names of directories and links it has not finished yet."""


def check_release_id(value: str) -> str:
    """Release ids become directory names, image tags and remote arguments: keep them plain.

    A leading letter or digit, then letters, digits, ``.``, ``_`` or ``-``; at most 128
    characters. ``..``, ``/``, spaces, control characters and shell metacharacters can
    therefore never appear; nor can ``.tmp-``, which marks the release layout's unfinished
    copies (an id holding it would be staged, then never listed as a release).
    """
    if TEMPORARY in value:
        raise ValueError(
            f"invalid release id {clip(value)!r}: '{TEMPORARY}' is reserved for wave's "
            "temporary directories; choose an id without it"
        )
    if not _RELEASE_ID.fullmatch(value) or ".." in value:
        raise ValueError(
            f"invalid release id {clip(value)!r}: use letters, digits, '.', '_' or '-' "
            "(at most 128, starting with a letter or digit, no '..')"
        )
    return value


ReleaseId = Annotated[str, AfterValidator(check_release_id)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_deploy_id() -> str:
    """A sortable, unique id for one pipeline run: UTC time plus randomness."""
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Release(_Model):
    """One deployable version, bound to its content.

    ``id`` names it everywhere (directory, tag, history). What it *is* is ``commit`` or
    ``digest``, and approvals bind to that (:mod:`wave_sdk.content` decides which):
    ``commit`` is set only when the source is a clean checkout of that commit; otherwise
    ``digest`` (``sha256:…`` of the files deployed) names the content and ``commit`` is
    ``None``, so history never claims a commit for code that was not in it. ``source`` is
    the local directory an adapter uploads or builds from, when it needs one.
    """

    id: ReleaseId
    commit: str | None = None
    digest: str | None = None
    source: Path | None = None
    created_at: datetime = Field(default_factory=utcnow)
    stories: tuple[str, ...] = ()
    has_migrations: bool = False
    migration_files: tuple[str, ...] = ()
    """The migration files the release adds or changes for its environment (to review)."""
    metadata: dict[str, Any] = Field(default_factory=dict)


class DeployResult(_Model):
    """What an adapter reports after a deploy.

    ``url`` is where the release answers; the core's HTTP health checks use it as their base
    unless the environment configures ``health.base_url``. ``previous`` is the release that
    was live before, if the adapter knows it.
    """

    target: str
    release: str
    ok: bool = True
    url: str | None = None
    previous: str | None = None
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class RollbackResult(_Model):
    """What an adapter reports after a rollback: from which release to which."""

    target: str
    from_release: str | None
    to_release: str
    ok: bool = True
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class StatusReport(_Model):
    """What runs on a target now, and what it could roll back to.

    ``state`` is one of ``running``, ``stopped``, ``degraded``, ``absent`` or ``unknown``;
    ``releases`` lists the releases kept on the target, newest first.
    """

    target: str
    adapter: str
    current: str | None
    state: str
    url: str | None = None
    releases: tuple[str, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)


class HealthResult(_Model):
    """One health observation.

    ``source`` names who made it (the adapter, ``http``, a plugin); ``name`` what was checked
    (an endpoint path, a process). ``response_time_ms`` is set for HTTP checks.
    """

    source: str
    name: str
    ok: bool
    detail: str = ""
    status_code: int | None = None
    response_time_ms: float | None = None


class CheckResult(_Model):
    """The outcome of one pre-deploy check: what it looked at and, on failure, why.

    ``ok`` is what the gate acts on. ``pending`` marks a check that did not run (shown □):
    one whose ``needs`` failed is pending and not ok; one that is structurally guaranteed
    later in the run is pending and ok. ``group`` is the checklist section it is printed
    under (``gate7``, ``technical``, ``documentation``, ``communication`` or a plugin's own);
    ``output_tail`` is the end of a command's output, shown when it failed. ``manual``
    marks an item a person does and no tool can check ("stakeholders aware"): pending
    until someone confirms it (``wave check`` asks on a terminal, :meth:`Wave.confirm
    <wave_sdk.wave.Wave.confirm>` records it), never passed by itself. ``item`` is the
    runbook's line it answers (:mod:`wave_sdk.checklist_items`).
    """

    name: str
    ok: bool
    detail: str = ""
    duration_s: float = 0.0
    output_tail: str = ""
    group: str = "technical"
    pending: bool = False
    manual: bool = False
    item: str = ""
    """The runbook's checklist line the check answers, printed with its mark ("" if none)."""

    @property
    def status(self) -> str:
        """``passed``, ``failed`` or ``pending``, as the checklist and the report say it."""
        return "pending" if self.pending else "passed" if self.ok else "failed"


MAX_VALIDITY_S = 366 * 86_400.0
"""The longest validity an approval may be given: a year. One meant to last longer should
not expire at all."""


class Approval(_Model):
    """An approval on record: who granted which level for what, bound to a commit.

    Levels run from 1 (a human) to 5 (automatic); a lower number is a higher authority: an
    L2 approval satisfies a step that needs L2, L3, L4 or L5, never one that needs L1.
    """

    environment: str
    action: str
    level: int = Field(ge=1, le=5)
    approved_by: str
    release: str | None = None
    commit: str | None = None
    digest: str | None = None
    approved_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    source: str = "record"
    signature: str | None = None
    """``hmac-sha256:<hex>`` over the record without this field (:mod:`wave_sdk.signing`)."""

    @property
    def bound_to(self) -> str | None:
        """What the approval names, as messages say it: a commit, a digest or a release."""
        if self.commit:
            return f"commit {self.commit}"
        if self.digest:
            return f"digest {self.digest}"
        return f"release {self.release}" if self.release else None

    def covers(
        self,
        *,
        environment: str,
        action: str,
        level: int,
        release: Release,
        now: datetime | None = None,
    ) -> bool:
        """Whether this approval satisfies a requirement of ``level`` for ``release``."""
        now = now or utcnow()
        if self.environment != environment or self.action != action or self.level > level:
            return False
        if self.expires_at is not None and self.expires_at <= now:
            return False
        if self.commit is not None and self.commit != release.commit:
            return False
        if self.digest is not None and self.digest != release.digest:
            return False
        return self.release is None or self.release == release.id

    def names_content_of(self, release: Release) -> bool:
        """Whether this approval names exactly ``release``'s code (L1 and L2 need that).

        Its commit when the release has one, else its digest; a release with neither (an
        image named by tag alone) can only be named by its id.
        """
        if release.commit:
            return self.commit == release.commit
        if release.digest:
            return self.digest == release.digest
        return self.release == release.id


class HistoryRecord(_Model):
    """One line of the history ledger: a deploy, a rollback, or a lock override.

    ``kind`` is ``deploy``, ``rollback``, ``unlock`` or ``confirm`` (a manual checklist item
    done, named in ``reason``, for ``release``); ``outcome`` is ``succeeded``,
    ``rolled_back`` (verification failed, the previous release is back), ``degraded``
    (verification failed but most users are served: kept live, to watch), ``failed`` (not
    rolled back: left in place as advised, or the rollback failed), ``blocked`` (refused
    before anything changed: a check, a missing approval, a held lock) or ``recorded`` (an
    unlock, a confirmation).
    """

    deploy_id: str
    kind: str
    environment: str
    targets: tuple[str, ...] = ()
    release: str | None = None
    commit: str | None = None
    digest: str | None = None
    outcome: str
    started_at: datetime
    finished_at: datetime = Field(default_factory=utcnow)
    deployer: str = ""
    approved_by: str | None = None
    rolled_back_from: str | None = None
    rolled_back_to: str | None = None
    reason: str | None = None
    verification: dict[str, Any] = Field(default_factory=dict)
    migration: dict[str, Any] | None = None
    """The migration record of a release that carried migrations: environments migrated in
    order, backup files, what was rolled back (see :mod:`wave_sdk.migrations`)."""


class TargetRollback(_Model):
    """One target in a :class:`RollbackPlan`: what runs there, and whether the goal is kept."""

    live: str | None
    """The release the target runs now (``None``: nothing, or it cannot tell)."""
    state: str
    """``running``, ``stopped``, ``absent`` …, or ``unknown`` when the target cannot be read."""
    goal_kept: bool | None
    """Whether the release a rollback would return to is still on the target (``None``: no
    goal, or the target cannot tell)."""
    error: str | None = None
    """Why the target could not be read, when it could not."""


class RollbackPlan(_Model):
    """What ``wave rollback`` would do for an environment, and what the decision tree says.

    :meth:`Wave.rollback_plan <wave_sdk.Wave.rollback_plan>` makes it; nothing is changed.
    """

    environment: str
    current: str | None
    """The release on record as current."""
    rollback_to: str | None
    """Where ``wave rollback`` would return to (``None``: nowhere)."""
    rollback_to_reason: str
    last_deploy: HistoryRecord | None
    last_run: HistoryRecord | None
    """The last deploy or rollback, whichever came last."""
    decision: dict[str, Any]
    """The decision recorded for the last deploy (its ``action`` and ``reason``), else
    "monitor"."""
    advice: str
    targets: dict[str, TargetRollback]


class JournalEntry(_Model):
    """One write-ahead record of a run, stored before the step it names changes the world.

    A run (a deploy or a rollback) opens its journal with ``begin`` once it holds the
    environment's lock, writes an entry before each step that changes a target, a database
    or the state, and is closed by its :class:`HistoryRecord`. A journal still open whose
    holder is gone is an interrupted run: :mod:`wave_sdk.run.recovery` reads these entries
    to learn what it was doing. ``step`` is one of the names in :data:`JOURNAL_STEPS`.
    """

    deploy_id: str
    environment: str
    seq: int = Field(ge=0)
    step: str
    at: datetime = Field(default_factory=utcnow)
    target: str | None = None
    release: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


JOURNAL_STEPS = (
    "begin",  # the run holds the lock: kind, release, targets, last verified, holder
    "migrate",  # about to back up and migrate the databases (order, backup dir)
    "migrating",  # about to migrate one environment's database (backups taken so far)
    "migrated",  # every database migrated (the migration record)
    "deploy",  # about to deploy one target
    "deployed",  # that target's deploy returned
    "verify",  # about to verify the release
    "verified",  # verification finished (ok, passing share)
    "decide",  # the decision tree's answer after a failure
    "rollback",  # about to roll one target back (to which release)
    "rolled_back",  # that target's rollback returned
    "verify_rollback",  # about to verify the release rolled back to
    "commit",  # about to record the environment's new current release
    "committed",  # recorded: only the signal and the history record remain
)
"""Every journal step, in the order a run can reach them."""
