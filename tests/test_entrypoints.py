"""Our entry-point reader agrees with importlib.metadata, which it replaces for speed."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points as standard
from pathlib import Path

import pytest

from wave_sdk.entrypoints import entry_points


@pytest.mark.parametrize("group", ["wave_sdk", "console_scripts", "pytest11", "no-such-group"])
def test_same_entry_points_as_the_standard_library(group: str) -> None:
    ours = sorted((ep.name, ep.value) for ep in entry_points(group))
    theirs = sorted((ep.name, ep.value) for ep in standard(group=group))
    assert ours == theirs
    if group == "wave_sdk":
        assert ("static", "wave_example_static.plugin") in ours


def test_first_distribution_on_the_path_wins(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for where, value in (("first", "one.plugin"), ("second", "two.plugin")):
        dist = tmp_path / where / "shadowed_dist-1.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shadowed-dist\n")
        (dist / "entry_points.txt").write_text(f"[wave_sdk]\nshadow = {value} [extra]\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "first"), str(tmp_path / "second")])
    [ep] = entry_points("wave_sdk")
    assert (ep.name, ep.value, ep.distribution) == ("shadow", "one.plugin [extra]", "shadowed_dist")
    assert [e.value for e in standard(group="wave_sdk")] == ["one.plugin [extra]"]
