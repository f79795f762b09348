"""wave-sdk's Docker adapter: each release is a container on a Docker engine.

``plugin`` announces the adapter and imports nothing heavy; ``config`` is the target's
configuration model (pydantic only); ``adapter`` does the work with the Docker SDK, which
is imported only when a ``docker`` target runs; ``errors`` maps the SDK's exceptions onto
wave's error tree. ``docs/adapters/docker.md`` is the user's guide.
"""

__version__ = "0.1.0"
