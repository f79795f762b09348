"""The secret corpus: awkward secret values reach the app and no output or file of wave's.

Each value of :data:`CORPUS` is exported as ``WAVE_S_<NAME>`` and used, through ``${VAR}``,
in the environment of a ``local`` target and in the query of a health endpoint; a check
command and the smoke test print every value, a failing check and a release that crashes
at start print them into an error message, and some are pasted into a ``--reason`` and an
``--env``. Every ``wave`` command that touches the project runs with and without
``--json``. Then stdout, stderr and every file under the project are searched for each
value: raw, JSON-escaped (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``) and URL-encoded. Zero hits.

Not searched, with the reason:

* the app's own logs (``.wave/local/<target>/logs``): they are the app's stdout, written by
  the app straight into the file (it outlives wave, so wave cannot filter it). The app
  here prints the values and logs its requests (the secret query, URL-encoded): the test
  asserts the files are mode 600 in a mode 700 directory instead;
* the 1-character value: one letter occurs in any text, so no masking can hide it in free
  text (command output) without garbling everything, and a search for it means nothing.
  Wave masks only values of at least :data:`wave_sdk.secrets.MIN_LENGTH` characters and
  ``config validate`` warns about shorter ones; the test checks the warning, that the
  value reaches the app, and that wave's own fields never show it.

The git procedures (merge, hotfix, revert) are not run: they need a repository with a
remote, and print git's output, which passes :func:`wave_sdk.secrets.redact` where it is
read (``wave_sdk/git/command.py``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from projects import Project, toml_value

from wave_sdk import secrets

CORPUS = {
    "QUOTE": 'T2-QU"OTE-5150',
    "BACKSLASH": "T2-BACK\\SLASH-5150",
    "APOSTROPHE": "T2-it's-5150",
    "DOLLAR": "T2-$HOME-$$-${X}-5150",
    "PERCENT": "T2-100%-%41%zz-5150",
    "SPACES": "T2 with  spaces 5150",
    "NEWLINE": "T2-first-line\nsecond-line-5150",
    "NON_ASCII": "T2-pässwörd-密码-🔑-5150",
    "SHORT": "Q",
    "BIG": "T2-BIG-" + "".join(chr(0x21 + (i * 7) % 94) for i in range(4096)).replace("#", "~"),
}
"""The values. BIG is 4 KB of printable ASCII (quotes and backslashes included; no ``#``,
which would end the query of a URL)."""

NOT_IN_URL = {
    "NEWLINE": "a URL cannot carry a raw newline: the value would have to be percent-encoded "
    "in the variable, and would then be another value",
}
"""Values that cannot be placed in a health URL's query, and why."""

SHORT = {name for name, value in CORPUS.items() if len(value) < secrets.MIN_LENGTH}

ENV = "development"
GATED = "staging"  # its failing check refuses every deploy: the check output is an error

PRINT = (
    "import os\n"
    "for name in sorted(os.environ):\n"
    "    if name.startswith('WAVE_S_'):\n"
    "        print(name, '=', os.environ[name], flush=True)\n"
)

PRINT_AND_FAIL = PRINT + "raise SystemExit(1)\n"
SMOKE = PRINT + "if os.environ['WAVE_RELEASE'] == 'v3':\n    raise SystemExit(1)\n"
"""The smoke test prints every value, and fails for release v3: its output is an error."""

CRASH = """\
import os, sys
print("starting with", *(os.environ[k] for k in sorted(os.environ) if k.startswith("S_")))
sys.exit(1)
"""


def variants(value: str) -> set[str]:
    """The forms a value takes in text: raw, JSON-escaped, URL-encoded."""
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        urllib.parse.quote(value),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
    }


@pytest.fixture
def corpus_project(project: Project) -> Iterator[Project]:
    python = sys.executable
    targets_env = {f"S_{name}": f"${{WAVE_S_{name}}}" for name in CORPUS}
    endpoints = "".join(
        f'\n[[health.endpoints]]\npath = "/api/health?s=${{WAVE_S_{name}}}"\n'
        for name in CORPUS
        if name not in NOT_IN_URL
    )
    project.write(
        f"""
[project]
name = "corpus"

[environments.{ENV}]
target = "web"
checks = ["echo"]
smoke = {toml_value([python, "-c", SMOKE])}

[environments.{GATED}]
target = "web"
checks = ["echo", "fail"]

[checks.echo]
command = {toml_value([python, "-c", PRINT])}

[checks.fail]
command = {toml_value([python, "-c", PRINT_AND_FAIL])}

{project.local_target(env=targets_env, keep=5, stop_timeout=5)}

[health]
interval = 0.1
consecutive = 1
retries = 3
deadline = 20
timeout = 3
{endpoints}
"""
    )
    for release in ("v1", "v2", "v3"):
        project.release(release)
    crash = project.root / "src" / "crash"
    crash.mkdir(parents=True)
    (crash / "server.py").write_text(CRASH)
    yield project


