"""Fixtures of the Netlify tests: the fake API checked against the spec, and netlify-cli.

``scripts/install-test-deps`` (``make deps``) installs netlify-cli 27.10.2 and
@netlify/open-api 2.60.0 into ``.venv/node`` (``WAVE_NETLIFY_PREFIX`` overrides it).
Without them the tests that need them skip with the reason — and fail under
``WAVE_REQUIRE_REAL=1``, as CI runs them.

* ``fake`` — a started :class:`FakeNetlify` (token ``t``) with one site, ``fake.site``;
  every answer is checked against the spec, and the test fails at teardown if any broke it.
* ``netlify`` — ``netlify("deploy", "--prod", "--no-build", "--dir", d)``: the real CLI
  pointed at ``fake`` (``NETLIFY_API_URL``), with its own HOME and telemetry off.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from netlify_kit import TOKEN, Fake, RunNetlify, node_prefix
from netlify_spec import SPEC_IN_PACKAGE, SpecCheck

from wave_sdk.testing import missing, require_binary


@pytest.fixture(scope="session")
def spec_path() -> Path:
    path = node_prefix() / SPEC_IN_PACKAGE
    if not path.is_file():
        missing("@netlify/open-api", f"no {path}: run make deps (scripts/install-test-deps)")
    return path


@pytest.fixture
def fake(spec_path: Path) -> Iterator[Fake]:
    check = SpecCheck(spec_path)
    server = Fake(token=TOKEN, observer=check, diff_delay=0.3, process_delay=0.2)
    server.check = check
    with server:
        server.site = server.add_site("wave-site")
        yield server
    assert check.violations == [], "the fake answered against the spec"


@pytest.fixture(scope="session")
def netlify_bin() -> str:
    require_binary("node")
    path = node_prefix() / "node_modules" / ".bin" / "netlify"
    if not path.exists():
        missing("netlify-cli", f"no {path}: run make deps (scripts/install-test-deps)")
    return str(path)


@pytest.fixture
def netlify(netlify_bin: str, fake: Fake, tmp_path: Path) -> RunNetlify:
    home = tmp_path / "netlify-home"
    config = home / ".config" / "netlify" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"telemetryDisabled": True, "cliId": "wave-test"}))

    def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "NETLIFY_API_URL": fake.api_url,
            "NETLIFY_AUTH_TOKEN": TOKEN,
            "NETLIFY_SITE_ID": fake.site.id,
            # Nothing leaves the machine: telemetry would go to the fake (which 404s).
            "NETLIFY_TEST_TRACK_URL": fake.url + "/telemetry/track",
            "NETLIFY_TEST_IDENTIFY_URL": fake.url + "/telemetry/identify",
            "NO_UPDATE_NOTIFIER": "1",
            "CI": "1",
        }
        proc = subprocess.Popen(
            [netlify_bin, *args],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            pytest.fail(f"netlify {' '.join(args)} did not end in {timeout}s:\n{out}")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything it left behind
        result = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
        sys.stdout.write(out)  # shown by pytest when the test fails
        return result

    return run
