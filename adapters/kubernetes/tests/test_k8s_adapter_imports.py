"""`wave adapters`, `wave config validate` and `--help` never import the kubernetes client.

Importing it costs ~330 ms; only a command that operates on a kubernetes target may pay.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WAVE_TOML = """\
[project]
name = "shop"

[environments.staging]
target = "web"

[targets.web]
adapter = "kubernetes"
deployment = "web"
containers = { app = "registry.example.com/shop/web" }
url = "http://127.0.0.1:8080"
"""

LOADED = ("kubernetes", "wave_sdk_kubernetes.adapter", "wave_sdk_kubernetes.cluster", "urllib3")


def _imported(argv: list[str], cwd: Path) -> tuple[str, set[str]]:
    code = f"import sys; sys.argv = {['wave', *argv]!r}; from wave_sdk.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    return result.stdout, modules


@pytest.mark.parametrize(
    "argv", [["adapters"], ["config", "validate"], ["--help"], ["deploy", "--help"]]
)
def test_light_commands_do_not_import_the_client(argv: list[str], tmp_path: Path) -> None:
    (tmp_path / "wave.toml").write_text(WAVE_TOML)
    out, modules = _imported(argv, tmp_path)
    if argv == ["adapters"]:
        assert "kubernetes " in out
    if argv == ["config", "validate"]:
        assert "valid" in out
    assert not [m for m in LOADED if m in modules], sorted(m for m in LOADED if m in modules)
