"""docs/adapters/vercel.md documents every key of the target, with its default."""

from __future__ import annotations

from pathlib import Path

from wave_sdk_vercel.config import VercelTarget

from wave_sdk.testing.docs import reference_mismatches

PAGE = Path(__file__).resolve().parents[3] / "docs" / "adapters" / "vercel.md"


def test_configuration_reference_matches_the_model() -> None:
    assert reference_mismatches(PAGE, VercelTarget) == []
