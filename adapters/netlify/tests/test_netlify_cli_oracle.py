"""netlify-cli is the oracle: the real ``netlify deploy`` completes against the fake.

It runs against the fake exactly as against Netlify (``NETLIFY_API_URL``, notes §4): the
site it leaves must be served byte-identical, file by file, at the URLs the fake reported,
and every answer it got must match Netlify's published spec (the ``fake`` fixture checks).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from netlify_kit import Fake, RunNetlify
from netlify_sites import fetch, served_differently, write_site


def deploys(fake: Fake) -> list[str]:
    with fake.lock:
        return [d.id for d in sorted(fake.store.deploys.values(), key=lambda d: d.created)]


def test_netlify_deploy_prod_completes_and_the_site_is_served(
    fake: Fake, netlify: RunNetlify, tmp_path: Path
) -> None:
    # Over 100 files: netlify-cli asks for an async diff and waits for it (notes §2.3).
    files = write_site(tmp_path / "site", pages=120)
    out = netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site"))
    assert out.returncode == 0, out.stdout
    assert "Deploy is live!" in out.stdout
    [deploy_id] = deploys(fake)
    deploy = fake.store.deploys[deploy_id]
    assert deploy.state == "ready" and not deploy.draft
    assert fake.store.sites[fake.site.id].published_deploy == deploy_id

    # What a visitor gets: every file byte-identical, at the site's URL and the deploy's.
    assert served_differently(fake.site.url, files) == []
    assert served_differently(deploy.url, files) == []
    assert fetch(fake.site.url, "").content == files["index.html"]
    assert fetch(fake.site.url, "docs/").content == files["docs/index.html"]
    assert fetch(fake.site.url, "no/such/page").status_code == 404
    # The URLs netlify-cli printed are the ones the fake serves the site at.
    assert re.search(rf"Production URL:.*{re.escape(fake.site.url)}", out.stdout)
    assert re.search(rf"Unique deploy URL:.*{re.escape(deploy.url)}", out.stdout)

    # It went the way notes §2.4 describe: create without files, then the manifest.
    creates = fake.requests("POST", f"/sites/{fake.site.id}/deploys")
    updates = fake.requests("PUT", f"/sites/{fake.site.id}/deploys/{deploy_id}")
    assert len(creates) == 1 and len(updates) == 1
    assert "PUT /sites/{site_id}/deploys/{deploy_id} 200" in fake.check.checked
    # Each file's content uploaded once per path (the duplicate too), and nothing more.
    uploaded = sorted(fake.uploads())
    assert sorted(set(uploaded)) == uploaded
    assert set(files) <= set(uploaded)
    assert set(uploaded) - set(files) == {"netlify.toml"}, "the CLI adds its resolved config"


def test_a_redeploy_of_the_same_directory_uploads_nothing(
    fake: Fake, netlify: RunNetlify, tmp_path: Path
) -> None:
    files = write_site(tmp_path / "site")
    assert (
        netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site")).returncode == 0
    )
    first = len(fake.uploads())
    assert first >= len(files)

    out = netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site"))
    assert out.returncode == 0, out.stdout
    assert "CDN requesting 0 files" in out.stdout
    assert len(fake.uploads()) == first, "known digests are not asked for again"
    _, second_id = deploys(fake)
    second = fake.store.deploys[second_id]
    assert second.required == [] and second.state == "ready"
    assert fake.store.sites[fake.site.id].published_deploy == second_id
    assert served_differently(second.url, files) == []
    assert served_differently(fake.site.url, files) == []


def test_netlify_cli_waits_out_a_429_by_the_rate_limit_reset(
    fake: Fake, netlify: RunNetlify, tmp_path: Path
) -> None:
    """@netlify/api sleeps until X-RateLimit-Reset on a 429 (notes §2.4 point 7).

    So the fake's header is one the real client understands.
    """
    files = write_site(tmp_path / "site")
    fault = fake.inject(status=429, reset_in=1, times=2, method="PUT", path="/files/")
    out = netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site"))
    assert out.returncode == 0, out.stdout
    assert fault.hits == 2
    refused = [r for r in fake.requests("PUT", "/files/") if r.status == 429]
    assert len(refused) == 2
    assert served_differently(fake.site.url, files) == []


def test_a_draft_deploy_is_served_at_its_url_only(
    fake: Fake, netlify: RunNetlify, tmp_path: Path
) -> None:
    files = write_site(tmp_path / "site")
    out = netlify("deploy", "--no-build", "--dir", str(tmp_path / "site"))
    assert out.returncode == 0, out.stdout
    [deploy_id] = deploys(fake)
    deploy = fake.store.deploys[deploy_id]
    assert deploy.draft and deploy.state == "ready"
    assert served_differently(deploy.url, files) == []
    assert fake.store.sites[fake.site.id].published_deploy is None
    assert fetch(fake.site.url, "index.html").status_code == 404


def test_netlify_cli_refuses_prod_while_the_published_deploy_is_locked(
    fake: Fake, netlify: RunNetlify, tmp_path: Path
) -> None:
    """netlify-cli reads ``published_deploy.locked`` from the site (notes §2.3)."""
    files = write_site(tmp_path / "site")
    assert (
        netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site")).returncode == 0
    )
    [first] = deploys(fake)
    with fake.lock:
        fake.store.deploys[first].locked = True
    (tmp_path / "site" / "index.html").write_bytes(b"<h1>not to be published</h1>\n")
    out = netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site"))
    assert out.returncode != 0 and "locked" in out.stdout
    assert deploys(fake) == [first]
    assert fetch(fake.site.url, "index.html").content == files["index.html"]


def test_netlify_api_lists_restores_and_locks_through_the_real_client(
    fake: Fake, netlify: RunNetlify, tmp_path: Path
) -> None:
    """``netlify api <operationId>`` is @netlify/api itself, built from the spec.

    So the operations the adapter will use reach the fake's routes, and the real client
    reads the fake's answers.
    """
    v1 = write_site(tmp_path / "site")
    assert (
        netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site")).returncode == 0
    )
    (tmp_path / "site" / "index.html").write_bytes(b"<h1>v2</h1>\n")
    assert (
        netlify("deploy", "--prod", "--no-build", "--dir", str(tmp_path / "site")).returncode == 0
    )
    first, second = deploys(fake)
    site = fake.site.id

    def api(operation: str, **data: str) -> Any:
        out = netlify("api", operation, "--data", json.dumps(data))
        assert out.returncode == 0, out.stdout
        return json.loads(out.stdout)

    listed = api("listSiteDeploys", site_id=site)
    assert [d["id"] for d in listed] == [second, first]
    restored = api("restoreSiteDeploy", site_id=site, deploy_id=first)
    assert restored["id"] == first
    assert fetch(fake.site.url, "index.html").content == v1["index.html"]
    assert api("lockDeploy", deploy_id=first)["locked"] is True
    assert api("getSite", site_id=site)["published_deploy"]["locked"] is True
