"""The target's configuration and the plugin's weight: no fake, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from wave_sdk_vercel.config import VercelTarget

from wave_sdk.config import parse_config


def _target(**keys: object) -> VercelTarget:
    return VercelTarget.model_validate({"token": "x", "project": "p", **keys})


def test_the_token_is_never_printed() -> None:
    target = _target(token="vcp_secret_value")
    assert "vcp_secret_value" not in repr(target) + str(target.model_dump())


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ({"aliases": ["https://shop.example.com/"]}, "is not a domain name"),
        ({"api_url": "api.vercel.com"}, "is not an http(s) URL"),
        ({"url_scheme": "ftp"}, "should match pattern"),
        ({"concurrency": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_values_are_refused_naming_the_fix(keys: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says.replace("(", r"\(").replace(")", r"\)")):
        _target(**keys)


def test_production_follows_the_environment_unless_set(tmp_path: Path) -> None:
    from wave_sdk_vercel.adapter import VercelAdapter

    from wave_sdk.adapter import TargetContext
    from wave_sdk.reporting import ListReporter

    config = parse_config(
        {
            "environments": {
                "staging": {"target": "site"},
                "production": {"target": "site"},
                "live": {"target": "site", "production": True},
            },
            "targets": {"site": {"adapter": "vercel", "token": "x", "project": "p"}},
        },
        file=tmp_path / "wave.toml",
    )

    def production(environment: str, **keys: object) -> bool:
        context = TargetContext(
            target="site",
            environment=environment,
            project="p",
            root=tmp_path,
            state_dir=tmp_path,
            reporter=ListReporter(),
            config=config,
        )
        return VercelAdapter(config=_target(**keys), context=context).production

    assert [production(e) for e in ("staging", "production", "live")] == [False, True, True]
    assert production("staging", production=True) is True
    assert production("production", production=False) is False


def test_listing_and_validating_never_import_the_adapter_or_httpx(tmp_path: Path) -> None:
    (tmp_path / "wave.toml").write_text(
        '[environments.production]\ntarget = "site"\n\n'
        '[targets.site]\nadapter = "vercel"\ntoken = "${VERCEL_TOKEN}"\nproject = "p"\n'
    )
    code = (
        "import sys\n"
        "from wave_sdk.cli import main\n"
        "core = 'httpx' in sys.modules\n"
        "assert main(['adapters']) == 0\n"
        "assert main(['config', 'validate']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('wave_sdk_vercel.adapter', "
        "'wave_sdk_vercel.api', 'wave_sdk_vercel.builds', 'wave_sdk_vercel.fake', "
        "'wave_sdk.fakehttp', 'tenacity')))\n"
        "assert not heavy, heavy\n"
        "assert core or 'httpx' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "1", "VERCEL_TOKEN": "vcp_x"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vercel" in result.stdout
    assert "vcp_x" not in result.stdout + result.stderr
