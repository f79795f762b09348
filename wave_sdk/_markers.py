"""The pluggy markers, in a module of their own so importing them costs only pluggy."""

from __future__ import annotations

import pluggy

PROJECT = "wave_sdk"
"""The pluggy project name, and the entry-point group plugins are published under."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
