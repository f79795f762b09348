"""A wave project with one Vercel target pointed at the ``fake`` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from vercel_kit import TOKEN, Fake

from wave_sdk import Wave
from wave_sdk.config import parse_config
from wave_sdk.reporting import ListReporter

TARGET = "site"


def wave_for(
    root: Path,
    fake: Fake,
    monkeypatch: pytest.MonkeyPatch,
    *,
    environments: tuple[str, ...] = ("production",),
    **target: Any,
) -> tuple[Wave, ListReporter]:
    """``[targets.site] adapter = "vercel"``, each of ``environments`` deploying to it."""
    monkeypatch.setenv("VERCEL_TOKEN", TOKEN)
    root.mkdir(parents=True, exist_ok=True)
    config = parse_config(
        {
            "project": {"name": "tests"},
            "environments": {
                env: {"target": TARGET, "allow_lower_approvals": True} for env in environments
            },
            "targets": {
                TARGET: {
                    "adapter": "vercel",
                    "token": "${VERCEL_TOKEN}",
                    "project": fake.project.name,
                    "api_url": fake.url,
                    "url_scheme": "http",
                    **target,
                }
            },
            "health": {
                "endpoints": [{"path": "/index.html"}],
                "interval": 0.1,
                "consecutive": 2,
                "retries": 3,
                "deadline": 30,
                "timeout": 2,
            },
            "approvals": {a: dict.fromkeys(environments, "L5") for a in ("deploy", "rollback")},
        },
        file=root / "wave.toml",
    )
    reporter = ListReporter()
    return Wave(config, reporter=reporter, deployer="vercel-tests"), reporter
