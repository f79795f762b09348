"""An adapter's page documents every key of its target, with the model's default.

The pages under ``docs/adapters/`` hold a hand-written configuration reference (a table
``| `key` | type | default | description |``) richer than the generated one; this check
keeps its keys and defaults in step with the adapter's ``Settings`` model::

    assert reference_mismatches(PAGE, DockerTarget) == []
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \| .+ \|$", re.M)


def reference_mismatches(page: Path, model: type[BaseModel]) -> list[str]:
    """One line per field the page leaves out or shows with another default."""
    rows = dict(ROW.findall(page.read_text(encoding="utf-8")))
    wrong = []
    for name, field in model.model_fields.items():
        if name not in rows:
            wrong.append(f"{name}: undocumented")
            continue
        if field.is_required():
            expected = "**required**"
        else:
            value = field.get_default(call_default_factory=True, validated_data={})
            expected = "—" if value is None else f"`{json.dumps(value)}`"
        if rows[name].strip() != expected:
            wrong.append(f"{name}: the page says {rows[name].strip()}, the model {expected}")
    return wrong
