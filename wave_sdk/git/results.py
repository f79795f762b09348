"""What the git procedures return: frozen records the CLI prints as JSON."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class MergedBranch(_Result):
    """One branch of a merge deployment."""

    branch: str = Field(description="The branch as configured, e.g. feature/backend.")
    ref: str = Field(description="What was merged: the remote's copy when it has one.")
    tip: str = Field(description="The commit merged.")
    commit: str | None = Field(
        description="The merge commit; None when the target already contained the branch."
    )


class MergeResult(_Result):
    """What :meth:`Repository.merge` did."""

    target: str = Field(description="The branch merged into.")
    remote: str = Field(description="The remote pushed to.")
    before: str = Field(description="The target's commit before the first merge.")
    after: str = Field(description="The target's commit after the last merge.")
    merged: list[MergedBranch] = Field(description="Each branch, in the order merged.")
    validated: bool = Field(description="Whether a validation ran (and passed).")
    pushed: bool = Field(description="Whether the target was pushed to the remote.")


class HotfixStarted(_Result):
    """What :meth:`Repository.hotfix_start` did."""

    name: str
    branch: str = Field(description="The hotfix branch, hotfix/<name>.")
    main: str = Field(description="The branch it starts from.")
    base: str = Field(description="The commit it starts from: main as the remote has it.")


class HotfixFinished(_Result):
    """What :meth:`Repository.hotfix_finish` did, step by step."""

    name: str
    branch: str
    main: str
    develop: str
    commit: str = Field(description="main after the hotfix merge (its full SHA): what ships.")
    merged: bool = Field(description="False when main already contained the hotfix (a rerun).")
    checked: bool = Field(
        False, description="Whether the checks ran on the merge commit, before main moved."
    )
    approved_by: str | None = Field(
        None, description="Who approved the merge commit; None when none was needed or asked."
    )
    pushed: bool = Field(description="Whether main was pushed.")
    deployed: bool = Field(description="Whether the deploy callable ran and returned.")
    backport: str | None = Field(
        None, description="The merge commit on develop; None when develop had the fix."
    )
    backport_pushed: bool = Field(False, description="Whether develop was pushed.")
    deleted: bool = Field(False, description="Whether the hotfix branch was deleted here.")
    deleted_remote: bool = Field(
        False, description="Whether the hotfix branch was deleted on the remote."
    )


class RevertedCommit(_Result):
    """One commit reverted by :meth:`Repository.revert`."""

    reverted: str = Field(description="The commit reverted.")
    mainline: int | None = Field(description="1 for a merge commit (-m 1), None otherwise.")
    commit: str = Field(description="The revert commit.")


class RevertResult(_Result):
    """What :meth:`Repository.revert` did."""

    branch: str = Field(description="The branch the revert commits are on.")
    before: str = Field(description="The branch's commit before the first revert.")
    commit: str = Field(description="The branch's commit after the last revert.")
    reverts: list[RevertedCommit] = Field(
        description="Each commit reverted, in the order reverted: newest first."
    )
    pushed: bool
