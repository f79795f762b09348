"""A stateful fake Netlify API on loopback, for the Netlify adapter's tests and benches.

It keeps sites, deploys and file contents by digest, runs a deploy through Netlify's
states, serves each deploy's files at the URL it reports for it, answers with
``X-RateLimit-*`` headers, fails on demand (429, 5xx, slow, dropped) and logs every
request. A real ``netlify deploy --prod --no-build --dir X`` completes against it
(``NETLIFY_API_URL=<fake.api_url>``)::

    from wave_sdk_netlify.fake import FakeNetlify

    with FakeNetlify(token="t") as fake:
        site = fake.add_site("my-site")
        ...                                   # deploy to fake.api_url
        fake.inject(status=429, retry_after=2, times=3)
        assert fake.served(site.url, "index.html") == b"..."

As a program, ``python -m wave_sdk_netlify.fake`` prints ``ready <NETLIFY_API_URL>``.
"""

from __future__ import annotations

from wave_sdk.fakehttp import Exchange
from wave_sdk_netlify.fake.faults import Fault, Logged
from wave_sdk_netlify.fake.server import FakeNetlify

__all__ = ["Exchange", "FakeNetlify", "Fault", "Logged"]
