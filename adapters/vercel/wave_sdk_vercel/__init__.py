"""wave-sdk's Vercel adapter: a static site deployed by digest, promoted and rolled back.

``adapter = "vercel"`` (:mod:`wave_sdk_vercel.adapter`, configured by
:class:`wave_sdk_vercel.config.VercelTarget`; docs/adapters/vercel.md). The distribution
also holds the stateful fake Vercel API its tests run against
(:mod:`wave_sdk_vercel.fake`, also a program: ``python -m wave_sdk_vercel.fake``).
Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
