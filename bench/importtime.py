"""Where a ``wave`` command's start-up goes: ``python -X importtime``, repeated, medians.

One ``-X importtime`` run is too noisy on a shared machine to rank modules, so this runs the
command ``--runs`` times (fresh processes) and reports, per imported module, the median
self and cumulative import time. It also times the whole process and the part spent
outside imports (``main()`` itself: entry-point scanning, pydantic schema building …).

Usage::

    .venv/bin/python bench/importtime.py adapters          # wave adapters
    .venv/bin/python bench/importtime.py --help --top 25   # wave --help
    .venv/bin/python bench/importtime.py --version

    .venv/bin/python bench/importtime.py --imports docker  # what a deploy to Docker imports
    .venv/bin/python bench/importtime.py --imports ssh --out bench/results/importtime-ssh.json

Arguments after the options are passed to ``wave_sdk.cli.main``. ``--imports PATH`` times
instead the modules a ``wave deploy`` on that path loads before its first request
(:data:`DEPLOY_IMPORTS`: the CLI, the pipeline, the health checks' HTTP client, the
adapter and its platform library), which a process cannot reach without a target to
deploy to, and beside them, interleaved, a process importing only the third-party
libraries among them (:data:`LIBRARY_IMPORTS`): the difference is wave's own share. ``--out``
writes the medians as JSON. Standard library only.
Bytecode is cached in a private directory, as in ``startup.py``, so module self times do
not include compiling wave_sdk from source.

Caveat: ``-X importtime`` does not see modules loaded through ``importlib.import_module``
(plugin modules, entry points, pydantic's lazy attributes): only their own ``import``
statements show up, at the top level. Compare "main() incl. lazy imports" with the table.
"""

from __future__ import annotations

import argparse
import json
import os
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

DEPLOY_IMPORTS = {
    "docker": (
        "import wave_sdk.wave, wave_sdk.cli.commands, wave_sdk.run.deploy, wave_sdk.health, "
        "httpx; from wave_sdk_docker import adapter, engine; engine.import_sdk(ssh=False)"
    ),
    "ssh": (
        "import wave_sdk.wave, wave_sdk.cli.commands, wave_sdk.run.deploy, wave_sdk.health, "
        "httpx, asyncssh; from wave_sdk_ssh import adapter, transport"
    ),
}
"""What ``wave deploy`` imports on each path before its first request, give or take (the CLI
sets ``httpx._main`` aside first, as :func:`wave_sdk.cli.main` does)."""

_PYDANTIC = "pydantic.main, pydantic.fields, pydantic.types, pydantic.functional_validators"
LIBRARY_IMPORTS = {
    "docker": (
        "sys.modules['paramiko'] = None\n"
        f"import docker, httpx, pluggy, tenacity, tomllib, {_PYDANTIC}\n"
        "del sys.modules['paramiko']"
    ),
    "ssh": f"import asyncssh, httpx, pluggy, tenacity, tomllib, {_PYDANTIC}",
}
"""The third-party libraries the same deploy imports, and nothing of wave's: the floor under
any Python command built on them. docker-py is imported lean (paramiko hidden), as
:func:`wave_sdk_docker.engine.import_sdk` does for a unix-socket engine; pydantic, up to the
modules its lazy ``BaseModel``, ``Field`` and validators load. ``-X importtime`` charges those
lazy loads to the wave module that names them first, so only this difference tells wave's
own share: the deploy's imports minus these."""

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


def deploy_code(path: str, *, libraries: bool = False) -> str:
    """The ``-c`` program that imports what a deploy on ``path`` does (or, with ``libraries``,
    only its third-party libraries), timing it as CODE does."""
    imports = (LIBRARY_IMPORTS if libraries else DEPLOY_IMPORTS)[path]
    return (
        "import sys, time\nt0 = time.perf_counter()\nsys.modules['httpx._main'] = None\n"
        f"{imports}\nt1 = time.perf_counter()\n"
        "print(f'WAVE-BENCH {(t1 - t0) * 1e3:.3f} 0', file=sys.stderr)\n"
    )


def run_once(
    argv: list[str], cwd: str, env: dict[str, str], code: str | None = None
) -> tuple[float, dict[str, tuple[int, int, int]], str]:
    code = CODE.format(argv=argv) if code is None else code
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
    parser.add_argument("--imports", choices=sorted(DEPLOY_IMPORTS), help="a deploy's imports")
    parser.add_argument("--out", type=Path, help="write the medians here as JSON")
    args, wave_argv = parser.parse_known_args(cli_argv)
    code = deploy_code(args.imports) if args.imports else None

    self_us: dict[str, list[int]] = defaultdict(list)
    cum_us: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    walls, import_cli, run_main = [], [], []
    library_walls, library_imports = [], []
    library_code = deploy_code(args.imports, libraries=True) if args.imports else None
    with tempfile.TemporaryDirectory(prefix="wave-importtime-") as cwd:
        env = child_env("cached", str(Path(cwd) / "pycache"))
        run_once(wave_argv, cwd, env, code)  # fills the bytecode cache
        for _ in range(max(1, args.runs)):
            if library_code is not None:  # interleaved: the same drift on both
                wall, _modules, marker = run_once([], cwd, env, library_code)
                library_walls.append(wall)
                library_imports.append(float(marker.split()[1]))
            wall, modules, marker = run_once(wave_argv, cwd, env, code)
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

    what = f"a deploy's imports ({args.imports})" if args.imports else f"main({wave_argv!r})"
    print(f"{what} under -X importtime, {runs} runs, medians")
    print(f"  process wall      {statistics.median(walls):8.1f} ms (importtime adds overhead)")
    if import_cli and args.imports:
        print(f"  the imports       {statistics.median(import_cli):8.1f} ms")
        libraries = statistics.median(library_imports)
        print(f"  of which the libraries alone {libraries:8.1f} ms (a process importing only them)")
        print(f"  and wave's own modules       {statistics.median(import_cli) - libraries:8.1f} ms")
    elif import_cli:
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
    if args.out:
        result = {
            "benchmark": "importtime",
            "what": what,
            "code": code,
            "runs": runs,
            "machine": {
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "cpu_count": os.cpu_count(),
                "load_average": [round(v, 2) for v in os.getloadavg()],
            },
            "median_process_wall_ms": round(statistics.median(walls), 1),
            "median_imports_ms": round(statistics.median(import_cli), 1) if import_cli else None,
            "libraries_code": library_code,
            "median_libraries_process_wall_ms": (
                round(statistics.median(library_walls), 1) if library_walls else None
            ),
            "median_libraries_imports_ms": (
                round(statistics.median(library_imports), 1) if library_imports else None
            ),
            "modules": len(self_us),
            "self_ms_by_package": {
                name: round(total, 1)
                for name, total in sorted(groups.items(), key=lambda kv: kv[1], reverse=True)
            },
            "top_cumulative_ms": {name: round(med(cum_us[name]), 1) for name in ranked},
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
