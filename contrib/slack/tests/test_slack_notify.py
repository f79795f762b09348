"""The Slack plugin through the real `wave` command: what reaches the webhook, field by field.

A deploy, a failed deploy (rolled back) and a manual rollback of a `local` target post
exactly the runbook's messages to a recording webhook on 127.0.0.1; with the webhook down
(refused, hanging, answering 500) a deploy still succeeds, says it could not notify, and
takes at most the 5 s budget longer than the same deploy with the webhook up.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from projects import Project, commit_all, git
from run_kit import ENV, make_project, serving
from slack_server import SECRET_PATH, RecordingWebhook

TOKEN = SECRET_PATH.rsplit("/", 1)[-1]


SLACK = """
[plugins.slack]
webhook_url = "${SLACK_WEBHOOK_URL}"
contacts = { on_call = ["<@UONCALL>"], database_admin = ["<@UDBA>"] }
"""


def slack_project(project: Project, extra: str = "") -> None:
    """run_kit's project (a `local` target in development) with [plugins.slack], in git."""
    git(project.root, "init", "-q", "-b", "main")
    make_project(project, extra=SLACK + extra)


def deploy(
    project: Project,
    webhook_url: str,
    release: str,
    *,
    healthy: bool = True,
    kill: str | None = None,
) -> tuple[Any, str, float]:
    """Commit ``release`` and `wave deploy` it; (process, commit, seconds).

    ``kill`` sets ``WAVE_TEST_KILL_AT`` (the run signals itself at that step).
    """
    project.release(release, healthy=healthy)
    head = commit_all(project.root, release)
    env = {"SLACK_WEBHOOK_URL": webhook_url, **({"WAVE_TEST_KILL_AT": kill} if kill else {})}
    started = time.monotonic()
    proc = project.cli(
        "deploy", "--env", ENV, "--release", release, "--source", f"src/{release}", env=env
    )
    return proc, head, time.monotonic() - started


