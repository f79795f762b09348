"""Secret values: how ``${VAR}`` reaches an adapter without ever reaching an output.

Two layers, because one is not enough. The configuration loader turns every ``${VAR}`` into
a :class:`pydantic.SecretStr`, whose ``str()`` and ``repr()`` print ``**********``; an
adapter calls ``.get_secret_value()`` at the one place it hands the value to the platform.
And every value loaded that way is also registered here, so the writers of everything a
user or a file can see — console, logs, signals, history, error messages — pass their text
through :func:`redact` and a secret that leaked into a message by accident (an adapter that
formats a command line, a platform error echoing a token) still comes out masked.
"""

from __future__ import annotations

import threading

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not registered: masking every "a" or "1" would garble all output."""

_lock = threading.Lock()
_values: set[str] = set()


def register(value: str) -> None:
    """Remember ``value`` as secret for the rest of the process."""
    if len(value) >= MIN_LENGTH:
        with _lock:
            _values.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    if not _values:
        return text
    # Longest first, so a secret that contains another is masked whole.
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_data(data: object) -> object:
    """``data`` (JSON-shaped: dicts, lists, strings …) with every string passed to :func:`redact`.

    Masking the data before it is serialised, not the serialised text: a secret containing a
    quote, a backslash or non-ASCII is escaped by ``json.dumps`` and would no longer match.
    """
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    return data


def clear() -> None:
    """Forget every registered secret (tests use this between cases)."""
    with _lock:
        _values.clear()
