"""The documentation stays true: generated pages are current, links resolve, tables match.

``docs/generate.py --check`` regenerates the reference pages (and the files the guides
quote) in memory and fails when one differs from what is committed; the other tests read
the Markdown itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)


def _prose(text: str) -> str:
    """The page without code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def _links(page: Path) -> list[str]:
    text = _prose(page.read_text(encoding="utf-8"))
    return _INLINE_LINK.findall(text) + _REFERENCE_LINK.findall(text)


def _relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) and not target.startswith("//")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading (punctuation dropped, spaces to hyphens)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for line in _FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = _slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def test_there_are_pages() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.md", "quickstart.md", "concepts.md", "writing-an-adapter.md"} <= names
    assert {"reference/configuration.md", "reference/cli.md", "reference/hooks.md"} <= names


def test_generated_pages_are_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(DOCS / "generate.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        "docs are out of date; run `python docs/generate.py` and commit the result\n"
        + proc.stdout
        + proc.stderr
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in _links(page):
        if not _relative(target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            shown = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
            broken.append(f"{target}: {shown} does not exist")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file.name}")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n  " + "\n  ".join(broken)


def test_exit_code_table_matches_the_errors() -> None:
    """concepts.md maps exceptions to exit codes; errors.py is the truth."""
    from wave_sdk import errors

    rows = re.findall(
        r"^\| `(\d+)` \| ([^|]+) \|", (DOCS / "concepts.md").read_text(encoding="utf-8"), re.M
    )
    assert rows, "concepts.md has no exit-code table"
    documented = {int(code) for code, _ in rows}
    assert documented == set(errors.EXIT_CODES), (
        "concepts.md lists other exit codes than EXIT_CODES"
    )
    for code, names in rows:
        for name in re.findall(r"`(\w+)`", names):
            error = getattr(errors, name, None)
            assert error is not None, f"concepts.md names {name}, which errors.py does not define"
            assert error.exit_code == int(code), f"{name} exits {error.exit_code}, not {code}"
