"""The ``wave`` command: parse, dispatch to a handler, map errors to one line and an exit code.

Handlers live in :mod:`wave_sdk.cli.commands` and are imported only when a command runs;
``wave --help`` touches nothing but argparse.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from wave_sdk.cli.parser import build_parser

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from wave_sdk import __version__

        print(f"wave-sdk {__version__}")
        return 0
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2

    from wave_sdk.cli import commands
    from wave_sdk.errors import WaveError

    try:
        code: int = getattr(commands, args.handler)(args)
        return code
    except WaveError as exc:
        commands.report_error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wave: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())
