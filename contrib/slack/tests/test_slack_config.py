"""``[plugins.slack]`` through `wave config`: one error line per mistake, the URL never shown.

Also the start-up rule: validating a configuration that uses the plugin imports its
settings model, never ``slack_sdk``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from projects import Project
from run_kit import make_project

URL = "http://127.0.0.1:9/services/T0/B0/zzSecretTokenzz"

BASE = "\n[plugins.slack]\n"


def write(project: Project, section: str) -> None:
    """run_kit's project with ``section`` as the body of [plugins.slack]."""
    make_project(project, extra=BASE + section + "\n")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            f'webhook_url = "{URL}"',
            "wave.toml: plugins.slack.webhook_url: is written in the file: a webhook URL is a "
            'secret — write webhook_url = "${SLACK_WEBHOOK_URL}" and set the variable',
        ),
        (
            'webhook_url = "${SLACK_WEBHOOK_URL}"\nwebhok = 1',
            "wave.toml: plugins.slack.webhok: unknown key 'webhok' — did you mean 'webhook_url'?",
        ),
        (
            'webhook_url = "${SLACK_WEBHOOK_URL}"\nnotify = ["deployment-done"]',
            "wave.toml: plugins.slack.notify.0:",
        ),
        (
            'webhook_url = "${SLACK_WEBHOOK_URL}"\ncontacts = { oncall = ["<@U1>"] }',
            "wave.toml: plugins.slack.contacts",
        ),
    ],
)
def test_a_wrong_section_is_one_line_naming_the_key(
    project: Project, section: str, expected: str
) -> None:
    write(project, section)
    proc = project.cli("config", "validate", env={"SLACK_WEBHOOK_URL": URL})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("wave: error: " + expected), lines[0]
    assert "zzSecretTokenzz" not in proc.stdout + proc.stderr


def test_a_section_no_plugin_declares_is_refused_with_a_suggestion(project: Project) -> None:
    make_project(project, extra='[plugins.slak]\nwebhook_url = "x"\n')
    proc = project.cli("config", "validate")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "wave: error: wave.toml: plugins.slak: no installed plugin declares [plugins.slak] "
        "(declared: slack) — did you mean [plugins.slack]?"
    )


def test_config_show_and_schema_know_the_section_and_hide_the_url(project: Project) -> None:
    write(project, 'webhook_url = "${SLACK_WEBHOOK_URL}"\nnotify = ["failed"]')
    proc = project.cli("config", "show", env={"SLACK_WEBHOOK_URL": URL})
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)["plugins"]["slack"]
    assert shown["notify"] == ["failed"] and shown["budget"] == 5.0
    assert "zzSecretTokenzz" not in proc.stdout
    schema = json.loads(project.cli("config", "schema").stdout)
    slack = schema["properties"]["plugins"]["properties"]["slack"]
    assert slack["required"] == ["webhook_url"]
    assert schema["properties"]["plugins"]["additionalProperties"] is False


def test_validating_a_slack_configuration_does_not_import_slack_sdk(project: Project) -> None:
    write(project, 'webhook_url = "${SLACK_WEBHOOK_URL}"')
    code = (
        "import json, sys\nfrom wave_sdk.cli import main\n"
        f"assert main(['config', 'validate', '--config', {str(project.root)!r}]) == 0\n"
        "print('MODULES', json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SLACK_WEBHOOK_URL": URL},
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1].removeprefix("MODULES ")))
    assert "wave_sdk_slack.config" in modules  # the section was validated by its model ...
    assert not {m for m in modules if m.split(".")[0] == "slack_sdk"}  # ... without slack_sdk
    assert "wave_sdk_slack.webhook" not in modules


def test_the_plugin_is_installed_under_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="wave_sdk") if ep.name == "slack"]
    assert ep.value == "wave_sdk_slack.plugin"
    assert Path(ep.load().__file__).name == "plugin.py"


def check_line(project: Project, name: str) -> tuple[int, str]:
    """`wave check`'s exit code and its line for check ``name``."""
    proc = project.cli("check", "--env", "development", env={"SLACK_WEBHOOK_URL": URL})
    line = next((ln for ln in proc.stdout.splitlines() if name in ln), proc.stdout + proc.stderr)
    return proc.returncode, line


def test_deploy_and_rollback_refuse_a_wrong_section_before_changing_anything(
    project: Project,
) -> None:
    write(project, 'webhook_url = "${SLACK_WEBHOOK_URL}"\nwebhok = 1')
    source = project.release("v1")
    for args in (["deploy", "--release", "v1", "--source", str(source)], ["rollback"]):
        proc = project.cli(*args, "--env", "development", env={"SLACK_WEBHOOK_URL": URL})
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "plugins.slack.webhok: unknown key 'webhok'" in proc.stderr
    assert not (project.root / ".wave" / "state").exists()  # no run, no lock, no history