def test_no_secret_of_the_corpus_in_any_output_or_file(corpus_project: Project) -> None:
    project = corpus_project
    environ = {f"WAVE_S_{name}": value for name, value in CORPUS.items()}
    environ["WAVE_DEPLOYER"] = "corpus-test"
    outputs: list[tuple[str, str]] = []

    def run(
        *args: str, expect: int | tuple[int, ...] = 0, modes: tuple[bool, ...] = (False, True)
    ) -> subprocess.CompletedProcess[str]:
        """``wave ARGS``, then ``wave ARGS --json`` (``modes``: which of the two)."""
        for as_json in modes:
            flags = ["--json"] if as_json else []
            proc = project.cli(*args, *flags, env=environ)
            shown = f"wave {' '.join([*args, *flags])[:200]}"
            outputs.extend([(f"{shown} (stdout)", proc.stdout), (f"{shown} (stderr)", proc.stderr)])
            codes = expect if isinstance(expect, tuple) else (expect,)
            assert proc.returncode in codes, (
                f"{shown}: {proc.returncode}\n{proc.stdout}{proc.stderr}"
            )
            assert "Traceback" not in proc.stderr, proc.stderr
            if flags:
                json.loads(proc.stdout)  # one JSON document, even for an error
        return proc

    def deploy(
        env: str, release: str, **kw: int | tuple[int, ...]
    ) -> subprocess.CompletedProcess[str]:
        source = project.root / "src" / release
        return run("deploy", "--env", env, "--release", release, "--source", str(source), **kw)

    validated = run("config", "validate")
    for name in SHORT:
        assert f"WAVE_S_{name}" in validated.stdout + validated.stderr  # the warning
    run("config", "show")
    run("plan", "--env", ENV, "--release", "v1", "--source", str(project.root / "src" / "v1"))
    run("check", "--env", ENV)
    failed = run("check", "--env", GATED, expect=3)  # the failing check prints every value
    assert "WAVE_S_QUOTE = ***" in failed.stdout
    run("approve", "--env", GATED, "--level", "L3")
    deploy(ENV, "v1")
    deploy(ENV, "v2")
    crashed = deploy(ENV, "crash", expect=6)  # exits at start, its output in the message
    assert "last log lines: starting with ***" in crashed.stdout
    smoked = deploy(ENV, "v3", expect=7)  # the smoke test fails, its output in the message
    assert "WAVE_S_QUOTE = ***" in smoked.stdout + smoked.stderr
    deploy(GATED, "v1", expect=3)
    run("status")
    run("health", "--env", ENV)
    run("history")
    run("rollback", "--env", ENV, "--plan")
    reason = "rotating " + CORPUS["QUOTE"] + " and " + CORPUS["NON_ASCII"]
    run("rollback", "--env", ENV, "--to", "v1", "--reason", reason, modes=(False,))
    run("rollback", "--env", ENV, "--to", "v2", "--reason", reason, modes=(True,))
    run("recover", "--env", ENV)
    run("lock", "--env", ENV)
    run("unlock", "--env", ENV, "--force", "--reason", reason + " " + CORPUS["BACKSLASH"])
    for name, value in CORPUS.items():  # an unknown environment named by the secret
        if name not in SHORT:
            run("status", "--env", value, expect=2)
    run("history")

    # The commands did what they say: the app got every value, history has every run.
    pid = json.loads((project.root / ".wave/local/web/app.pid").read_text())["pid"]
    delivered = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    for name, value in CORPUS.items():
        assert f"S_{name}={value}".encode() in delivered, name
    history = [json.loads(line) for line in (project.root / ".wave/state/history.jsonl").open()]
    kinds = [(h["kind"], h["outcome"]) for h in history]
    assert kinds.count(("deploy", "succeeded")) == 4, kinds  # v1, v2: each twice
    assert ("rollback", "succeeded") in kinds and ("unlock", "recorded") in kinds, kinds
    report = json.loads(project.cli("--json", "health", "--env", ENV, env=environ).stdout)
    probed = [r["name"] for r in report["targets"]["web"] if r["source"] == "http"]
    assert len(probed) == len(CORPUS) - len(NOT_IN_URL)
    assert all(name == "/api/health?***" for name in probed), probed

    # The app's logs hold what the app printed: readable by the owner only.
    logs = project.root / ".wave/local/web/logs"
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    app_logs = sorted(logs.iterdir())
    assert {p.stem for p in app_logs} == {"v1", "v2", "v3", "crash"}
    for log in app_logs:
        assert stat.S_IMODE(log.stat().st_mode) == 0o600, log
    assert CORPUS["QUOTE"] in (logs / "crash.log").read_text()  # what they hold is real

    files = [
        p
        for p in project.root.rglob("*")
        if p.is_file() and not p.is_symlink() and logs not in p.parents
    ]
    assert len(files) > 15
    texts = [(str(p.relative_to(project.root)), p.read_text(errors="replace")) for p in files]
    hits = [
        f"{name} ({form!r:.40}) in {where}"
        for name, value in CORPUS.items()
        if name not in SHORT
        for form in variants(value)
        for where, text in [*outputs, *texts]
        if form in text
    ]
    assert hits == []

    # Short values: never in a field of wave's own, whole (what can be checked of them).
    for name in SHORT:
        value = CORPUS[name]
        for where, text in [*outputs, *texts]:
            for document in _json_documents(text):
                assert value not in _strings(document), f"{name} in {where}"


def _json_documents(text: str) -> Iterator[object]:
    """``text`` as one JSON document, or as JSON lines; nothing for other text."""
    try:
        yield json.loads(text)
        return
    except ValueError:
        pass
    for line in text.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def test_mode_of_files_that_hold_app_output(corpus_project: Project) -> None:
    """Covered above; kept apart so that a umask of 0 cannot hide a missing chmod."""
    old = os.umask(0)
    try:
        proc = corpus_project.cli(
            "deploy",
            "--env",
            ENV,
            "--release",
            "v1",
            "--source",
            str(corpus_project.root / "src" / "v1"),
            env={f"WAVE_S_{n}": v for n, v in CORPUS.items()},
        )
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = corpus_project.root / ".wave"
    for directory in (root / "state", root / "local/web/logs"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for file in (root / "state/history.jsonl", root / "local/web/logs/v1.log"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
