"""A wave project with one Netlify target pointed at the ``fake`` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from netlify_kit import TOKEN, Fake

from wave_sdk import Wave
from wave_sdk.config import parse_config
from wave_sdk.reporting import ListReporter

ENVIRONMENT, TARGET = "live", "site"


def wave_for(
    root: Path, fake: Fake, monkeypatch: pytest.MonkeyPatch, **target: Any
) -> tuple[Wave, ListReporter]:
    """``[targets.site] adapter = "netlify"`` with the token from ``$NETLIFY_AUTH_TOKEN``."""
    monkeypatch.setenv("NETLIFY_AUTH_TOKEN", TOKEN)
    root.mkdir(parents=True, exist_ok=True)
    config = parse_config(
        {
            "project": {"name": "tests"},
            "environments": {ENVIRONMENT: {"target": TARGET, "allow_lower_approvals": True}},
            "targets": {
                TARGET: {
                    "adapter": "netlify",
                    "token": "${NETLIFY_AUTH_TOKEN}",
                    "site": fake.site.id,
                    "api_url": fake.api_url,
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
            "approvals": {a: {ENVIRONMENT: "L5"} for a in ("deploy", "rollback")},
        },
        file=root / "wave.toml",
    )
    reporter = ListReporter()
    return Wave(config, reporter=reporter, deployer="netlify-tests"), reporter
