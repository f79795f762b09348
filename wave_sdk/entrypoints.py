"""Entry points of one group, read straight from the installed distributions' metadata.

:mod:`importlib.metadata` costs about 30 ms to import here (it pulls in the ``email``
package to parse METADATA files we never need) — a third of ``wave adapters``. Entry points
only need ``entry_points.txt``, an INI file, so this module reads those from every
``*.dist-info`` / ``*.egg-info`` directory on :data:`sys.path` with the same precedence
rule as :mod:`importlib.metadata`: the first distribution of a given name on the path wins.
A ``sys.path`` entry that is not a directory (a zip import) falls back to the standard
library, which knows how to read archives.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

from wave_sdk.adapter import load_object


@dataclass(frozen=True)
class EntryPoint:
    """``name = value`` from a distribution's ``entry_points.txt``."""

    name: str
    value: str
    distribution: str

    def load(self) -> object:
        return load_object(self.value.split("[", 1)[0].strip())


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _section(text: str, group: str) -> list[tuple[str, str]]:
    entries: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
        elif current == group and "=" in line:
            name, _, value = line.partition("=")
            entries.append((name.strip(), value.strip()))
    return entries


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of ``group``, in path order, one distribution of each name."""
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        directory = entry or "."
        if not os.path.isdir(directory):
            if os.path.isfile(directory):
                return _standard(group)  # an archive on the path: let the stdlib read it
            continue
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            distribution = _normalise(name.rsplit(".", 1)[0].split("-", 1)[0])
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(directory, name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            found += [EntryPoint(n, v, distribution) for n, v in _section(text, group)]
    return found


def _standard(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points as standard

    return [
        EntryPoint(ep.name, ep.value, _normalise(ep.dist.name if ep.dist else "?"))
        for ep in standard(group=group)
    ]
