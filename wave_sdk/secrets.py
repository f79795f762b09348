"""Secret values: how ``${VAR}`` reaches an adapter without ever reaching an output.

Two layers, because one is not enough. The configuration loader turns every ``${VAR}`` into
a :class:`pydantic.SecretStr`, whose ``str()`` and ``repr()`` print ``**********``; an
adapter calls ``.get_secret_value()`` at the one place it hands the value to the platform.
And every value loaded that way is also registered here, so that everything a user or a
file can see — console, logs, signals, history, journals, reports, error messages — comes
out masked even when a secret leaked into it by accident (an adapter that formats a
command line, a platform error echoing a token, a check that prints its environment).

The rule for writers, one way for each kind of output:

* data (dicts, lists, models) is serialised with :func:`dumps`, which masks every string
  *in the data* first and only then calls ``json.dumps``. Masking the JSON text afterwards
  does not work: a secret with a ``"``, a backslash or non-ASCII is escaped by ``json.dumps``
  and no longer matches;
* free text (a message, a command's output) goes through :func:`redact` as soon as it is
  read and before it is cut, split into lines or quoted with ``repr()`` — the same reason;
* for text that someone else encoded (an app that logs its URL, a library that quotes a
  value in its error), :func:`register` also registers each value's JSON-escaped,
  ``repr``-escaped and URL-encoded forms.

Values shorter than :data:`MIN_LENGTH` are not masked: a secret of one to three
characters occurs by chance in any text (an ``a``, a ``1``), and masking it everywhere
would garble every message, time stamp and id. Wave still never prints such a value in
fields of its own (they are ``SecretStr``), and ``wave config validate`` warns about each
variable that holds one (:func:`too_short`); keep real secrets longer.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not masked: masking every "a" or "1" would garble all output."""

_lock = threading.Lock()
_values: set[str] = set()
_ordered: tuple[str, ...] = ()  # _values, longest first: one that contains another goes whole
_short: set[str] = set()


def forms(value: str) -> set[str]:
    """``value`` as it appears in text: raw, JSON-escaped, ``repr``-escaped, URL-encoded."""
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        quote(value),
        quote(value, safe=""),
        quote_plus(value),
    }


def register(value: str, *, name: str | None = None) -> None:
    """Remember ``value`` (in each of its :func:`forms`) as secret for the rest of the process.

    ``name`` is the variable it came from: a value too short to mask is remembered by that
    name, for :func:`too_short`.
    """
    global _ordered
    with _lock:
        if len(value) < MIN_LENGTH:
            if name is not None:
                _short.add(name)
            return
        _values.update(forms(value))
        _ordered = tuple(sorted(_values, key=len, reverse=True))


def too_short() -> list[str]:
    """Names of the variables registered with values too short to mask, sorted."""
    with _lock:
        return sorted(_short)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for value in _ordered:
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_data(data: object) -> object:
    """``data`` made JSON-shaped, with every string (keys too) passed to :func:`redact`.

    Dicts, lists, tuples and sets are walked; a pydantic model becomes its
    ``model_dump(mode="json")``; numbers, booleans and ``None`` stay; anything else
    becomes ``str()`` of it (what ``json.dumps(…, default=str)`` would print), masked.
    """
    if isinstance(data, str):
        return redact(data)
    if data is None or isinstance(data, bool | int | float):
        return data
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple | set | frozenset):
        return [redact_data(v) for v in data]
    dump = getattr(data, "model_dump", None)
    if callable(dump):
        return redact_data(dump(mode="json"))
    return redact(str(data))


def dumps(data: object, *, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """``json.dumps`` of ``data`` masked by :func:`redact_data`: the one way wave writes JSON.

    No ``default`` is needed: :func:`redact_data` has turned everything into JSON types.
    """
    return json.dumps(redact_data(data), indent=indent, ensure_ascii=ensure_ascii)


def clear() -> None:
    """Forget every registered secret (tests use this between cases)."""
    global _ordered
    with _lock:
        _values.clear()
        _short.clear()
        _ordered = ()
