"""``wave deploy --auto``: a push deploys where its branch goes, and nowhere else.

Run as a CI job runs it (the ``wave`` command in a real git repository, the CI service's
variables set or not), judged by which app answers on each environment's port and what
history records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from projects import HEALTH_FAST, Project, commit_all, git

from wave_sdk.autodeploy import CI_BRANCH_VARIABLES
from wave_sdk.testing import free_port, run_wave
from wave_sdk.testing.healthapp import write_app
from wave_sdk.testing.served import served_release

CI_VARIABLES = (*CI_BRANCH_VARIABLES, "GITHUB_ACTIONS", "GITHUB_REF", "GITHUB_REF_NAME")
"""Unset in every run: these tests may themselves run in a CI job."""


class Pipeline:
    """development ← develop (auto), staging ← release/* (auto), production ← main."""

    def __init__(self, project: Project, production_auto: bool = False) -> None:
        self.project = project
        self.ports = {name: free_port() for name in ("development", "staging", "production")}
        targets = "\n".join(
            project.local_target(name, port=port, source="app") for name, port in self.ports.items()
        )
        project.write(f"""
[environments.development]
branch = "develop"
auto_deploy = true
target = "development"

[environments.staging]
branch = "release/*"
auto_deploy = true
target = "staging"

[environments.production]
branch = "main"
auto_deploy = {str(production_auto).lower()}
target = "production"

{targets}
{HEALTH_FAST}
""")
        write_app(project.root / "app", "v1")
        git(project.root, "init", "-q", "-b", "develop")
        self.head = commit_all(project.root, "v1")

    def wave(self, *args: str, **ci: str) -> subprocess.CompletedProcess[str]:
        return run_wave(*args, cwd=self.project.root, env=ci, unset=CI_VARIABLES)

    def serving(self) -> dict[str, str | None]:
        return {
            name: served_release(f"http://127.0.0.1:{port}/") for name, port in self.ports.items()
        }


def test_a_push_to_develop_deploys_development_only(project: Project) -> None:
    pipeline = Pipeline(project)
    done = pipeline.wave("deploy", "--auto", "--json")
    assert done.returncode == 0, done.stderr
    assert pipeline.serving() == {"development": "v1", "staging": None, "production": None}
    result = json.loads(done.stdout)
    assert (result["branch"], result["branch_from"]) == ("develop", "git")
    [deployed] = result["deployed"]
    assert (deployed["environment"], deployed["release"]) == ("development", pipeline.head[:12])
    assert {s["environment"]: s["reason"] for s in result["skipped"]} == {
        "staging": "its branch is release/*, not develop",
        "production": "its branch is main, not develop",
    }


def test_the_ci_services_variables_name_the_branch_and_approvals_still_hold(
    project: Project,
) -> None:
    """GitHub's ``release/1.2`` push goes to staging, which still needs its L3 approval."""
    pipeline = Pipeline(project)
    git(project.root, "branch", "release/1.2")  # what the runner checked out, detached
    git(project.root, "checkout", "-q", "--detach", "release/1.2")
    github = {"GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch"}
    refused = pipeline.wave("deploy", "--auto", GITHUB_REF_NAME="release/1.2", **github)
    assert refused.returncode == 4, refused.stderr
    assert "approval" in refused.stderr
    assert pipeline.serving() == {"development": None, "staging": None, "production": None}

    approved = pipeline.wave("approve", "--env", "staging", "--level", "L3", "--by", "pm")
    assert approved.returncode == 0, approved.stderr
    done = pipeline.wave("deploy", "--auto", GITHUB_REF_NAME="release/1.2", **github)
    assert done.returncode == 0, done.stderr
    assert f"deployed {pipeline.head[:12]} to staging" in done.stdout
    assert pipeline.serving() == {"development": None, "staging": "v1", "production": None}

    gitlab = pipeline.wave("deploy", "--auto", "--dry-run", CI_COMMIT_BRANCH="main")
    assert gitlab.returncode == 0, gitlab.stderr
    assert "a push to main deploys nowhere" in gitlab.stdout
    assert "not production: auto_deploy is off (branch main)" in gitlab.stdout

    tag = pipeline.wave(
        "deploy",
        "--auto",
        GITHUB_REF="refs/tags/v1",
        GITHUB_REF_TYPE="tag",
        GITHUB_ACTIONS="true",
        GITHUB_REF_NAME="v1",
    )
    assert tag.returncode == 2
    assert "refs/tags/v1, not a branch push" in tag.stderr


def test_a_failed_auto_deploy_keeps_its_report_in_the_json(project: Project) -> None:
    """The CI artefact of a push whose release fails verification says what happened."""
    pipeline = Pipeline(project)
    assert pipeline.wave("deploy", "--auto").returncode == 0
    write_app(project.root / "app", "v2", failing=["/api/health"])
    head = commit_all(project.root, "v2")

    done = pipeline.wave("deploy", "--auto", "--json")
    assert done.returncode == 7, done.stderr
    result = json.loads(done.stdout)
    assert (result["error"], result["exit_code"]) == ("VerificationFailed", 7)
    report = result["report"]
    assert (report["environment"], report["release"]) == ("development", head[:12])
    assert report["outcome"] == "rolled_back"
    assert report["health"], "the failed health rounds are in the report"
    assert pipeline.serving()["development"] == "v1"


def test_a_push_elsewhere_deploys_nowhere_and_says_so(project: Project) -> None:
    pipeline = Pipeline(project)
    done = pipeline.wave("deploy", "--auto", "--branch", "feature/search")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "a push to feature/search deploys nowhere"
    assert pipeline.serving() == {"development": None, "staging": None, "production": None}
    history = pipeline.wave("history", "--json")
    assert json.loads(history.stdout) == []
    git(project.root, "checkout", "-q", "--detach")
    detached = pipeline.wave("deploy", "--auto")
    assert detached.returncode == 2
    assert "pass --branch NAME" in detached.stderr


@pytest.mark.parametrize(
    ("production_auto", "branchless", "words"),
    [
        (True, False, "a deploy to production needs an L1 approval, which a push cannot give"),
        (False, True, "auto_deploy needs the branch whose pushes deploy here"),
    ],
    ids=["L1", "no-branch"],
)
def test_what_cannot_auto_deploy_is_a_configuration_error(
    project: Project, production_auto: bool, branchless: bool, words: str
) -> None:
    Pipeline(project, production_auto=production_auto)
    if branchless:
        path = project.root / "wave.toml"
        path.write_text(path.read_text().replace('branch = "develop"\n', ""))
    done = run_wave("config", "validate", cwd=project.root, unset=CI_VARIABLES)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert words in line
    env = "production" if production_auto else "development"
    assert f"environments.{env}.auto_deploy" in line


def test_auto_and_a_named_environment_do_not_mix(project: Project) -> None:
    pipeline = Pipeline(project)
    both = pipeline.wave("deploy", "--auto", "--env", "staging")
    assert both.returncode == 2
    assert "--env does not go with it" in both.stderr
    neither = pipeline.wave("deploy")
    assert neither.returncode == 2
    assert "needs --env ENV (or --auto)" in neither.stderr
    assert pipeline.serving() == {"development": None, "staging": None, "production": None}


@pytest.mark.parametrize(
    ("section", "schema"),
    [("## GitHub Actions", "vendor.github-workflows"), ("## GitLab CI", "vendor.gitlab-ci")],
)
def test_the_ci_examples_are_valid_for_their_service(
    tmp_path: Path, section: str, schema: str
) -> None:
    """docs/ci.md's workflows pass the service's own schema and run `wave deploy --auto`."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text()
    block = text.split(section, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "wave deploy --auto --json > " in block
    assert "wave-deploy.json" in block.split("wave deploy --auto", 1)[1], "kept as an artefact"
    assert "wave-sdk-netlify" in block, "the example's target needs its adapter installed"
    example = tmp_path / "example.yml"
    example.write_text(block)
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(checker), "--builtin-schema", schema, str(example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
