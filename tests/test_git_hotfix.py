"""The runbook's hotfix and revert on real repositories (a bare remote and two clones).

Hotfix: the runbook's order — checks, then the L1 approval of the merge commit, then the
merge (``--no-ff``), push, deploy, backport and deletion of the branch here and on the
remote. A failed check or a missing approval leaves main untouched locally and on the
remote; the approval named in the refusal is the commit that lands. Revert: one commit, or
a range ``A..B`` reverted newest first, one revert commit each; a conflict undoes them all.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from git_repos import Repos, git, make_repos, one_error_line

from wave_sdk.errors import (
    ApprovalRequired,
    GateError,
    HotfixIncomplete,
    MergeConflict,
)
from wave_sdk.git import Repository
from wave_sdk.models import Approval


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return make_repos(tmp_path)


def approval_of(commit: str) -> Approval:
    return Approval(
        environment="production", action="deploy", level=1, approved_by="lead", commit=commit
    )


def never(*args: object) -> None:
    pytest.fail(f"must not be called (with {args})")


def remote_branches(repos: Repos, pattern: str) -> str:
    return git(repos.remote, "for-each-ref", "--format=%(refname)", f"refs/heads/{pattern}")


def approve_command(line: str) -> list[str]:
    """The ``wave approve …`` arguments a refusal names (after ``approve with: wave``)."""
    command = line.split("approve with: ", 1)[1].split(", then run", 1)[0]
    words = shlex.split(command)
    assert words[:2] == ["wave", "approve"], command
    return words[1:]


# -- hotfix: the order ---------------------------------------------------------------------


def test_checks_then_approval_then_merge_push_deploy_backport_and_cleanup(repos: Repos) -> None:
    develop_before = repos.commit("develop", {"develop.txt": "next release\n"})
    main_before = repos.remote_rev("main")
    repo = Repository(repos.work)
    started = repo.hotfix_start("login-fix")
    assert started.branch == "hotfix/login-fix" and started.base == main_before
    fix = repos.work_commit({"app.txt": "app v1, login fixed\n"})
    git(repos.work, "push", "--quiet", "origin", "hotfix/login-fix")  # shared for review

    calls: list[dict[str, object]] = []

    def where(step: str, commit: str | None = None) -> dict[str, object]:
        return {
            "step": step,
            "commit": commit,
            "head": repos.head(),
            "app": (repos.work / "app.txt").read_text(),
            "local_main": repos.local("main"),
            "remote_main": repos.remote_rev("main"),
            "remote_develop": repos.remote_rev("develop"),
        }

    def validate() -> bool:
        calls.append(where("validate"))
        return True

    def approve(commit: str) -> Approval:
        calls.append(where("approve", commit))
        return approval_of(commit)

    def deploy(commit: str) -> None:
        calls.append(where("deploy", commit))

    done = repo.hotfix_finish("login-fix", validate=validate, approve=approve, deploy=deploy)

    merged = done.commit
    assert [c["step"] for c in calls] == ["validate", "approve", "deploy"]
    # The checks ran on the merge commit itself, and they and the approval came before
    # main moved: here and on the remote, main was still where it was.
    for call in calls[:2]:
        assert call["head"] == merged and call["app"] == "app v1, login fixed\n"
        assert call["local_main"] == call["remote_main"] == main_before
    assert calls[1]["commit"] == merged  # the approval names the commit that landed
    # Then: merged with --no-ff (two parents), pushed, deployed from main, then backported.
    assert repos.parents(merged) == [main_before, fix]
    assert calls[2] == {**calls[2], "commit": merged, "remote_main": merged}
    assert calls[2]["remote_develop"] == develop_before
    assert done.checked and done.approved_by == "lead" and done.merged and done.pushed
    assert done.deployed
    assert done.backport == repos.remote_rev("develop")
    assert repos.parents(done.backport) == [develop_before, fix]
    # The hotfix branch is gone, here and on the remote; the user is on main.
    assert done.deleted and done.deleted_remote
    assert git(repos.work, "branch", "--list", "hotfix/*") == ""
    assert remote_branches(repos, "hotfix") == ""
    assert repos.branch() == "main" and repos.head() == merged and repos.status() == ""


def test_failing_checks_leave_main_untouched_here_and_on_the_remote(repos: Repos) -> None:
    assert repos.wave("hotfix", "start", "broken").returncode == 0
    moved = repos.commit("main", {"main.txt": "main moved on\n"})  # merged with the fix
    local_main = repos.local("main")
    fix = repos.work_commit({"BROKEN": "the fix breaks the tree check\n"})

    proc = repos.wave("hotfix", "finish", "broken", "--no-deploy")

    assert proc.returncode == 3, proc.stderr
    line = one_error_line(proc)
    assert "the checks of hotfix/broken merged into main failed" in line
    assert "tree" in line and "nothing was merged into main and nothing was pushed" in line
    assert "then run `wave hotfix finish broken` again" in line
    # The check saw the merged tree: main's new file and the fix's.
    seen = (repos.work / ".seen").read_text().split()
    assert "BROKEN" in seen and "main.txt" in seen
    # Nothing moved: main here and on the remote, develop, the hotfix branch, the checkout.
    assert repos.remote_rev("main") == moved and repos.local("main") == local_main
    assert repos.remote_rev("develop") == local_main
    assert repos.branch() == "hotfix/broken" and repos.head() == fix and repos.status() == ""


def test_without_approval_nothing_reaches_main_and_the_command_is_given(repos: Repos) -> None:
    assert repos.wave("hotfix", "start", "urgent").returncode == 0
    main_before = repos.remote_rev("main")
    fix = repos.work_commit({"app.txt": "app v1, urgent fix\n"})

    proc = repos.wave("hotfix", "finish", "urgent")

    assert proc.returncode == 4, proc.stderr
    line = one_error_line(proc)
    args = approve_command(line)
    commit = args[args.index("--commit") + 1]
    assert len(commit) == 40  # the full SHA of the merge commit to be made
    assert args == [
        "approve",
        "--env",
        "production",
        "--action",
        "deploy",
        "--level",
        "L1",
        "--release",
        commit[:12],
        "--commit",
        commit,
    ]
    assert "hotfix/urgent merged into main: deploy to production needs L1" in line
    assert f"approval for commit {commit}" in line
    assert "nothing was merged into main and nothing was pushed" in line
    assert "then run `wave hotfix finish urgent` again" in line
    # That commit is the --no-ff merge, made but on no branch; main is untouched.
    assert repos.parents(commit, repos.work) == [main_before, fix]
    assert git(repos.work, "branch", "--all", "--contains", commit) == ""
    assert repos.remote_rev("main") == main_before == repos.local("main")
    assert repos.branch() == "hotfix/urgent" and repos.head() == fix and repos.status() == ""


def test_the_approved_commit_is_the_one_that_lands(repos: Repos) -> None:
    develop_before = repos.remote_rev("develop")
    main_before = repos.remote_rev("main")
    assert repos.wave("hotfix", "start", "cli-fix").returncode == 0
    fix = repos.work_commit({"app.txt": "app v1, fixed\n"})
    git(repos.work, "push", "--quiet", "origin", "hotfix/cli-fix")
    refused = repos.wave("hotfix", "finish", "cli-fix", "--no-deploy")
    assert refused.returncode == 4, refused.stderr
    args = approve_command(one_error_line(refused))
    approved = args[args.index("--commit") + 1]
    assert repos.wave(*args, "--by", "lead").returncode == 0

    proc = repos.wave("hotfix", "finish", "cli-fix", "--no-deploy", "--json")

    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout)
    assert done["commit"] == approved == repos.remote_rev("main")
    assert done["approved_by"] == "lead" and done["checked"] and done["deploy"] is None
    assert repos.parents(approved) == [main_before, fix]
    assert git(repos.remote, "log", "-1", "--format=%s", approved) == (
        "Merge hotfix/cli-fix into main"
    )
    # Backported to develop (a merge of the hotfix branch), pushed.
    assert done["backport"] == repos.remote_rev("develop")
    assert repos.parents(done["backport"]) == [develop_before, fix]
    # Cleaned up here and on the remote.
    assert done["deleted"] and done["deleted_remote"]
    assert git(repos.work, "branch", "--list", "hotfix/*") == ""
    assert remote_branches(repos, "hotfix") == ""
    assert repos.branch() == "main" and repos.status() == ""
    # The same approval is the production deploy's: the plan of main finds it.
    plan = json.loads(repos.wave("plan", "--env", "production", "--json").stdout)
    assert plan["release"]["commit"] == approved
    assert [s["satisfied"] for s in plan["steps"] if s["step"] == "approve"] == [True]


def test_an_approval_covers_only_the_commit_it_names(repos: Repos) -> None:
    assert repos.wave("hotfix", "start", "pay").returncode == 0
    fix = repos.work_commit({"app.txt": "app v1, payments fixed\n"})
    args = approve_command(one_error_line(repos.wave("hotfix", "finish", "pay", "--no-deploy")))
    first = args[args.index("--commit") + 1]
    assert repos.wave(*args, "--by", "lead").returncode == 0
    moved = repos.commit("main", {"main.txt": "main moved on\n"})  # what would ship changed

    proc = repos.wave("hotfix", "finish", "pay", "--no-deploy")

    assert proc.returncode == 4, proc.stderr
    args = approve_command(one_error_line(proc))
    second = args[args.index("--commit") + 1]
    assert second != first
    assert repos.parents(second, repos.work) == [moved, fix]
    assert repos.remote_rev("main") == moved


def test_backport_conflict_keeps_the_production_fix_and_says_what_to_do(repos: Repos) -> None:
    develop_before = repos.commit("develop", {"app.txt": "app v2 (develop)\n"})
    repo = Repository(repos.work)
    repo.hotfix_start("crash")
    fix = repos.work_commit({"app.txt": "app v1, crash fixed\n"})
    deployed: list[str] = []

    with pytest.raises(HotfixIncomplete) as caught:
        repo.hotfix_finish(
            "crash", validate=lambda: True, approve=approval_of, deploy=deployed.append
        )

    error = caught.value
    message = str(error)
    assert error.exit_code == 1
    assert "\n" not in message
    assert "does not merge cleanly into develop: conflicts in app.txt" in message
    assert "git checkout develop" in message and "git merge --no-ff hotfix/crash" in message
    assert "git push origin develop" in message
    # The production fix stays: merged, pushed and deployed.
    assert deployed == [repos.remote_rev("main")]
    assert fix in repos.parents(repos.remote_rev("main"))
    assert error.result is not None and error.result.deployed
    # develop is untouched, here and on the remote; the branch is kept for the backport.
    assert repos.remote_rev("develop") == develop_before
    assert repos.status() == "" and repos.branch() == "hotfix/crash"


def test_deploy_refused_then_finished_by_running_again(repos: Repos) -> None:
    repo = Repository(repos.work)
    repo.hotfix_start("pay")
    fix = repos.work_commit({"app.txt": "app v1, payments fixed\n"})
    develop_before = repos.remote_rev("develop")

    def refused(commit: str) -> None:
        raise ApprovalRequired("deploy to production needs L1", command="wave approve …")

    with pytest.raises(HotfixIncomplete) as caught:
        repo.hotfix_finish("pay", validate=lambda: True, approve=approval_of, deploy=refused)
    assert caught.value.exit_code == 4  # the cause's
    assert "the deploy failed: deploy to production needs L1" in str(caught.value)
    assert "wave hotfix finish pay" in str(caught.value)
    merged = repos.remote_rev("main")
    assert fix in repos.parents(merged)
    assert repos.remote_rev("develop") == develop_before
    assert repos.branch() == "hotfix/pay"  # kept: the rerun needs it

    # main has the fix: no second check, approval or merge; the deploy asks its own.
    deployed: list[str] = []
    done = repo.hotfix_finish("pay", validate=never, approve=never, deploy=deployed.append)
    assert not done.merged and not done.checked and deployed == [merged] == [done.commit]
    assert repos.remote_rev("main") == merged
    assert fix in repos.parents(repos.remote_rev("develop"))
    assert done.deleted and repos.branch() == "main"


def test_hotfix_conflicting_with_main_restores_everything(repos: Repos) -> None:
    repo = Repository(repos.work)
    repo.hotfix_start("late")
    repos.work_commit({"app.txt": "hotfix version\n"})
    repos.commit("main", {"app.txt": "main moved on\n"})
    main_remote = repos.remote_rev("main")
    local_main = repos.local("main")
    head = repos.head()

    with pytest.raises(MergeConflict) as caught:
        repo.hotfix_finish("late", validate=never, approve=never, deploy=never)
    assert caught.value.files == ["app.txt"]
    assert repos.remote_rev("main") == main_remote and repos.local("main") == local_main
    assert repos.branch() == "hotfix/late" and repos.head() == head and repos.status() == ""


def test_library_validation_failure_is_a_gate_error_and_moves_nothing(repos: Repos) -> None:
    repo = Repository(repos.work)
    repo.hotfix_start("quick")
    head = repos.work_commit({"app.txt": "app v1, quick\n"})
    main_before = repos.remote_rev("main")

    with pytest.raises(GateError) as caught:
        repo.hotfix_finish("quick", validate=lambda: False, approve=never, deploy=never)
    assert "nothing was merged into main" in str(caught.value)
    assert repos.remote_rev("main") == main_before == repos.local("main")
    assert repos.branch() == "hotfix/quick" and repos.head() == head


def test_hotfix_start_refuses_an_existing_branch(repos: Repos) -> None:
    proc = repos.wave("hotfix", "start", "cli-fix", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["branch"] == "hotfix/cli-fix"
    text = repos.wave("hotfix", "start", "cli-fix")
    assert text.returncode == 1
    assert "hotfix/cli-fix already exists" in one_error_line(text)


# -- revert --------------------------------------------------------------------------------


def tree(repos: Repos, commit: str) -> str:
    return git(repos.remote, "rev-parse", f"{commit}^{{tree}}")


def test_revert_of_a_range_reverts_each_commit_newest_first(repos: Repos) -> None:
    initial = repos.remote_rev("main")
    commits = [
        repos.commit("main", {"a.txt": "a\n"}),
        repos.commit("main", {"b.txt": "b\n"}),
        repos.commit("main", {"app.txt": "app v1.1\n"}),
    ]
    # The work clone's main is three commits behind: HEAD is read on main as the remote
    # has it, as `git pull && git revert HEAD~3..HEAD` would.
    assert repos.local("main") == initial

    proc = repos.wave("revert", "HEAD~3..HEAD", "--json")

    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    reverts = result["reverts"]
    assert [r["reverted"] for r in reverts] == commits[::-1]
    assert [r["mainline"] for r in reverts] == [None, None, None]
    # One revert commit per commit, in a line on main, pushed.
    assert repos.parents(reverts[0]["commit"]) == [commits[-1]]
    assert repos.parents(reverts[1]["commit"]) == [reverts[0]["commit"]]
    assert repos.parents(reverts[2]["commit"]) == [reverts[1]["commit"]]
    assert result["before"] == commits[-1] and result["pushed"] is True
    assert repos.remote_rev("main") == result["commit"] == reverts[2]["commit"]
    # The files are as before the three commits.
    assert tree(repos, result["commit"]) == tree(repos, initial)
    assert not (repos.work / "a.txt").exists() and not (repos.work / "b.txt").exists()
    assert (repos.work / "app.txt").read_text() == "app v1\n"
    assert repos.branch() == "main" and repos.status() == ""


def test_revert_of_a_range_with_a_merge_commit_uses_its_first_parent(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    merged = Repository(repos.work).merge(branches=["backend"])  # leaves the work tree on main
    later = repos.work_commit({"app.txt": "app v1.1\n"})
    git(repos.work, "push", "--quiet", "origin", "main")

    result = Repository(repos.work).revert("HEAD~2..HEAD", push=False)

    # First parents only: the merge is reverted as a whole (-m 1), not backend's commit.
    assert [r.reverted for r in result.reverts] == [later, merged.after]
    assert [r.mainline for r in result.reverts] == [None, 1]
    assert git(repos.work, "rev-parse", "HEAD^{tree}") == tree(repos, merged.before)
    assert not result.pushed and repos.remote_rev("main") == later


def test_a_conflict_in_a_range_undoes_every_revert_and_pushes_nothing(repos: Repos) -> None:
    repos.commit("main", {"app.txt": "app v2\n"})
    repos.commit("main", {"b.txt": "b\n"})
    last = repos.commit("main", {"app.txt": "app v3\n"})
    git(repos.work, "pull", "--quiet", "--ff-only")

    # HEAD~3..HEAD~1: b.txt's commit reverts cleanly, then app v2's conflicts with v3.
    with pytest.raises(MergeConflict) as caught:
        Repository(repos.work).revert("HEAD~3..HEAD~1")

    assert caught.value.files == ["app.txt"]
    assert repos.local("main") == last == repos.remote_rev("main")
    assert repos.status() == "" and (repos.work / "b.txt").exists()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("HEAD~1...HEAD", "is a symmetric range"),
        ("HEAD..HEAD~1", "names no commits"),
        ("HEAD~1..", "leaves out an end of the range"),
        ("nosuch..HEAD", "'nosuch' names no commit here"),
    ],
)
def test_unusable_ranges_are_refused_and_change_nothing(repos: Repos, spec: str, says: str) -> None:
    head = repos.commit("main", {"a.txt": "a\n"})
    git(repos.work, "pull", "--quiet", "--ff-only")
    proc = repos.wave("revert", spec)
    assert proc.returncode == 2, proc.stderr
    assert says in one_error_line(proc)
    assert repos.head() == head == repos.remote_rev("main")


def test_revert_of_a_merge_commit_pushes_a_revert(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    merged = Repository(repos.work).merge(branches=["backend"])
    git(repos.work, "checkout", "--quiet", "develop")

    proc = repos.wave("revert", merged.after, "--json")

    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    [revert] = result["reverts"]
    assert revert["mainline"] == 1 and result["pushed"] is True
    assert repos.remote_rev("main") == result["commit"] == revert["commit"]
    assert repos.parents(result["commit"]) == [merged.after]
    # The tree is main's before the merge: the backend change is gone.
    assert tree(repos, result["commit"]) == tree(repos, merged.before)
    assert repos.branch() == "main" and not (repos.work / "backend.txt").exists()


def test_revert_of_a_plain_commit_without_push(repos: Repos) -> None:
    change = repos.commit("main", {"app.txt": "app v1.1\n"})
    result = Repository(repos.work).revert(change, push=False)
    assert [r.mainline for r in result.reverts] == [None] and not result.pushed
    assert repos.remote_rev("main") == change
    assert repos.parents(result.commit, repos.work) == [change]
    assert (repos.work / "app.txt").read_text() == "app v1\n"


def test_revert_of_a_commit_not_on_main_changes_nothing(repos: Repos) -> None:
    other = repos.commit("backend", {"backend.txt": "api v2\n"})
    git(repos.work, "fetch", "--quiet", "origin")
    head = repos.head()
    proc = repos.wave("revert", other)
    assert proc.returncode == 2
    assert "is not on main" in one_error_line(proc)
    assert repos.head() == head and repos.remote_rev("main") == head
