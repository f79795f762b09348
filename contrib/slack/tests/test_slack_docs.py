"""docs/plugins/slack.md documents every key with its default; its worked example is valid."""

from __future__ import annotations

from pathlib import Path

from wave_sdk_slack.config import SlackSettings

from wave_sdk.testing import run_wave
from wave_sdk.testing.docs import reference_mismatches

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "plugins" / "slack.md"
EXAMPLE = ROOT / "contrib" / "slack" / "example"


def test_configuration_reference_matches_the_model() -> None:
    assert reference_mismatches(PAGE, SlackSettings) == []


def test_the_worked_example_is_a_valid_configuration() -> None:
    url = "https://hooks.slack.com/services/T0/B0/xxxxxxxxxxxx"
    proc = run_wave("config", "validate", cwd=EXAMPLE, env={"SLACK_WEBHOOK_URL": url})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("wave.toml: valid (2 environments, 1 targets)")
    assert "include: contrib/slack/example/wave.toml" in PAGE.read_text()
