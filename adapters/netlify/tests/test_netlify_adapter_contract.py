"""The Netlify adapter passes the conformance suite, against the fake Netlify.

The suite asks the URL the adapter reports which release answers: the fake serves the
published deploy at the site's own origin, so what it checks is what Netlify's CDN would
serve. "Stopping the app behind the adapter's back" is the site losing its published
deploy (as when a deploy is deleted or the site unpublished in Netlify's UI).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from netlify_kit import TOKEN, Fake

from wave_sdk import Adapter, Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestNetlifyContract(AdapterContract):
    adapter = "netlify"
    health_endpoints = [{"path": "/index.html"}]
    release_path = "/version.json"

    @pytest.fixture
    def target_config(self, fake: Fake, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        self.fake = fake
        monkeypatch.setenv("NETLIFY_AUTH_TOKEN", TOKEN)
        return {"token": "${NETLIFY_AUTH_TOKEN}", "site": fake.site.id, "api_url": fake.api_url}

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
            self.fake.site.published_deploy = None
