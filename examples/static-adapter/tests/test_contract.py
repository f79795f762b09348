"""The example adapter passes the conformance suite (docs/writing-an-adapter.md, step 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wave_sdk import Release
from wave_sdk.testing import AdapterContract, MakeRelease

pytest_plugins = ["wave_sdk.testing.plugin"]


class TestStaticContract(AdapterContract):
    adapter = "static"
    health_endpoints = []  # no web server in the test: the adapter's own health decides

    @pytest.fixture
    def target_config(self, tmp_path: Path) -> dict[str, Any]:
        return {"docroot": str(tmp_path / "www"), "keep": 3}

    @pytest.fixture
    def make_release(self, tmp_path: Path) -> MakeRelease:
        def make(release_id: str, *, healthy: bool = True) -> Release:
            site = tmp_path / "sites" / release_id
            site.mkdir(parents=True, exist_ok=True)
            name = "index.html" if healthy else "oops.html"
            (site / name).write_text(f"<h1>{release_id}</h1>\n")
            return Release(id=release_id, source=site)

        return make
