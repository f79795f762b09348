"""Where a ``wave`` command's start-up goes: ``python -X importtime``, repeated, medians.

One ``-X importtime`` run is too noisy on a shared machine to rank modules, so this runs the
command ``--runs`` times (fresh processes) and reports, per imported module, the median
self and cumulative import time. It also times the whole process and the part spent
outside imports (``main()`` itself: entry-point scanning, pydantic schema building …).

Usage::

    .venv/bin/python bench/importtime.py adapters          # wave adapters
    .venv/bin/python bench/importtime.py --help --top 25   # wave --help
    .venv/bin/python bench/importtime.py --version

Arguments after the options are passed to ``wave_sdk.cli.main``. Standard library only.
Bytecode is cached in a private directory, as in ``startup.py``, so module self times do
not include compiling wave_sdk from source.

Caveat: ``-X importtime`` does not see modules loaded through ``importlib.import_module``
(plugin modules, entry points, pydantic's lazy attributes): only their own ``import``
statements show up, at the top level. Compare "main() incl. lazy imports" with the table.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from startup import child_env

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")

CODE = """\
import time
t0 = time.perf_counter()
from wave_sdk.cli import main
t1 = time.perf_counter()
try:
    main({argv!r})
except SystemExit:
    pass
t2 = time.perf_counter()
import sys
print(f"WAVE-BENCH {{(t1 - t0) * 1e3:.3f}} {{(t2 - t1) * 1e3:.3f}}", file=sys.stderr)
"""


def run_once(
    argv: list[str], cwd: str, env: dict[str, str]
) -> tuple[float, dict[str, tuple[int, int, int]], str]:
    code = CODE.format(argv=argv)
    start = time.perf_counter()
    done = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )
    wall = (time.perf_counter() - start) * 1e3
    modules: dict[str, tuple[int, int, int]] = {}
    marker = ""
    for line in done.stderr.splitlines():
        m = LINE.match(line)
        if m:
            depth = len(m.group(3)) // 2
            modules[m.group(4)] = (int(m.group(1)), int(m.group(2)), depth)
        elif line.startswith("WAVE-BENCH "):
            marker = line
    return wall, modules, marker


def main(cli_argv: list[str] | None = None) -> int:
    # No -h/--help of its own: ``--help`` and ``--version`` belong to wave.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes (default 15)")
    parser.add_argument("--top", type=int, default=20, help="rows per table (default 20)")
    args, wave_argv = parser.parse_known_args(cli_argv)

    self_us: dict[str, list[int]] = defaultdict(list)
    cum_us: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    walls, import_cli, run_main = [], [], []
    with tempfile.TemporaryDirectory(prefix="wave-importtime-") as cwd:
        env = child_env("cached", str(Path(cwd) / "pycache"))
        run_once(wave_argv, cwd, env)  # fills the bytecode cache
        for _ in range(max(1, args.runs)):
            wall, modules, marker = run_once(wave_argv, cwd, env)
            walls.append(wall)
            if marker:
                a, b = marker.split()[1:]
                import_cli.append(float(a))
                run_main.append(float(b))
            for name, (s, c, d) in modules.items():
                self_us[name].append(s)
                cum_us[name].append(c)
                depth.setdefault(name, d)

    runs = len(walls)

    def med(values: list[int]) -> float:
        # A module missing from some runs counts as 0 there.
        return statistics.median(values + [0] * (runs - len(values))) / 1e3

    print(f"wave_sdk.cli.main({wave_argv!r}) under -X importtime, {runs} runs, medians")
    print(f"  process wall      {statistics.median(walls):8.1f} ms (importtime adds overhead)")
    if import_cli:
        print(f"  import wave_sdk.cli {statistics.median(import_cli):6.1f} ms")
        print(f"  main() incl. lazy imports {statistics.median(run_main):6.1f} ms")
    total_self = sum(med(v) for v in self_us.values())
    print(f"  modules imported  {len(self_us):8d}   sum of self times {total_self:.1f} ms")

    print(f"\ntop {args.top} by cumulative time (ms; top-level imports marked *)")
    ranked = sorted(cum_us, key=lambda n: med(cum_us[n]), reverse=True)[: args.top]
    for name in ranked:
        star = "*" if depth[name] == 0 else " "
        print(f"  {med(cum_us[name]):7.1f} {med(self_us[name]):7.1f} self  {star} {name}")

    print(f"\ntop {args.top} by self time (ms)")
    for name in sorted(self_us, key=lambda n: med(self_us[n]), reverse=True)[: args.top]:
        print(f"  {med(self_us[name]):7.1f}  {name}")

    groups: dict[str, float] = defaultdict(float)
    for name, values in self_us.items():
        groups[name.split(".")[0]] += med(values)
    print("\nself time by top-level package (ms)")
    for name, total in sorted(groups.items(), key=lambda kv: kv[1], reverse=True)[: args.top]:
        print(f"  {total:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
