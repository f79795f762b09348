"""Every error wave-sdk raises, in one tree.

::

    WaveError                      exit 1   anything wave-sdk raises on purpose
    ├── ConfigError                exit 2   a configuration file or value is wrong
    ├── UsageError                 exit 2   the command line asks for something impossible
    ├── PluginError                exit 2   a plugin is missing, broken or misbehaving
    │   └── UnknownAdapterError    exit 2   a target names an adapter that is not installed
    ├── GateError                  exit 3   a pre-deploy check failed
    ├── ApprovalRequired           exit 4   a required approval is missing (never prompts when
    │                                       not interactive)
    ├── LockHeld                   exit 5   another deployment holds the environment's lock
    ├── StateError                 exit 1   the state store cannot be read or written
    ├── AdapterError               exit 6   the target refused or failed an operation
    │   ├── ReleaseNotFound        exit 6   a named release is not on the target
    │   └── RollbackUnavailable    exit 6   there is no release to roll back to
    ├── MigrationError             exit 6   a database migration failed (its database was restored)
    │   └── BackupFailed           exit 6   pg_dump failed or is missing; nothing was migrated
    ├── VerificationFailed         exit 7   verification failed; rolled back, or left as advised
    ├── RollbackFailed             exit 8   a rollback failed: the target needs a human
    ├── Interrupted                exit 130 SIGINT (143 SIGTERM) stopped a run; what it changed
    │                                       was rolled back, verified and recorded
    └── GitError                   exit 1   a git command failed (git's own words are quoted)
        ├── DirtyWorkTree          exit 2   uncommitted changes (or a merge, rebase …) in the way
        ├── MergeConflict          exit 3   a branch does not merge cleanly; the repository is
        │                                   as it was and nothing was pushed
        └── HotfixIncomplete       exit *   the hotfix is on main but its deploy or backport did
                                            not happen (the cause's exit code; 1 for a backport)

Exit code 0 means success; 130 and 143 an interrupt (Ctrl-C, SIGTERM). The CLI prints ``str(error)``
(one line, secrets already redacted) and exits with ``error.exit_code``; it never shows a
traceback for a :class:`WaveError`. Adapters map their platform's exceptions onto this tree
in one place of their own (``errors.py`` of the adapter), so callers catch ``WaveError``
and nothing else.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: `wave --help` imports this module and not typing
if TYPE_CHECKING:
    from typing import Any

    from wave_sdk.git.results import HotfixFinished
    from wave_sdk.models import CheckResult, RollbackResult
    from wave_sdk.run.report import DeployReport


class WaveError(Exception):
    """Base of every error wave-sdk raises on purpose.

    ``hint`` is the fix, in words a user can act on; it is appended to the message so the
    one line the CLI prints always says what to do next.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        text = self.message if not self.hint else f"{self.message} — {self.hint}"
        # Imported here: errors.py is imported by everything and must stay dependency-free.
        from wave_sdk.secrets import redact

        return redact(text)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the CLI prints for ``--json``."""
        return {"error": type(self).__name__, "message": str(self), "exit_code": self.exit_code}


class ConfigError(WaveError):
    """A configuration file or value is wrong.

    The message always names the file and the dotted key path, e.g.
    ``wave.toml: targets.web.port: Input should be a valid integer — use a number like 3000``.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class UsageError(WaveError):
    """The command line or API call asks for something that cannot be done."""

    exit_code = 2


class PluginError(WaveError):
    """A plugin failed to load, or broke a rule of the plugin system."""

    exit_code = 2


class UnknownAdapterError(PluginError):
    """A target names an adapter that no installed plugin provides."""


class GateError(WaveError):
    """One or more pre-deploy checks failed; ``results`` holds every check's outcome."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        results: list[CheckResult] | None = None,
        hint: str | None = None,
    ) -> None:
        self.results: list[CheckResult] = results or []
        super().__init__(message, hint=hint)


class ApprovalRequired(WaveError):
    """A step needs an approval that is not on record.

    ``command`` is the exact ``wave approve …`` line that would grant it.
    """

    exit_code = 4

    def __init__(self, message: str, *, command: str) -> None:
        self.command = command
        super().__init__(message, hint=f"approve with: {command}")


class LockHeld(WaveError):
    """Another deployment holds the environment's lock; ``holder`` describes it."""

    exit_code = 5

    def __init__(
        self, message: str, *, holder: dict[str, Any] | None = None, hint: str | None = None
    ) -> None:
        self.holder = holder or {}
        super().__init__(message, hint=hint)


class StateError(WaveError):
    """The state store cannot be read or written."""


class AdapterError(WaveError):
    """The target refused or failed an operation (deploy, rollback, status, health)."""

    exit_code = 6


class ReleaseNotFound(AdapterError):
    """A release named by the user or by history is not present on the target."""


class RollbackUnavailable(AdapterError):
    """There is no earlier release on the target to roll back to."""


