"""Approval levels (L1 … L5) and the runbook's default approval matrix.

The CLI parses ``--level`` with :func:`parse_level` too, so a level reads the same on the
command line as in ``[approvals]``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from wave_sdk.config.errors import Invalid

ACTIONS = ("deploy", "migration", "config", "rollback")
LEVEL_NAMES = {1: "L1 (human)", 2: "L2 (CTO)", 3: "L3 (PM)", 4: "L4 (QA)", 5: "L5 (automatic)"}


def parse_level(value: Any) -> Any:
    """``"L3"`` (or ``"l3"``) as 3; any other value unchanged, for the caller to judge."""
    if isinstance(value, str) and re.fullmatch(r"[Ll][1-5]", value.strip()):
        return int(value.strip()[1])
    return value


def check_level(value: Any) -> int:
    """``value`` (1 to 5, or ``"L1"`` to ``"L5"``) as the level's number."""
    parsed = parse_level(value)
    if isinstance(parsed, bool) or not isinstance(parsed, int) or not 1 <= parsed <= 5:
        raise Invalid(
            f"{value!r} is not an approval level",
            hint="use one of L1 (human), L2 (CTO), L3 (PM), L4 (QA), L5 (automatic)",
        )
    return parsed


Level = Annotated[
    int,
    BeforeValidator(check_level),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^[Ll][1-5]$"},
                {"type": "integer", "minimum": 1, "maximum": 5},
            ],
            "description": "L1 (human), L2 (CTO), L3 (PM), L4 (QA) or L5 (automatic)",
        }
    ),
]
"""An approval level: ``"L1"`` … ``"L5"`` (or 1 … 5). L1 is a human, L5 automatic."""

DEFAULT_MATRIX: dict[str, dict[str, int]] = {
    "deploy": {"development": 5, "staging": 3, "production": 1},
    "migration": {"development": 4, "staging": 2, "production": 1},
    "config": {"development": 5, "staging": 3, "production": 1},
    "rollback": {"development": 5, "staging": 3, "production": 1},
}
"""The runbook's approval matrix; ``[approvals]`` overrides cells of it."""
