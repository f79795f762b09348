"""The target's configuration and the plugin's weight: no fake, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from wave_sdk_netlify.config import NetlifyTarget

pytest_plugins = ["wave_sdk.testing.plugin"]


def _target(**keys: object) -> NetlifyTarget:
    return NetlifyTarget.model_validate({"token": "x", "site": "s", **keys})


def test_the_title_carries_the_release_and_is_read_back() -> None:
    target = _target(message="{project}: {release} ({commit}) to {environment}")
    title = target.title(release="v1.2", commit="abc123", environment="prod", project="shop")
    assert title == "shop: v1.2 (abc123) to prod"
    assert target.release_of(title) == "v1.2"
    assert target.release_of("a deploy by someone else") is None
    assert target.release_of(None) is None


@pytest.mark.parametrize(
    ("message", "says"),
    [("deploy {commit}", "write {release} once"), ("{release} {who}", "{who} is not")],
)
def test_a_message_without_release_is_refused(message: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says.replace("{", r"\{").replace("}", r"\}")):
        _target(message=message)


def test_the_token_is_never_printed() -> None:
    target = _target(token="nfp_secret_value")
    assert "nfp_secret_value" not in repr(target) + str(target.model_dump())


def test_listing_and_validating_never_import_the_adapter_or_httpx(tmp_path: Path) -> None:
    (tmp_path / "wave.toml").write_text(
        '[environments.production]\ntarget = "site"\n\n'
        '[targets.site]\nadapter = "netlify"\ntoken = "${NETLIFY_AUTH_TOKEN}"\nsite = "s"\n'
    )
    code = (
        "import sys\n"
        "from wave_sdk.cli import main\n"
        "core = 'httpx' in sys.modules\n"
        "assert main(['adapters']) == 0\n"
        "assert main(['config', 'validate']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('wave_sdk_netlify.adapter', "
        "'wave_sdk_netlify.api', 'wave_sdk_netlify.fake', 'tenacity')))\n"
        "assert not heavy, heavy\n"
        "assert core or 'httpx' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "1", "NETLIFY_AUTH_TOKEN": "nfp_x"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "netlify" in result.stdout
