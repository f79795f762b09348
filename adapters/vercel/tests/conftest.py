"""Fixtures of the Vercel tests: the fake API checked against the spec, and the vercel CLI.

``scripts/install-test-deps`` (``make deps``) installs vercel 60.1.3 and @vercel/sdk 1.16.1
(which ships the spec) into ``.venv/vercel`` (``WAVE_VERCEL_PREFIX`` overrides it).
Without them the tests that need them skip with the reason — and fail under
``WAVE_REQUIRE_REAL=1``, as CI runs them.

* ``fake`` — a started :class:`FakeVercel` (token ``t``) with one project,
  ``fake.project``; every answer is checked against the spec, and the test fails at
  teardown if any broke it.
* ``vercel`` — ``vercel("deploy", "--prebuilt", "--prod", cwd=d)``: the real CLI pointed at
  ``fake`` (``--api``, ``--token``), with its own HOME, the project linked through
  ``.vercel/project.json``, telemetry and update checks off; run through
  :func:`wave_sdk.procs.run` (its own process group, ended with the step).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from vercel_kit import TOKEN, Fake, RunVercel, node_prefix
from vercel_spec import SPEC_IN_PACKAGE, SpecCheck
from wave_sdk_vercel.fake.routes import OWNER

from wave_sdk import procs
from wave_sdk.testing import missing, require_binary


@pytest.fixture(scope="session")
def spec_path() -> Path:
    path = node_prefix() / SPEC_IN_PACKAGE
    if not path.is_file():
        missing("@vercel/sdk", f"no {path}: run make deps (scripts/install-test-deps)")
    return path


@pytest.fixture(scope="session")
def spec_check(spec_path: Path) -> SpecCheck:
    """One parsed spec for the session (4 MB of JSON); violations are reset per test."""
    return SpecCheck(spec_path)


@pytest.fixture
def fake(spec_check: SpecCheck) -> Iterator[Fake]:
    spec_check.violations = []
    server = Fake(token=TOKEN, observer=spec_check, queue_delay=0.05, build_delay=0.2)
    server.check = spec_check
    with server:
        server.project = server.add_project("wave-site")
        yield server
    assert spec_check.violations == [], "the fake answered against the spec"


@pytest.fixture(scope="session")
def vercel_bin() -> str:
    require_binary("node")
    path = node_prefix() / "node_modules" / ".bin" / "vercel"
    if not path.exists():
        missing("vercel", f"no {path}: run make deps (scripts/install-test-deps)")
    return str(path)


@pytest.fixture
def vercel(vercel_bin: str, fake: Fake, tmp_path: Path) -> RunVercel:
    home = tmp_path / "vercel-home"
    home.mkdir()

    def run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        link = cwd / ".vercel" / "project.json"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(json.dumps({"orgId": OWNER, "projectId": fake.project.id}))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "VERCEL_TELEMETRY_DISABLED": "1",
            "NO_UPDATE_NOTIFIER": "1",
            "CI": "1",
        }
        command = [vercel_bin, *args, "--api", fake.url, "--token", TOKEN, "--yes"]
        done = procs.run(command, timeout=timeout, cwd=cwd, env=env, merge_stderr=True)
        sys.stdout.write(done.stdout)  # shown by pytest when the test fails
        if done.timed_out:
            pytest.fail(f"vercel {' '.join(args)} did not end in {timeout}s:\n{done.stdout}")
        return subprocess.CompletedProcess(command, done.returncode, done.stdout, "")

    return run


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """A list expected empty (spec violations, paths served wrongly) in full, one a line."""
    if op == "==" and right == [] and isinstance(left, list) and left:
        return [f"{len(left)} unexpected:", *sorted({str(v) for v in left})]
    return None
