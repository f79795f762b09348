"""`make demo` works from a clone, whatever branch is checked out (the README's first command).

The demo is copied, with the example apps, into a fresh git repository on `main`, its port
moved to a free one, and run as `make demo` runs it; it checks its own exit codes (deploy
0, the broken deploy rolled back 7) and stops the app it started.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from projects import commit_all, git

from wave_sdk.testing import free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_demo_runs_from_a_fresh_clone_on_main(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    for name in ("app", "app-broken", "demo"):
        shutil.copytree(
            EXAMPLES / name, root / name, ignore=shutil.ignore_patterns(".wave", ".claude")
        )
    shutil.copy(EXAMPLES / "demo.py", root / "demo.py")
    toml = root / "demo" / "wave.toml"
    toml.write_text(toml.read_text().replace("port = 38471", f"port = {free_port()}"))
    git(tmp_path, "init", "-q", "-b", "main")
    commit_all(tmp_path, "a clone")
    done = subprocess.run(
        [sys.executable, str(root / "demo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "signal-rollback-complete" in done.stdout
    assert "stopped the demo app" in done.stdout


def test_the_example_apps_are_the_test_kits_health_app() -> None:
    """Real files (a release may not link out of its source), kept equal to the kit's app."""
    kit = Path(__file__).resolve().parents[1] / "wave_sdk" / "testing" / "healthapp.py"
    for name in ("app", "app-broken"):
        server = EXAMPLES / name / "server.py"
        assert not server.is_symlink() and server.read_bytes() == kit.read_bytes(), name
