"""docs/adapters/kubernetes.md carries the configuration reference generated from the model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "adapters" / "kubernetes.md"


def test_configuration_reference_is_the_generated_one() -> None:
    spec = importlib.util.spec_from_file_location(
        "wave_docs_generate", ROOT / "docs" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    reference = generate.configuration_page()
    start = reference.index('### `adapter = "kubernetes"`')
    end = reference.find("\n### ", start + 1)
    section = reference[start : end if end > 0 else None]
    table = section[section.index("| key |") :].strip().split("\n\n")[0]
    assert table in PAGE.read_text(encoding="utf-8"), (
        "the table under 'Configuration reference' is not the generated one: paste the "
        "kubernetes section of docs/reference/configuration.md (python docs/generate.py)"
    )
