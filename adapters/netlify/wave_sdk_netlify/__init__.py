"""wave-sdk's Netlify adapter: a static site deployed by digest, any deploy restorable.

``adapter = "netlify"`` (:mod:`wave_sdk_netlify.adapter`, configured by
:class:`wave_sdk_netlify.config.NetlifyTarget`; docs/adapters/netlify.md). The distribution
also holds the stateful fake Netlify API its tests run against
(:mod:`wave_sdk_netlify.fake`, also a program: ``python -m wave_sdk_netlify.fake``).
Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
