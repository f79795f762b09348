"""Which names wave lets reach git: branches, remotes, hotfix names, merge messages.

Every name that reaches git is checked first against a stricter rule than git's own:
``$(id)`` is a valid git branch name, but it ends up in commands people copy from
messages, so wave refuses it. The configuration checks ``[git]`` with the same functions
when it loads, so a bad name fails there and not half way through a merge.
"""

from __future__ import annotations

import re
import string

from wave_sdk.errors import UsageError

DEFAULT_MESSAGE = "Merge {branch} into {target}"
"""The merge commit message template; ``[git] message`` replaces it."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_NAME_CHAR = re.compile(r"[A-Za-z0-9._/-]")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a branch or remote name for wave; ``None`` when it can.

    Letters, digits and ``. _ - /`` only, starting with a letter or a digit, and none of
    git's own exclusions (``..``, ``//``, a trailing ``.lock``). The rule is stricter than
    git's so that no name can pass for an option (``-x``) or look like shell syntax in a
    command that a message suggests.
    """
    if not name:
        return "it is empty"
    if not _NAME.fullmatch(name):
        bad = sorted({c for c in name if not _NAME_CHAR.fullmatch(c)})
        if bad:
            return "it contains " + " ".join(repr(c) for c in bad)
        return "it must start with a letter or a digit"
    if ".." in name:
        return "it contains '..'"
    if "//" in name or "/." in name:
        return "it contains '//' or a part starting with '.'"
    if name.endswith(("/", ".", ".lock")):
        return "it ends with '/', '.' or '.lock'"
    if name == "HEAD":
        return "HEAD is not a branch"
    return None


def template_problem(template: str) -> str | None:
    """Why ``template`` is not a usable merge message; ``None`` when it is.

    The only placeholders are ``{branch}`` (the branch merged) and ``{target}`` (the branch
    merged into); anything else would fail only at merge time, so it fails at load time.
    """
    if not template.strip():
        return "the message is empty"
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"not a valid template: {exc}"
    unknown = [f for f in fields if f not in ("branch", "target")]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}"
    return None


def check_names(*names: str, what: str = "branch") -> None:
    """Raise :class:`~wave_sdk.errors.UsageError` for the first name git must not see."""
    for name in names:
        problem = name_problem(name)
        if problem:
            raise UsageError(
                f"{what} name {name!r} is not usable: {problem}",
                hint="use letters, digits and . _ - / (e.g. feature/backend)",
            )
