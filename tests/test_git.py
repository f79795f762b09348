"""The runbook's git procedures on real repositories: a bare remote, a seed clone that plays
the other developers, and a work clone where wave runs.

Merge deployment (order, --no-ff, push; a conflicting branch, failing validation, a dirty
tree, a refused push — each leaving the repository as it was and the remote untouched),
and names that look like shell syntax. The hotfix and revert are in test_git_hotfix.py.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from git_repos import WAVE_TOML, Repos, git, identify, make_repos, one_error_line

from wave_sdk import procs
from wave_sdk.errors import DirtyWorkTree, GateError, GitError, MergeConflict, UsageError
from wave_sdk.git import Repository, changed_files, head_commit, name_problem
from wave_sdk.git import run as run_git


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return make_repos(tmp_path)


# -- merge deployment ----------------------------------------------------------------------


def test_merge_merges_in_order_with_no_ff_validates_and_pushes(repos: Repos) -> None:
    backend = repos.commit("backend", {"backend.txt": "api v2\n"})
    frontend = repos.commit("frontend", {"frontend.txt": "ui v2\n"})
    main_before = repos.remote_rev("main")

    proc = repos.wave("merge", "--env", "production", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)

    assert [m["branch"] for m in result["merged"]] == ["backend", "frontend"]
    assert [m["ref"] for m in result["merged"]] == ["origin/backend", "origin/frontend"]
    first, second = (m["commit"] for m in result["merged"])
    # Two merge commits, in order: main+backend, then that+frontend. --no-ff made both
    # (either branch alone would have fast-forwarded).
    assert repos.parents(first) == [main_before, backend]
    assert repos.parents(second) == [first, frontend]
    assert git(repos.remote, "log", "-1", "--format=%s", first) == "Merge backend into main"
    assert git(repos.remote, "log", "-1", "--format=%s", second) == "Merge frontend into main"
    # Pushed: the remote's main is the last merge.
    assert result["pushed"] is True
    assert repos.remote_rev("main") == second == result["after"]
    # Validation (the environment's check) ran on the merged tree.
    assert result["validated"] is True
    assert {"backend.txt", "frontend.txt"} <= set((repos.work / ".seen").read_text().split())
    # Left on main, ready for `wave deploy`.
    assert repos.branch() == "main"
    assert repos.status() == ""


def test_merge_text_output_and_no_push(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    main_before = repos.remote_rev("main")

    proc = repos.wave("merge", "--env", "production", "--branch", "backend", "--no-push")
    assert proc.returncode == 0, proc.stderr
    assert "backend: origin/backend" in proc.stdout
    assert "not pushed" in proc.stdout
    assert repos.remote_rev("main") == main_before
    assert repos.parents(repos.local("main"), repos.work) == [
        main_before,
        git(repos.work, "rev-parse", "origin/backend"),
    ]


def conflicting_branches(repos: Repos) -> None:
    repos.commit("backend", {"shared.txt": "shared\nbackend\n", "settings.txt": "settings\nB\n"})
    repos.commit("frontend", {"shared.txt": "shared\nfrontend\n", "settings.txt": "settings\nF\n"})


def test_conflicting_frontend_aborts_restores_and_pushes_nothing(repos: Repos) -> None:
    conflicting_branches(repos)
    git(repos.work, "checkout", "--quiet", "develop")  # the user is elsewhere
    head, main_local, main_remote = repos.head(), repos.local("main"), repos.remote_rev("main")

    proc = repos.wave("merge", "--env", "production")

    assert proc.returncode == 3
    line = one_error_line(proc)
    assert "frontend does not merge cleanly into main" in line
    assert "settings.txt" in line and "shared.txt" in line
    assert "nothing was pushed" in line
    assert repos.status() == ""
    assert repos.branch() == "develop" and repos.head() == head
    assert repos.local("main") == main_local  # backend's merge of this run is undone too
    assert repos.remote_rev("main") == main_remote
    assert not (repos.work / ".git" / "MERGE_HEAD").exists()
    # The backend merge did happen before the conflict, and was taken back.
    reflog = git(repos.work, "reflog", "show", "--format=%gs", "refs/heads/main")
    assert "merge refs/remotes/origin/backend" in reflog


def test_conflict_through_the_library_names_branch_and_files(repos: Repos) -> None:
    conflicting_branches(repos)
    repo = Repository(repos.work)
    with pytest.raises(MergeConflict) as caught:
        repo.merge(branches=["backend", "frontend"])
    assert caught.value.branch == "frontend"
    assert caught.value.files == ["settings.txt", "shared.txt"]
    assert caught.value.exit_code == 3
    assert repos.branch() == "main" and repos.status() == ""


def test_failing_validation_restores_and_pushes_nothing(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    repos.commit("frontend", {"BROKEN": "yes\n"})
    head, main_remote = repos.head(), repos.remote_rev("main")

    proc = repos.wave("merge", "--env", "production")

    assert proc.returncode == 3
    line = one_error_line(proc)
    assert "checks of production failed: tree" in line
    assert "nothing was pushed" in line
    assert "BROKEN" in (repos.work / ".seen").read_text()  # it did judge the merged tree
    assert repos.remote_rev("main") == main_remote
    assert repos.local("main") == head and repos.head() == head
    assert repos.status() == ""
    assert not (repos.work / "backend.txt").exists()


@pytest.mark.parametrize("outcome", ["false", "raise"])
def test_library_validation_failure_by_value_or_exception(repos: Repos, outcome: str) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    head, main_remote = repos.head(), repos.remote_rev("main")
    seen: list[bool] = []

    def validate() -> bool:
        seen.append((repos.work / "backend.txt").exists())
        if outcome == "raise":
            raise RuntimeError("smoke test failed")
        return False

    with pytest.raises(GateError) as caught:
        Repository(repos.work).merge(branches=["backend"], validate=validate)
    assert seen == [True]
    assert "validation failed after merging backend into main" in str(caught.value)
    if outcome == "raise":
        assert "RuntimeError: smoke test failed" in str(caught.value)
    assert repos.head() == head and repos.remote_rev("main") == main_remote
    assert repos.status() == ""


def test_dirty_work_tree_is_refused_before_anything(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    (repos.work / "app.txt").write_text("work in progress\n")
    head = repos.head()

    proc = repos.wave("merge", "--env", "production")

    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "uncommitted changes in app.txt" in line and "git stash" in line
    assert (repos.work / "app.txt").read_text() == "work in progress\n"
    assert repos.head() == head
    # Refused before fetching: the work clone has never heard of the backend branch.
    assert git(repos.work, "branch", "--all", "--list", "*backend*") == ""


def test_local_main_behind_is_brought_up_to_date_first(repos: Repos) -> None:
    newer = repos.commit("main", {"app.txt": "app v1.1\n"})
    backend = repos.commit("backend", {"backend.txt": "api v2\n"})
    result = Repository(repos.work).merge(branches=["backend"])
    assert result.before == newer
    assert repos.parents(result.after) == [newer, backend]


def test_unpushed_local_commits_on_main_are_refused(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    local = repos.work_commit({"app.txt": "local only\n"})
    with pytest.raises(GitError) as caught:
        Repository(repos.work).merge(branches=["backend"])
    assert "local main has 1 commit(s) that are not on origin/main" in str(caught.value)
    assert repos.local("main") == local and repos.status() == ""


def test_refused_push_undoes_the_merges(repos: Repos) -> None:
    repos.commit("backend", {"backend.txt": "api v2\n"})
    hook = repos.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    head, main_remote = repos.head(), repos.remote_rev("main")

    with pytest.raises(GitError) as caught:
        Repository(repos.work).merge(branches=["backend"])

    assert "origin refused the push of main" in str(caught.value)
    assert "main is frozen" in str(caught.value)
    assert repos.remote_rev("main") == main_remote
    assert repos.head() == head and repos.status() == ""


def test_merge_preview_names_conflicts_without_touching_anything(repos: Repos) -> None:
    conflicting_branches(repos)
    repo = Repository(repos.work)
    git(repos.work, "fetch", "--quiet", "origin")  # the preview fetches; nothing else may move
    head, refs = repos.head(), git(repos.work, "for-each-ref")
    assert repo.merge_preview(branches=["backend", "frontend"]) == {
        "frontend": ["settings.txt", "shared.txt"]
    }
    assert repo.merge_preview(branches=["backend"]) == {}
    assert repos.head() == head and repos.status() == ""
    assert git(repos.work, "for-each-ref") == refs


# -- names ---------------------------------------------------------------------------------

HOSTILE = ["x; touch pwned", "$(id)", "`touch pwned`", "a b", "../x", "x..y", "-x", "x.lock"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_hotfix_names_are_refused_and_nothing_is_created(
    repos: Repos, name: str, tmp_path: Path
) -> None:
    head = repos.head()
    proc = repos.wave("hotfix", "start", "--", name)
    assert proc.returncode == 2
    assert "is not usable" in one_error_line(proc)
    assert git(repos.work, "for-each-ref", "refs/heads/hotfix") == ""
    assert repos.head() == head
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize("name", ["x; touch pwned", "$(id)", "-x"])
def test_hostile_branch_names_are_refused(repos: Repos, name: str, tmp_path: Path) -> None:
    head = repos.head()
    proc = repos.wave("merge", "--env", "production", f"--branch={name}")
    assert proc.returncode == 2
    assert "branch name" in one_error_line(proc)
    assert repos.head() == head and not list(tmp_path.rglob("pwned"))
    with pytest.raises(UsageError):
        Repository(repos.work).hotfix_start(name)


def test_name_rule() -> None:
    for good in ("main", "feature/backend", "release-1.2", "v2_fix"):
        assert name_problem(good) is None, good
    for bad in (*HOSTILE, "", "a//b", "a/.b", "x/", "HEAD", "a@{1}", "a~1", "a:b"):
        assert name_problem(bad), bad


def test_bad_git_configuration_names_the_key(repos: Repos) -> None:
    toml = repos.work / "wave.toml"
    toml.write_text(toml.read_text().replace('"backend", "frontend"', '"backend", "$(id)"'))
    proc = repos.wave("config", "validate")
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "git.merge_order" in line and "'$(id)'" in line

    toml.write_text(WAVE_TOML + 'message = "Merge {branch} for {wave}"\n')
    proc = repos.wave("config", "validate")
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "git.message" in line and "unknown placeholder {wave}" in line


def test_dirty_tree_error_lists_files(repos: Repos) -> None:
    (repos.work / "app.txt").write_text("changed\n")
    git(repos.work, "add", "app.txt")
    (repos.work / "shared.txt").write_text("changed too\n")
    with pytest.raises(DirtyWorkTree) as caught:
        Repository(repos.work).revert("HEAD")
    assert caught.value.files == ["app.txt", "shared.txt"]


# -- the questions the pipeline asks (wave_sdk.git.command) ----------------------------


def test_head_commit_is_the_checked_out_commit_or_none(repos: Repos, tmp_path: Path) -> None:
    assert head_commit(repos.work) == repos.head()
    assert head_commit(repos.work / "sub-that-does-not-exist") is None
    plain = tmp_path / "plain"
    plain.mkdir()
    assert head_commit(plain) is None  # not a work tree
    git(plain, "init", "--quiet")
    assert head_commit(plain) is None  # a repository without a commit


def test_changed_files_are_relative_to_the_project(tmp_path: Path) -> None:
    # A project in a directory of a larger repository: paths as its configuration names
    # them, ../ for what changed outside it; a rename is a deletion and an addition.
    repo = tmp_path / "mono"
    project = repo / "app"
    (project / "config").mkdir(parents=True)
    git(repo, "init", "--quiet")
    identify(repo, "dev")
    (project / "main.py").write_text("v1\n")
    (project / "config" / "app.env").write_text("A=1\n")
    (repo / "shared.txt").write_text("v1\n")
    (project / "old.py").write_text("old\n")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "v1")
    first = git(repo, "rev-parse", "HEAD")
    (project / "config" / "app.env").write_text("A=2\n")
    (repo / "shared.txt").write_text("v2\n")
    git(repo, "mv", "app/old.py", "app/config/moved.py")
    git(repo, "commit", "--quiet", "-am", "v2")
    second = git(repo, "rev-parse", "HEAD")

    assert sorted(changed_files(project, first, second)) == [
        "../shared.txt",
        "config/app.env",
        "config/moved.py",
        "old.py",
    ]
    assert changed_files(project, first, second, paths=["config/"]) == [
        "config/app.env",
        "config/moved.py",
    ]
    # Going back to v1 deletes config/moved.py: without deletions, only what v1 adds back.
    assert sorted(changed_files(project, second, first, deleted=False)) == [
        "../shared.txt",
        "config/app.env",
        "old.py",
    ]
    assert changed_files(project, first, first) == []
    with pytest.raises(GitError, match=r"failed: fatal: bad object 0{40}"):
        changed_files(project, "0" * 40, second)


def one_commit(repo: Path) -> None:
    git(repo, "init", "--quiet")
    identify(repo, "dev")
    (repo / "a").write_text("a\n")
    git(repo, "add", "a")
    git(repo, "commit", "--quiet", "-m", "a")


def test_an_option_in_place_of_a_commit_is_never_taken_for_one(tmp_path: Path) -> None:
    one_commit(tmp_path)
    with pytest.raises(GitError):
        changed_files(tmp_path, f"--output={tmp_path / 'written'}", "HEAD")
    assert not (tmp_path / "written").exists()


def test_a_hook_s_background_child_does_not_outlive_the_git_command(tmp_path: Path) -> None:
    # git runs hooks as its children, in its process group: a hook that leaves a process
    # behind does not leave it running once wave's git command is done.
    one_commit(tmp_path)
    pid_file = tmp_path / "hook.pid"
    hook = tmp_path / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\nsleep 300 > /dev/null 2>&1 &\necho $! > {pid_file}\n")
    hook.chmod(0o755)

    run_git(tmp_path, "checkout", "--quiet", "-b", "other")

    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process_state(pid) not in (None, "Z", "X"):
        time.sleep(0.02)
    assert process_state(pid) in (None, "Z", "X"), "the hook's child survived"


def process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def test_a_hanging_hook_ends_at_the_timeout_with_its_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook that never returns: the git command fails at its timeout, nothing is left."""
    import psutil

    import wave_sdk.git.command

    one_commit(tmp_path)
    marker = f"wave-hung-hook-{time.monotonic_ns()}"
    hook = tmp_path / ".git" / "hooks" / "post-checkout"
    hook.write_text(
        f"#!/bin/sh\n{sys.executable} -c 'import time; time.sleep(300)' {marker} &\nsleep 300\n"
    )
    hook.chmod(0o755)
    monkeypatch.setattr(wave_sdk.git.command, "TIMEOUT_S", 1.0)

    started = time.monotonic()
    with pytest.raises(GitError) as info:
        run_git(tmp_path, "checkout", "--quiet", "-b", "other")
    assert time.monotonic() - started < 1.0 + procs.GRACE_S + 2
    assert "did not finish within 1s" in str(info.value)
    left = [
        p.pid
        for p in psutil.process_iter(["cmdline", "status"])
        if marker in (p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE
    ]
    assert left == [], "the hook's processes outlived the git command"
