"""The ``wave`` command: parse, dispatch to a handler, map errors to one line and an exit code.

Handlers live in :mod:`wave_sdk.cli.commands` and are imported only when a command runs;
``wave --help`` touches nothing but argparse.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # see wave_sdk/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments == ["--version"]:  # answered before building the parser: it is the bulk
        return _version()

    from wave_sdk.cli.parser import build_parser

    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.version:
        return _version()
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2

    # httpx imports its own command line (click, pygments, rich) whenever those happen to be
    # installed, though nothing here runs it: a tenth of a deploy's start-up. A module set to
    # None in sys.modules makes that import fail at once, and httpx then skips it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from wave_sdk.cli import commands
    from wave_sdk.errors import WaveError

    try:
        code: int = getattr(commands, args.handler)(args)
        return code
    except WaveError as exc:
        commands.report_error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # Outside a run (a run turns SIGINT/SIGTERM into a recorded, rolled-back failure).
        print(f"wave: {getattr(exc, 'message', 'interrupted')}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))


def _version() -> int:
    from wave_sdk import __version__

    print(f"wave-sdk {__version__}")
    return 0
