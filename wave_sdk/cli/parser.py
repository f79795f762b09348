"""The ``wave`` command line, declared with argparse and nothing else.

Building the parser imports no part of wave-sdk beyond this module and the exit-code table,
so ``wave --help`` costs an interpreter start plus argparse. Each subcommand names its
handler in :mod:`wave_sdk.cli.commands` by string; that module (and pydantic, pluggy,
httpx) is imported only once a command actually runs.
"""

from __future__ import annotations

import argparse
import os
import sys

from wave_sdk.errors import EXIT_CODES

DESCRIPTION = """\
Run the deployment runbook: gate checks, approvals, deploy, verify, automatic rollback,
signals and history, against any target an installed adapter supports.
"""


def _epilog() -> str:
    codes = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    return (
        f"exit codes:\n{codes}\n\n"
        "Configuration is read from wave.toml (or [tool.wave] in pyproject.toml) in the\n"
        "current directory or above. `wave init` writes a commented one."
    )


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, told the width so that it does not import shutil to ask."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_width() - 2)


def _width() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return 80


def _common(default: object) -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand.

    The subcommand's copies default to SUPPRESS, so ``wave --json adapters`` keeps the value
    given before the subcommand instead of resetting it.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=None if default is None else default,
        help="configuration file or project directory (default: search upwards)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=False if default is None else default,
        help="print the result as JSON on stdout (progress as JSON lines on stderr)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if default is None else default,
        help="show the details of progress too, such as each retry of a request "
        "(JSON lines always carry them)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common(None)
    sub_common = _common(argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="wave",
        description=DESCRIPTION,
        epilog=_epilog(),
        parents=[common],
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[sub_common],
            epilog=_epilog(),
            formatter_class=_Formatter,
        )
        p.set_defaults(handler=handler)
        return p

    def env(p: argparse.ArgumentParser, required: bool = True) -> None:
        p.add_argument(
            "--env",
            "-e",
            required=required,
            metavar="ENV",
            help="environment name, as in [environments.ENV]",
        )

    def release(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--release",
            "-r",
            metavar="ID",
            help="release id (default: the git commit, or a hash of --source)",
        )
        p.add_argument(
            "--source", metavar="DIR", help="directory to deploy (overrides the target's `source`)"
        )

    def wave_number(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--wave",
            type=_wave_number,
            metavar="N",
            help="the WAVE framework's wave being deployed (overrides [gate] wave)",
        )

    p = command("init", "init", "write a commented wave.toml in the current directory")
    p.add_argument("--force", action="store_true", help="overwrite an existing wave.toml")

    p = command("plan", "plan", "show what a deploy would do, and which approvals it needs")
    env(p)
    release(p)
    wave_number(p)

    p = command(
        "check", "check", "run the pre-deploy checklist of an environment; write its report"
    )
    env(p)
    wave_number(p)
    p.add_argument(
        "--confirm",
        action="append",
        default=[],
        metavar="ITEM",
        help="record that the manual item ITEM (e.g. stakeholders) is done for this "
        "release, by you, before checking; on a terminal wave asks for each one instead",
    )

    p = command("deploy", "deploy", "gate, approve, lock, deploy, verify; roll back on failure")
    env(p, required=False)
    release(p)
    wave_number(p)
    p.add_argument(
        "--auto",
        action="store_true",
        help="instead of --env: deploy the current commit to every environment whose "
        "`branch` matches the pushed branch and whose `auto_deploy` is true (for a CI job "
        "on push; docs/ci.md); deploying nowhere is not an error",
    )
    p.add_argument(
        "--branch",
        metavar="NAME",
        help="with --auto: the pushed branch (default: from the CI service's variables, "
        "else the branch checked out)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    p.add_argument(
        "--lock-wait",
        type=_wait,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another deployment's lock (default: fail at once)",
    )
    p.add_argument(
        "--migrations",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the release carries database migrations (default: detect from "
        "[migrations] detect paths changed since the environment's release)",
    )
    p.add_argument(
        "--allow-no-rollback",
        action="store_true",
        help="deploy even if the release to roll back to is gone from the target",
    )

    p = command("rollback", "rollback", "return an environment to an earlier release")
    env(p)
    p.add_argument("--to", metavar="RELEASE", help="release to return to (default: the previous)")
    p.add_argument("--reason", type=_line, help="why, for history and the signal")
    p.add_argument(
        "--lock-wait",
        type=_wait,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another deployment's lock",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="show the decision tree's recommendation and the rollback target; change nothing",
    )

    p = command(
        "recover",
        "recover",
        "finish runs that died (killed, crashed, abandoned): a deploy's targets go back to the "
        "last verified release (its database first, if it migrated), an interrupted rollback "
        "is completed; the release is verified and the missing history record and signal "
        "written. `wave deploy` and `wave rollback` do this first on their own; nothing to "
        "recover is not an error. Exits 8 when the release returned to fails verification",
    )
    env(p)

    p = command("status", "status", "what runs on each target, and what it can roll back to")
    env(p, required=False)

    p = command("health", "health", "one round of every health check of an environment")
    env(p)

    p = command("history", "history", "past deploys, rollbacks and lock overrides")
    env(p, required=False)
    p.add_argument(
        "--limit",
        "-n",
        type=_count,
        default=20,
        metavar="N",
        help="show the last N entries (default 20, 0 for all)",
    )

    command("adapters", "adapters", "installed adapters and their capabilities; broken plugins")

    p = command("approve", "approve", "record an approval for an action in an environment")
    env(p)
    p.add_argument(
        "--action",
        default="deploy",
        choices=["deploy", "migration", "config", "rollback"],
        help="what is approved (default deploy)",
    )
    p.add_argument(
        "--level",
        default="L1",
        metavar="L1..L5",
        help="authority of the approver: L1 human … L5 automatic (default L1)",
    )
    p.add_argument(
        "--release",
        metavar="ID",
        help="name the release approved; alone it binds no commit or digest and covers L3 to "
        "L5 only (L1 and L2 need --commit, --digest or --source, or none of the four)",
    )
    p.add_argument(
        "--commit",
        metavar="SHA",
        help="bind the approval to this commit (a short SHA or a ref is resolved to the full SHA)",
    )
    p.add_argument(
        "--digest",
        metavar="sha256:HEX",
        help="bind the approval to this content digest (as `wave plan` shows for a release "
        "that is not a clean checkout)",
    )
    p.add_argument(
        "--source",
        metavar="DIR",
        help="bind the approval to what DIR is now (its commit if clean, else its digest); "
        "the default when no --commit, --digest or --release is given is the project",
    )
    p.add_argument(
        "--by", type=_line, metavar="NAME", help="who approves (default: the current user)"
    )
    p.add_argument(
        "--expires",
        type=float,
        metavar="SECONDS",
        help="validity, up to a year (default: no expiry)",
    )

    p = command("lock", "lock", "show who holds an environment's lock")
    env(p)

    p = command("unlock", "unlock", "break an environment's lock (recorded in history)")
    env(p)
    p.add_argument(
        "--force",
        action="count",
        required=True,
        help="required; twice to break the lock of a deployment still running on this "
        "machine (two deploys at once is what the lock prevents)",
    )
    p.add_argument("--reason", type=_line, required=True, help="why, for history")

    p = command("state", "state", "move history, current releases and approvals to another store")
    p.add_argument(
        "action",
        choices=["migrate"],
        help="migrate: copy the [state] store's history, current releases and approvals to "
        "the store --to names (refused while an environment is locked or has an "
        "interrupted run; records already there are not copied twice); then set "
        "[state] store to it",
    )
    p.add_argument(
        "--to",
        required=True,
        metavar="STORE",
        help='the destination store: "local", or an installed one such as "s3" (its '
        "[state.STORE] table configures it)",
    )

    p = command("config", "config", "validate, show or print the JSON Schema of the configuration")
    p.add_argument(
        "action",
        choices=["validate", "schema", "show"],
        help="validate: check every key and target; schema: JSON Schema of the file "
        "(installed adapters included); show: the validated configuration",
    )

    p = command("merge", "merge", "merge branches in order (--no-ff), validate, push; or nothing")
    env(p)
    p.add_argument(
        "--branch",
        "-b",
        action="append",
        metavar="BRANCH",
        help="a branch to merge, repeatable, in order (default: [git] merge_order)",
    )
    p.add_argument("--no-push", action="store_true", help="merge and validate, but do not push")

    p = command("hotfix", "hotfix", "start a hotfix branch from main, or finish it")
    p.add_argument(
        "action",
        choices=["start", "finish"],
        help="start: create hotfix/NAME from main; finish: check the merge, require its L1 "
        "approval, then merge into main (--no-ff), push, deploy, backport to develop and "
        "delete the branch",
    )
    p.add_argument("name", metavar="NAME", help="the hotfix's name: letters, digits, . _ -")
    env(p, required=False)
    p.add_argument(
        "--no-deploy",
        action="store_true",
        help="finish without deploying (the checks and the approval still apply)",
    )

    p = command("revert", "revert", "roll code back: revert commits (-m 1 for a merge), pushed")
    p.add_argument(
        "commit",
        metavar="COMMIT",
        help="the commit or merge commit to revert, or a range A..B (e.g. HEAD~3..HEAD: "
        "reverted newest first, one revert commit each); HEAD is the branch's tip",
    )
    p.add_argument(
        "--branch", "-b", metavar="BRANCH", help="branch to revert on (default: [git] main)"
    )
    p.add_argument("--no-push", action="store_true", help="commit the revert, but do not push")
    return parser


_LONGEST_WAIT_S = 86_400.0
"""A day: ``--lock-wait`` longer than that is a typo, not a plan."""


def _wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= _LONGEST_WAIT_S:  # NaN too
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds from 0 to {_LONGEST_WAIT_S:g}"
        )
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0, 1, 2 …)")
    return int(text)


def _line(text: str) -> str:
    """A name or a reason, as history, signals and terminals will show it: one plain line."""
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} holds a newline or another control character; write one plain line"
        )
    if len(text) > 1000:
        raise argparse.ArgumentTypeError(f"{len(text)} characters: keep it under 1000")
    return text


def _wave_number(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a wave number (0, 1, 2 …)")
    return int(text)
