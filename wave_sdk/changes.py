"""What a release changes since the last deployed one: files, stories, configuration only.

The signals' ``changes.stories`` and the decision tree's "is it a configuration issue?"
both come from the same fact — the commits between the release the environment runs and
the one being deployed — read from git. Without git, or on a first deploy, the answers are
the conservative ones: no stories, not configuration-only.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from pathlib import Path

from wave_sdk import git
from wave_sdk.errors import GitError


def changed_files(root: Path, since: str | None, until: str | None) -> list[str] | None:
    """Paths changed between two commits (see :func:`wave_sdk.git.changed_files`).

    ``None`` when git cannot tell: no commit on either side, not a repository, git missing.
    """
    if not since or not until:
        return None
    try:
        return git.changed_files(root, since, until)
    except GitError:
        return None


def is_config_only(files: list[str] | None, patterns: Iterable[str]) -> bool:
    """Whether every changed file matches a configuration pattern (and something changed)."""
    if not files:
        return False
    patterns = list(patterns)
    return all(any(fnmatch.fnmatch(f, p) for p in patterns) for f in files)


def stories(
    root: Path,
    since: str | None,
    until: str | None,
    *,
    pattern: str,
    signals_dir: Path | None = None,
) -> list[str]:
    """Story ids from commit subjects since the last deploy, and from story signal files.

    A story signal is ``signal-*story*.json`` with a ``story`` (or ``story_id``/``id``)
    field, as the WAVE framework writes when a story is done.
    """
    found: list[str] = []
    if until:
        span = f"{since}..{until}" if since else until
        # A first deploy has no lower bound: the recent past is enough to name its stories.
        try:
            log = git.run(
                root, "log", "--max-count=200", "--format=%s%n%b", "--end-of-options", span, "--"
            ).stdout
        except GitError:
            log = ""
        found += re.findall(pattern, log)
    if signals_dir is not None and signals_dir.is_dir():
        for file in sorted(signals_dir.glob("signal-*story*.json")):
            try:
                data = json.loads(file.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                story = data.get("story") or data.get("story_id") or data.get("id")
                if isinstance(story, str):
                    found.append(story)
    return list(dict.fromkeys(found))  # unique, first-seen order
