"""wave-sdk's Netlify adapter: a static site deployed by digest, any deploy restorable.

So far this distribution holds the stateful fake Netlify API its tests run against
(:mod:`wave_sdk_netlify.fake`, also a program: ``python -m wave_sdk_netlify.fake``); the
adapter itself comes next (issue 11). Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