class MigrationError(WaveError):
    """A database migration command failed (see :mod:`wave_sdk.migrations`).

    The message ends with the last lines of the command's output, and says whether the
    database was restored from the backup taken just before.
    """

    exit_code = 6


class BackupFailed(MigrationError):
    """The backup before a migration failed, or ``pg_dump`` is missing: nothing was migrated."""


class VerificationFailed(WaveError):
    """Verification failed after a deploy.

    The release was rolled back, or — where the decision tree advised fixing the
    configuration, or ``auto_rollback`` is off — left in place with the advice in ``hint``.
    ``rollback`` is the result of the automatic rollback (``None`` when there was none),
    ``report`` the pipeline's record of the run (its ``decision`` says which branch).
    """

    exit_code = 7

    def __init__(
        self,
        message: str,
        *,
        rollback: RollbackResult | None = None,
        report: DeployReport | None = None,
        hint: str | None = None,
    ) -> None:
        self.rollback = rollback
        self.report = report
        super().__init__(message, hint=hint)


class RollbackFailed(WaveError):
    """A rollback failed; the target is in an unknown state and needs a human."""

    exit_code = 8


class Interrupted(WaveError):
    """SIGINT or SIGTERM stopped a run, which then rolled back what it had changed.

    ``exit_code`` is 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM); ``report``
    is the run's record (outcome ``interrupted``).
    """

    exit_code = 130

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = 130,
        report: DeployReport | None = None,
        hint: str | None = None,
    ) -> None:
        self.exit_code = exit_code
        self.report = report
        super().__init__(message, hint=hint)


class GitError(WaveError):
    """A git command failed, or the repository is not in a state a procedure can start from.

    The procedures of :mod:`wave_sdk.git` restore the repository before raising, so the
    message says what failed and the state it was left in.
    """


class DirtyWorkTree(GitError):
    """Tracked files have uncommitted changes, or a merge or rebase is under way.

    ``files`` lists the changed paths: a procedure that switches branches refuses to start
    rather than carry someone's work along or lose it.
    """

    exit_code = 2

    def __init__(
        self, message: str, *, files: list[str] | None = None, hint: str | None = None
    ) -> None:
        self.files = files or []
        super().__init__(message, hint=hint)


class MergeConflict(GitError):
    """A branch does not merge (or a commit does not revert) cleanly.

    ``branch`` is the branch or commit, ``files`` every conflicting path. The merge was
    aborted, the branches are back where they were and nothing was pushed.
    """

    exit_code = 3

    def __init__(
        self, message: str, *, branch: str, files: list[str], hint: str | None = None
    ) -> None:
        self.branch = branch
        self.files = files
        super().__init__(message, hint=hint)


class HotfixIncomplete(GitError):
    """The hotfix is merged into main and pushed, but a later step of the procedure failed.

    The production fix stays; the hint says how to finish by hand or by running ``wave
    hotfix finish`` again. ``exit_code`` is that of the cause (4 when the deploy lacked its
    approval, say) and 1 for a backport that needs a human. ``result`` holds what was done.
    """

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = 1,
        result: HotfixFinished | None = None,
        hint: str | None = None,
    ) -> None:
        self.exit_code = exit_code
        self.result = result
        super().__init__(message, hint=hint)


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected error, the state store failed, or a git command failed",
    2: "bad configuration, command line or plugin; uncommitted changes in a git procedure's way",
    3: "a pre-deploy check failed (`wave check` too), or a branch does not merge cleanly",
    4: "a required approval is missing",
    5: "the environment is locked by another deployment",
    6: "the target failed the operation, a backup or migration failed, or `wave health` "
    "found a result not ok",
    7: "verification failed: rolled back, or left in place as the decision tree advised",
    8: "rollback failed: the target needs a human",
    130: "interrupted (SIGINT): what the run changed was rolled back and recorded "
    "(after a third signal: left for `wave recover`)",
    143: "terminated (SIGTERM): the same as 130",
}
"""Exit codes of the ``wave`` command, documented in ``wave --help`` and the CLI reference."""


def clip(value: str, limit: int = 40) -> str:
    """``value`` cut to ``limit`` characters for a message, saying how long it really was.

    Names, ids and paths a user typed are quoted in errors; a 10,000-character one must
    not become 10,000 characters of error. Quote the result with ``!r``, which also shows
    a newline or other control character as an escape and keeps the message one line.
    """
    return value if len(value) <= limit else f"{value[:limit]}… ({len(value)} characters)"


def problem(exc: BaseException) -> str:
    """What went wrong, in a few words, for a warning about a failure that is handled.

    A :class:`WaveError`'s message, an ``OSError``'s description (``Operation not
    permitted``: its paths are the store's, not the user's), else the exception's text,
    clipped.
    """
    if isinstance(exc, WaveError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return clip(str(exc) or type(exc).__name__, 200)
