"""Fixtures of the S3 store's tests: moto's S3 in server mode on loopback, a fresh bucket.

Without moto (``pip install 'moto[server]'``, in the dev extra) the tests skip saying so —
and fail under ``WAVE_REQUIRE_REAL=1``. The core's test kits (``tests/projects.py``,
``tests/postgres.py``) are reused from the repository's ``tests/`` directory.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wave_sdk.testing import missing

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

import moto_s3


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[moto_s3.MotoServer]:
    """Moto's S3 on 127.0.0.1, one for the session, stopped by its PID at the end."""
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
        import werkzeug  # noqa: F401
    except ImportError as exc:
        missing("moto[server]", f"{exc}: pip install 'moto[server]' (the dev extra has it)")
    server = moto_s3.start(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials through the standard chain (the environment), for this process and children."""
    for name, value in moto_s3.AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return dict(moto_s3.AWS_ENV)


@pytest.fixture
def bucket(moto_server: moto_s3.MotoServer, aws: dict[str, str]) -> Any:
    """A new, empty bucket (a boto3 Bucket resource) on the moto server."""
    import boto3

    s3 = boto3.resource("s3", endpoint_url=moto_server.url, region_name=moto_s3.REGION)
    made = s3.create_bucket(Bucket=f"wave-{uuid.uuid4().hex[:12]}")
    return made


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL server (tests/postgres.py); skips without one, fails if required."""
    from postgres import running_cluster

    with running_cluster() as cluster:
        yield cluster
