"""docs/adapters/docker.md documents every key of the target, with its default."""

from __future__ import annotations

import json
import re
from pathlib import Path

from wave_sdk_docker.config import DockerTarget

PAGE = Path(__file__).resolve().parents[3] / "docs" / "adapters" / "docker.md"
ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \| .+ \|$", re.M)


def test_configuration_reference_matches_the_model() -> None:
    rows = dict(ROW.findall(PAGE.read_text(encoding="utf-8")))
    fields = DockerTarget.model_fields
    assert set(rows) >= set(fields), f"undocumented: {sorted(set(fields) - set(rows))}"
    for name, field in fields.items():
        shown = rows[name].strip()
        if field.is_required():
            expected = "**required**"
        else:
            value = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
            expected = "—" if value is None else f"`{json.dumps(value)}`"
        assert shown == expected, f"{name}: the page says {shown}, the model {expected}"