def v1_live(project: Project, webhook: RecordingWebhook) -> str:
    """The project with v1 deployed and its messages forgotten; v1's commit."""
    slack_project(project)
    proc, head, _ = deploy(project, webhook.url, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    webhook.payloads.clear()
    return head


def signal_file(project: Project, kind: str, deploy_id: str | None = None) -> dict[str, Any]:
    """The per-run signal file of ``kind`` (the newest one, or that of ``deploy_id``)."""
    paths = sorted(
        (project.root / ".claude").glob(f"signal-{kind}-{ENV}-*.json"),
        key=lambda p: p.stat().st_mtime_ns,
    )
    for path in reversed(paths):
        data: dict[str, Any] = json.loads(path.read_text())
        if deploy_id is None or data["deploy_id"] == deploy_id:
            return data
    raise AssertionError(f"no {kind} signal")


def when(signal: dict[str, Any]) -> str:
    stamp = datetime.strptime(signal["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def footer(signal: dict[str, Any]) -> dict[str, Any]:
    text = f"runs · deploy {signal['deploy_id']}"
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def head_lines(signal: dict[str, Any], commit: str, release: str) -> str:
    """The runbook's three lines, then who deployed and the release."""
    return (
        f"• Environment: {ENV}\n• Commit: {commit[:7]}\n• Time: {when(signal)}\n"
        f"• Deployed by: {signal['deployer']}\n• Release: {release}\n"
    )


def never_printed(project: Project, *outputs: str) -> None:
    """The webhook's token is in no output and in no file wave wrote."""
    for text in outputs:
        assert TOKEN not in text
    for path in project.root.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix != ".py":
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_deploy_posts_starting_then_complete(project: Project, webhook: RecordingWebhook) -> None:
    slack_project(project)
    proc, head, _ = deploy(project, webhook.url, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert serving(project) == "v1"

    starting = signal_file(project, "deployment-starting")
    complete = signal_file(project, "deployment-complete")
    assert starting["deploy_id"] == complete["deploy_id"]
    assert len(webhook.payloads) == 2
    first, second = webhook.payloads

    assert first == {
        "text": f"🚀 Deployment Starting: {ENV}",
        "blocks": [
            section("*Deployment Starting*\n" + head_lines(starting, head, "v1").rstrip("\n")),
            footer(starting),
        ],
    }
    v = complete["verification"]
    assert v["health_check"] == "healthy" and v["response_time_ms"] > 0
    assert complete["url"].startswith(f"http://127.0.0.1:{project.port}")
    assert second == {
        "text": f"✅ Deployment Complete: {ENV}",
        "blocks": [
            section(
                "*Deployment Complete*\n"
                + head_lines(complete, head, "v1")
                + f"• Verification: smoke tests {v['smoke_tests']}, health healthy, "
                f"response time {v['response_time_ms']:.0f} ms\n"
                f"• URL: <{complete['url']}>"
            ),
            footer(complete),
        ],
    }
    never_printed(project, proc.stdout, proc.stderr)

    # The last answer is kept, and the "Team notified" check reads it.
    check = project.cli("check", "--env", ENV, env={"SLACK_WEBHOOK_URL": webhook.url})
    line = next(ln for ln in check.stdout.splitlines() if "team-notified" in ln)
    assert "it answered the last message (deployment-complete at " in line, check.stdout


def test_a_failed_deploy_posts_the_rollback_with_the_contacts(
    project: Project, webhook: RecordingWebhook
) -> None:
    v1 = v1_live(project, webhook)

    proc, v2, _ = deploy(project, webhook.url, "v2", healthy=False)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert serving(project) == "v1"

    rollback = signal_file(project, "rollback-complete")
    starting = signal_file(project, "deployment-starting", rollback["deploy_id"])
    assert [p["text"] for p in webhook.payloads] == [
        f"🚀 Deployment Starting: {ENV}",
        f"↩️ Rollback Complete: {ENV}",
    ]
    assert webhook.payloads[0]["blocks"][0] == section(
        "*Deployment Starting*\n" + head_lines(starting, v2, "v2").rstrip("\n")
    )
    v = rollback["verification"]
    reason = rollback["reason"]
    assert "health" in reason  # /api/health/db fails in v2
    assert webhook.payloads[1] == {
        "text": f"↩️ Rollback Complete: {ENV}",
        "blocks": [
            section(
                "*Rollback Complete*\n"
                + head_lines(rollback, v2, "v2")
                + f"• Verification: smoke tests {v['smoke_tests']}, health healthy, "
                f"response time {v['response_time_ms']:.0f} ms\n"
                "• Rolled back: v2 → v1\n"
                f"• Reason: {reason}\n"
                f"• URL: <{rollback['url']}>"
            ),
            section("*Emergency contacts*\n• On-Call Engineer (first responder): <@UONCALL>"),
            footer(rollback),
        ],
    }
    assert rollback["rolled_back_to"] == v1
    never_printed(project, proc.stdout, proc.stderr)


def test_a_first_deploy_that_fails_posts_the_failure(
    project: Project, webhook: RecordingWebhook
) -> None:
    slack_project(project)
    proc, head, _ = deploy(project, webhook.url, "v1", healthy=False)
    assert proc.returncode == 7, proc.stdout + proc.stderr

    failed = signal_file(project, "deployment-complete")
    assert failed["status"] == "failed"
    last = webhook.payloads[-1]
    assert last["text"] == f"❌ Deployment Failed: {ENV}"
    text = last["blocks"][0]["text"]["text"]
    assert text.startswith("*Deployment Failed*\n" + head_lines(failed, head, "v1"))
    assert f"• Reason: {failed['reason']}\n" in text
    assert last["blocks"][1] == section(
        "*Emergency contacts*\n• On-Call Engineer (first responder): <@UONCALL>"
    )


def test_a_manual_rollback_posts_from_to_and_reason(
    project: Project, webhook: RecordingWebhook
) -> None:
    slack_project(project)
    for release in ("v1", "v2"):
        proc, _, _ = deploy(project, webhook.url, release)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    webhook.payloads.clear()

    proc = project.cli(
        "rollback", "--env", ENV, "--reason", f"checkout <errors> & timeouts, {webhook.url}",
        env={"SLACK_WEBHOOK_URL": webhook.url},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert serving(project) == "v1"

    rollback = signal_file(project, "rollback-complete")
    assert len(webhook.payloads) == 1
    payload = webhook.payloads[0]
    assert payload["text"] == f"↩️ Rollback Complete: {ENV}"
    lines = payload["blocks"][0]["text"]["text"].split("\n")
    assert lines[:4] == [
        "*Rollback Complete*",
        f"• Environment: {ENV}",
        f"• Commit: {rollback['rolled_back_to'][:7]}",
        f"• Time: {when(rollback)}",
    ]
    assert "• Rolled back: v2 → v1" in lines
    # What a user wrote is escaped for mrkdwn, not read as markup, and a secret is masked.
    assert "• Reason: checkout &lt;errors&gt; &amp; timeouts, ***" in lines, lines
    assert payload["blocks"][1] == section(
        "*Emergency contacts*\n• On-Call Engineer (first responder): <@UONCALL>"
    )
    assert payload["blocks"][2] == footer(rollback)
    never_printed(project, proc.stdout, proc.stderr)


def test_which_signals_notify_is_set_per_environment(
    project: Project, webhook: RecordingWebhook
) -> None:
    slack_project(project, extra=f'environments = {{ {ENV} = ["failed"] }}')
    for release in ("v1", "v2"):
        proc, _, _ = deploy(project, webhook.url, release)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert webhook.payloads == []  # success is not among the development notices
    proc, _, _ = deploy(project, webhook.url, "v3", healthy=False)
    assert proc.returncode == 7
    # A deploy that failed and was rolled back is a failure: its rollback is posted.
    assert [p["text"] for p in webhook.payloads] == [f"↩️ Rollback Complete: {ENV}"]
    webhook.payloads.clear()
    proc = project.cli("rollback", "--env", ENV, env={"SLACK_WEBHOOK_URL": webhook.url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert serving(project) == "v1"
    assert webhook.payloads == []  # a rollback by hand is not a failure


@pytest.mark.parametrize("outage", ["refuse", "hang", "500"])
def test_a_webhook_outage_never_fails_a_deploy_and_costs_at_most_the_budget(
    project: Project, webhook: RecordingWebhook, outage: str
) -> None:
    slack_project(project)
    proc, _, baseline = deploy(project, webhook.url, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(webhook.payloads) == 2

    if outage == "refuse":
        webhook.refuse()
    else:
        webhook.mode = outage
    proc, _, seconds = deploy(project, webhook.url, "v2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert serving(project) == "v2"
    output = proc.stdout + proc.stderr
    assert "could not notify Slack of deployment-starting" in output
    # 5 s is the plugin's budget for the whole run; 3 s covers a loaded 2-core machine's
    # noise between two otherwise identical deploys.
    print(f"{outage}: {seconds:.2f}s vs {baseline:.2f}s")
    assert seconds <= baseline + 5 + 3, (seconds, baseline, output)
    if outage != "refuse":
        answered = [mode for _, mode in webhook.requests[2:]]
        assert answered and set(answered) == {outage}, webhook.requests
    never_printed(project, output)

    # The check says the webhook did not answer; `require` makes it block the gate.
    env = {"SLACK_WEBHOOK_URL": webhook.url}
    check = project.cli("check", "--env", ENV, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "warning: the webhook did not answer the last message" in check.stdout
    toml = project.root / "wave.toml"
    toml.write_text(toml.read_text() + 'check = "require"\n')
    check = project.cli("check", "--env", ENV, env=env)
    assert check.returncode == 3, check.stdout + check.stderr
    assert "team-notified" in check.stdout


def test_a_budget_spent_on_one_message_is_not_spent_again(
    project: Project, webhook: RecordingWebhook
) -> None:
    """With a hanging webhook the run's later messages are not even attempted."""
    slack_project(project, extra="budget = 1.5\ntimeout = 1.0")
    webhook.mode = "hang"
    proc, _, _ = deploy(project, webhook.url, "v1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "notification budget is spent" in proc.stdout + proc.stderr
    answer = json.loads(Path(project.root / f".wave/plugins/slack/answers/{ENV}.json").read_text())
    assert answer["ok"] is False and answer["signal_type"] == "deployment-complete"
    assert answer["attempts"] == 0


def test_an_interrupted_deploy_is_posted_by_the_run_or_by_its_recovery(
    project: Project, webhook: RecordingWebhook
) -> None:
    v1_live(project, webhook)

    # SIGTERM while verifying: the run itself rolls back and says why.
    proc, _, _ = deploy(project, webhook.url, "v2", kill="verify:TERM")
    assert proc.returncode == 143, proc.stdout + proc.stderr
    assert serving(project) == "v1"
    texts = [p["text"] for p in webhook.payloads]
    assert texts == [f"🚀 Deployment Starting: {ENV}", f"↩️ Rollback Complete: {ENV}"]
    lines = webhook.payloads[1]["blocks"][0]["text"]["text"].split("\n")
    assert "• Rolled back: v2 → v1" in lines
    assert "• Reason: interrupted by SIGTERM" in lines
    assert webhook.payloads[1]["blocks"][1]["text"]["text"].startswith("*Emergency contacts*")

    # SIGKILL: the run dies silently after the deploy; `wave recover` posts the outcome.
    webhook.payloads.clear()
    proc, _, _ = deploy(project, webhook.url, "v3", kill="deployed:KILL")
    assert proc.returncode == -9, proc.stdout + proc.stderr
    assert [p["text"] for p in webhook.payloads] == [f"🚀 Deployment Starting: {ENV}"]
    proc = project.cli("recover", "--env", ENV, env={"SLACK_WEBHOOK_URL": webhook.url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert serving(project) == "v1"
    recovered = signal_file(project, "rollback-complete")
    assert webhook.payloads[-1]["text"] == f"↩️ Rollback Complete: {ENV}"
    lines = webhook.payloads[-1]["blocks"][0]["text"]["text"].split("\n")
    assert "• Rolled back: v3 → v1" in lines
    assert f"• Reason: {recovered['reason']}" in lines
    assert webhook.payloads[-1]["blocks"][-1] == footer(recovered)
