"""The Vercel adapter passes the conformance suite, against the fake Vercel.

The suite asks the URL the adapter reports which release answers: the fake serves the
production deployment at the project's domain (its own origin), so what it checks is what
Vercel's edge would serve. "Stopping the app behind the adapter's back" is the project
losing its production deployment (as when it is deleted in Vercel's dashboard).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vercel_kit import TOKEN, Fake

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestVercelContract(AdapterContract):
    adapter = "vercel"
    health_endpoints = [{"path": "/index.html"}]
    release_path = "/version.json"

    @pytest.fixture
    def target_config(self, fake: Fake, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        self.fake = fake
        monkeypatch.setenv("VERCEL_TOKEN", TOKEN)
        return {
            "token": "${VERCEL_TOKEN}",
            "project": fake.project.name,
            "api_url": fake.url,
            "url_scheme": "http",
            "production": True,
        }

    @pytest.fixture
    def make_release(self, tmp_path: Path) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            """A site naming its release; an unhealthy one lacks the checked index.html."""
            pages = {"version.json": json.dumps({"version": release_id})}
            if healthy:
                pages["index.html"] = f"<h1>{release_id}</h1>\n"
            site = tmp_path / "sites" / release_id
            site.mkdir(parents=True, exist_ok=True)
            for name, text in pages.items():
                (site / name).write_text(text)
            return Release(id=release_id, source=site)

        return make

    def kill_behind_back(self, adapter: Adapter) -> None:
        with self.fake.lock:
            self.fake.project.production = None
