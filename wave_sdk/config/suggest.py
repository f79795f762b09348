"""'Did you mean …?': the key, target or adapter name a misspelt word most likely meant.

Written here because the standard library has no edit distance that counts a swapped pair
of letters as one typo (difflib only scores similarity), and the job is too small to take a
dependency for.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` is most likely a typo of, if any.

    Edit distance with transpositions first ("prot" is "port", not "root"), so a swapped,
    missing or extra letter always finds its key; difflib's similarity as a fallback.
    """
    choices = list(choices)
    limit = 1 if len(word) <= 4 else 2 if len(word) <= 8 else 3
    scored = sorted((distance(word.lower(), c.lower()), c) for c in choices)
    if scored and scored[0][0] <= limit:
        return scored[0][1]
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[len(b)]
