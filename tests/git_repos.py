"""Real repositories for the git procedures' tests: a bare remote, a seed clone that plays
the other developers, and a work clone where wave runs (its project: ``WAVE_TOML``, whose
``tree`` check fails when a file named ``BROKEN`` is in the tree and writes what it saw to
``.seen``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from wave_sdk.testing import run_wave

WAVE = str(Path(sys.executable).parent / "wave")

CHECK_TREE = """\
import pathlib, sys
names = sorted(p.name for p in pathlib.Path(".").iterdir() if p.is_file())
pathlib.Path(".seen").write_text(" ".join(names))
sys.exit(1 if "BROKEN" in names else 0)
"""

WAVE_TOML = f"""\
[project]
name = "gitdemo"

[environments.production]
branch = "main"
target = "web"
checks = ["tree"]

[environments.staging]
branch = "develop"
target = "web"

[targets.web]
adapter = "local"
command = ["python3", "server.py"]
port = 3999

[checks.tree]
command = [{json.dumps(sys.executable)}, "check_tree.py"]

[git]
merge_order = ["backend", "frontend"]
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def identify(clone: Path, name: str) -> None:
    git(clone, "config", "user.name", name)
    git(clone, "config", "user.email", f"{name}@example.invalid")


@dataclass
class Repos:
    remote: Path
    seed: Path
    work: Path

    def commit(self, branch: str, files: dict[str, str], *, start: str = "main") -> str:
        """As another developer: commit ``files`` on ``branch`` (made from ``start``), push."""
        if git(self.seed, "branch", "--list", branch):
            git(self.seed, "checkout", "--quiet", branch)
        else:
            git(self.seed, "checkout", "--quiet", "-b", branch, f"origin/{start}")
        for name, text in files.items():
            (self.seed / name).write_text(text)
        git(self.seed, "add", *files)
        git(self.seed, "commit", "--quiet", "-m", f"{branch}: {', '.join(files)}")
        git(self.seed, "push", "--quiet", "origin", branch)
        git(self.seed, "fetch", "--quiet", "origin")
        return git(self.seed, "rev-parse", "HEAD")

    def work_commit(self, files: dict[str, str], message: str = "fix") -> str:
        for name, text in files.items():
            (self.work / name).write_text(text)
        git(self.work, "add", *files)
        git(self.work, "commit", "--quiet", "-m", message)
        return git(self.work, "rev-parse", "HEAD")

    def remote_rev(self, branch: str) -> str:
        return git(self.remote, "rev-parse", f"refs/heads/{branch}")

    def parents(self, commit: str, cwd: Path | None = None) -> list[str]:
        return git(cwd or self.remote, "rev-list", "--parents", "-n", "1", commit).split()[1:]

    def branch(self) -> str:
        return git(self.work, "symbolic-ref", "--short", "HEAD")

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def local(self, branch: str) -> str:
        return git(self.work, "rev-parse", f"refs/heads/{branch}")

    def status(self) -> str:
        return git(self.work, "status", "--porcelain")

    def wave(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_wave(*args, cwd=self.work, env={"WAVE_DEPLOYER": "git-test"})


def make_repos(tmp_path: Path) -> Repos:
    """A remote with main and develop at one initial commit, and the two clones."""
    remote, seed, work = tmp_path / "remote.git", tmp_path / "seed", tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(tmp_path, "clone", "--quiet", str(remote), str(seed))
    identify(seed, "seed")
    git(seed, "checkout", "--quiet", "-b", "main")
    files = {
        "wave.toml": WAVE_TOML,
        "check_tree.py": CHECK_TREE,
        ".gitignore": ".seen\n.wave/\n.claude/\n",
        "app.txt": "app v1\n",
        "shared.txt": "shared\nbase\n",
        "settings.txt": "settings\nbase\n",
    }
    for name, text in files.items():
        (seed / name).write_text(text)
    git(seed, "add", *files)
    git(seed, "commit", "--quiet", "-m", "initial")
    git(seed, "push", "--quiet", "origin", "main")
    git(seed, "push", "--quiet", "origin", "main:develop")
    git(seed, "fetch", "--quiet", "origin")
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    identify(work, "dana")
    return Repos(remote=remote, seed=seed, work=work)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("wave: error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]
