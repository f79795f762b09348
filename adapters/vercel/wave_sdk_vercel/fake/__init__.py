"""A stateful fake Vercel API on loopback, for the Vercel adapter's tests and benches.

It keeps projects, deployments, aliases and file contents by SHA-1, answers a create that
names unknown digests with 400 ``missing_files``, runs a deployment through QUEUED,
BUILDING and READY (or ERROR, CANCELED), promotes and rolls back, serves each deployment's
files at its own URL and the production one at the project's domain, answers 429 with
Vercel's ``rate_limited`` body, ``Retry-After`` and ``X-RateLimit-*`` on demand, and logs
every request. A real ``vercel deploy --prebuilt --prod --api <fake.url>`` completes
against it::

    from wave_sdk_vercel.fake import FakeVercel

    with FakeVercel(token="t") as fake:
        project = fake.add_project("my-site")
        ...                                   # deploy to fake.url
        fake.inject(status=429, retry_after=2, times=3)
        assert fake.served(project.domain, "index.html") == b"..."

As a program, ``python -m wave_sdk_vercel.fake`` prints ``ready <url>``.
"""

from __future__ import annotations

from wave_sdk.fakehttp import Exchange, Fault, Logged
from wave_sdk_vercel.fake.server import FakeVercel

__all__ = ["Exchange", "FakeVercel", "Fault", "Logged"]
