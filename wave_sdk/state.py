"""The state store: the one owner of history, current releases, locks, approvals and journals.

:class:`StateStore` is the interface; :class:`LocalStateStore` the default, a directory
(``.wave/state``) that survives crashes: every file is replaced atomically, the history is
an append-only JSON-lines ledger, and each lock is a JSON record whose holder (host, pid,
process start time) lets the next process tell a live holder from a dead one; taking over
a dead holder's lock is recorded in history like ``wave unlock``. A run's write-ahead
journal (:mod:`wave_sdk.run.journal`) is one more append-only file per run, removed once
the run's history record is written.

Other backends (S3 in ``contrib``) register through the ``wave_state_store`` hook.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wave_sdk.errors import LockHeld, StateError
from wave_sdk.fileio import atomic_write
from wave_sdk.models import Approval, HistoryRecord, JournalEntry, utcnow
from wave_sdk.secrets import dumps

if TYPE_CHECKING:
    from wave_sdk.config import WaveConfig

_M = TypeVar("_M", bound=BaseModel)


class LockInfo(BaseModel):
    """Who holds an environment's lock, and until when it is presumed alive."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    environment: str
    owner: str
    host: str
    pid: int
    process_start: str | None = None
    deploy_id: str
    acquired_at: datetime
    expires_at: datetime
    token: str = Field(repr=False)

    def describe(self) -> str:
        return (
            f"{self.owner} on {self.host} (pid {self.pid}, deploy {self.deploy_id}, "
            f"since {self.acquired_at:%Y-%m-%d %H:%M:%S}Z, expires {self.expires_at:%H:%M:%S}Z)"
        )

    def public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"token"})

    @classmethod
    def for_this_process(
        cls, environment: str, *, owner: str, deploy_id: str, ttl: float
    ) -> LockInfo:
        """A new lock held by this process, expiring ``ttl`` seconds from now.

        Every store writes the same record, so that any of them can tell a live holder
        from a dead one (host, pid, process start) and a lock from its successor (token).
        """
        now = utcnow()
        return cls(
            environment=environment,
            owner=owner,
            host=socket.gethostname(),
            pid=os.getpid(),
            process_start=process_start_time(os.getpid()),
            deploy_id=deploy_id,
            acquired_at=now,
            expires_at=now + timedelta(seconds=ttl),
            token=os.urandom(8).hex(),
        )

    def renewed(self, ttl: float) -> LockInfo:
        """A copy of the lock, its expiry pushed ``ttl`` seconds from now."""
        return self.model_copy(update={"expires_at": utcnow() + timedelta(seconds=ttl)})

    def takeover(self, *, owner: str, deploy_id: str) -> HistoryRecord:
        """The history record of taking over this (stale) lock: an override, like unlock.

        It carries the taker's deploy id: the dead run's own id belongs to the one record
        that recovery writes for it.
        """
        return HistoryRecord(
            deploy_id=deploy_id,
            kind="unlock",
            environment=self.environment,
            outcome="recorded",
            started_at=self.acquired_at,
            deployer=owner,
            reason=f"took over the stale lock of {self.describe()}",
        )

    def refusal(self) -> LockHeld:
        """The error for a deploy that found this lock held (and waited in vain)."""
        return LockHeld(
            f"environment {self.environment!r} is locked by {self.describe()}",
            holder=self.public(),
            hint=(
                "wait with --lock-wait SECONDS, or if that deploy is gone: "
                f'wave unlock --env {self.environment} --force --reason "…"'
            ),
        )


def lock_lost(environment: str, held: LockInfo | None) -> LockHeld:
    """The error for a holder whose lock was broken, or taken over (by ``held``)."""
    return LockHeld(
        f"the lock of {environment!r} was "
        + (f"taken by {held.describe()}" if held else "broken")
        + " while this run held it",
        holder=held.public() if held else None,
    )


class CurrentRelease(BaseModel):
    """The last release that passed verification in an environment, per target."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    environment: str
    release: str
    commit: str | None = None
    digest: str | None = None
    targets: dict[str, str] = Field(default_factory=dict)
    deploy_id: str
    deployed_at: datetime


class StateStore(Protocol):
    """What the pipeline needs from a state backend.

    Implementations must be safe against concurrent processes (two ``wave deploy`` at once)
    and against a crash at any point: a reader sees a whole record or none.
    """

    def append_history(self, record: HistoryRecord) -> None:
        """Append one record to the ledger; never rewrite earlier ones."""
        ...

    def history(self, environment: str | None = None) -> list[HistoryRecord]:
        """Every record, oldest first, optionally of one environment only."""
        ...

    def current(self, environment: str) -> CurrentRelease | None:
        """The last release that passed verification (or was rolled back to), if any."""
        ...

    def set_current(self, current: CurrentRelease) -> None:
        """Replace the environment's current release atomically."""
        ...

    def acquire_lock(
        self, environment: str, *, owner: str, deploy_id: str, ttl: float, wait: float = 0.0
    ) -> LockInfo:
        """Take the environment's lock, waiting up to ``wait`` seconds.

        A stale lock (see :meth:`is_stale`) is taken over. Raises
        :class:`~wave_sdk.errors.LockHeld` naming the holder when the wait runs out.
        """
        ...

    def release_lock(self, lock: LockInfo) -> None:
        """Release ``lock`` if it is still the one held (never someone else's)."""
        ...

    def renew_lock(self, lock: LockInfo, ttl: float) -> LockInfo:
        """Push ``lock``'s expiry ``ttl`` seconds ahead; the holder calls it while it runs.

        Raises :class:`~wave_sdk.errors.LockHeld` when the lock is no longer ``lock`` (it
        was broken or taken over): the holder must stop.
        """
        ...

    def read_lock(self, environment: str) -> LockInfo | None:
        """The current holder, or ``None``.

        Raises :class:`~wave_sdk.errors.StateError` when a lock exists but cannot be read:
        as far as anyone can tell it is held, so nobody may take it without breaking it.
        """
        ...

    def is_stale(self, lock: LockInfo) -> bool:
        """Whether ``lock``'s holder is provably gone (dead process, or expired elsewhere)."""
        ...

    def break_lock(self, environment: str) -> LockInfo | None:
        """Remove the lock whoever holds it; return what was removed."""
        ...

    def add_approval(self, approval: Approval) -> None:
        """Keep an approval record."""
        ...

    def approvals(self, environment: str) -> list[Approval]:
        """Every approval record of ``environment``, oldest first (expired ones included)."""
        ...

    def journal_append(self, entry: JournalEntry) -> None:
        """Append one write-ahead entry to the journal of run ``entry.deploy_id``.

        Durable when this returns: the run changes the world only after it. Entries of one
        run are appended by that run alone, in ``seq`` order.
        """
        ...

    def journals(self, environment: str) -> dict[str, list[JournalEntry]]:
        """The journals of ``environment`` not yet closed, by deploy id, entries in order.

        A journal whose last entry was torn by a crash is returned without it.
        """
        ...

    def journal_close(self, environment: str, deploy_id: str) -> None:
        """Close (remove) a run's journal; called once its history record is written."""
        ...


@final
@dataclass(frozen=True, kw_only=True)
class StateStoreSpec:
    """How a plugin registers a state backend (yield it from ``wave_state_store``).

    Attributes:
        name: the value of ``[state] store = "…"``.
        factory: called with the :class:`~wave_sdk.config.WaveConfig`; returns the store.
            It must not connect anywhere yet (``wave config validate`` calls it): a store
            opens its connection, and imports its client library, on first use.
        summary: one line for documentation (the configuration reference lists each store).
        config: the pydantic model of the store's own keys, the table ``[state.<name>]``
            (or ``"module:Model"``); ``None`` when it has none. The core validates the
            table with it before calling ``factory`` (one-line errors naming the key), and
            the reference documentation lists its fields. Read the validated settings in
            the factory with :func:`store_settings`.

    """

    name: str
    factory: Callable[[WaveConfig], StateStore]
    summary: str = ""
    config: str | type[BaseModel] | None = None

    def load_config(self) -> type[BaseModel] | None:
        """The settings model, imported now (``None`` when the store has no keys)."""
        if self.config is None:
            return None
        from wave_sdk.adapter import load_object

        model: type[BaseModel] = load_object(self.config)
        return model


def store_settings(config: Any, name: str, model: type[_M]) -> _M:
    """``[state.<name>]`` of ``config`` validated against ``model``.

    Raises:
        ConfigError: a key is missing, unknown or wrong: one line naming
            ``state.<name>.<key>`` in the file, and the fix.

    """
    from pydantic import ValidationError

    from wave_sdk.config.errors import config_error

    data = config.state.table(name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(
            exc, config.file_label, prefix=("state", name), model=model, data=data
        ) from None


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/pid/stat), to detect pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def pid_alive(pid: int, start: str | None) -> bool:
    """Whether ``pid`` runs and is the same process that started at ``start``.

    A zombie counts as dead, and so does a live process whose start time differs: the pid
    was reused after the original holder died.
    """
    if pid <= 0:
        return False  # kill() would test a process group (or every process), not a pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return True  # no /proc: trust kill()
    if fields[0] == "Z":
        return False
    return start is None or fields[19] == start


class LocalStateStore:
    """State in a local directory: ``history.jsonl``, ``current/``, ``locks/``, ``approvals/``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _dir(self, name: str) -> Path:
        """``name`` under the store, created private (0700) when wave creates it.

        History and journals hold the output of checks and of the app. An existing directory
        keeps the mode it was given (a store shared by a team may be group-readable); the
        files themselves are always 0600.
        """
        directory = self.path / name
        try:
            # The store itself first: mkdir(parents=True) gives the parents the default mode.
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create state directory {directory}: {exc.strerror}",
                hint="check permissions or set [state] path",
            ) from None
        return directory

    @staticmethod
    def _safe(name: str) -> str:
        # Environment names come from configuration; keep them from escaping the directory.
        if not name or "/" in name or name.startswith(".") or "\0" in name:
            raise StateError(f"invalid environment name {name!r} for the state store")
        return name

    # -- history -----------------------------------------------------------------------

    def append_history(self, record: HistoryRecord) -> None:
        _append_line(self._dir("") / "history.jsonl", dumps(record))

    def history(self, environment: str | None = None) -> list[HistoryRecord]:
        ledger = self.path / "history.jsonl"
        records = []
        for line in _lines(ledger):
            try:
                record = HistoryRecord.model_validate_json(line)
            except ValueError:
                continue  # a line torn by a crash mid-write (or not UTF-8 at all)
            if environment is None or record.environment == environment:
                records.append(record)
        return records

    # -- current release ---------------------------------------------------------------

    def current(self, environment: str) -> CurrentRelease | None:
        file = self.path / "current" / f"{self._safe(environment)}.json"
        try:
            return CurrentRelease.model_validate_json(file.read_bytes())
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as exc:
            raise _unreadable(file, exc) from None

    def set_current(self, current: CurrentRelease) -> None:
        file = self._dir("current") / f"{self._safe(current.environment)}.json"
        atomic_write(file, current.model_dump_json(indent=2))

    # -- locks -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, environment: str) -> Iterator[None]:
        """Serialise lock inspection and takeover between processes on this machine."""
        guard = self._dir("locks") / f"{environment}.guard"
        fd = os.open(guard, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _lock_file(self, environment: str) -> Path:
        return self._dir("locks") / f"{self._safe(environment)}.lock.json"

    def read_lock(self, environment: str) -> LockInfo | None:
        try:
            return LockInfo.model_validate_json(self._lock_file(environment).read_text())
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as exc:
            # Not "unlocked": a deploy may hold it, and two deploys at once is what a lock
            # exists to prevent.
            raise StateError(
                f"the lock of {environment!r} ({self._lock_file(environment)}) is unreadable "
                f"({type(exc).__name__}): a deployment may hold it",
                hint=f"inspect it, and if no deployment runs: wave unlock --env {environment} "
                '--force --reason "…"',
            ) from None

    def is_stale(self, lock: LockInfo, now: datetime | None = None) -> bool:
        """A lock from this host is stale when its process is gone; from another, when expired."""
        if lock.host == socket.gethostname():
            return not pid_alive(lock.pid, lock.process_start)
        return (now or utcnow()) >= lock.expires_at

    def acquire_lock(
        self, environment: str, *, owner: str, deploy_id: str, ttl: float, wait: float = 0.0
    ) -> LockInfo:
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            with self._guard(self._safe(environment)):
                try:
                    held = self.read_lock(environment)
                except StateError as exc:
                    raise LockHeld(exc.message, hint=exc.hint) from None
                if held is None or self.is_stale(held):
                    if held is not None:
                        self.append_history(held.takeover(owner=owner, deploy_id=deploy_id))
                    lock = LockInfo.for_this_process(
                        environment, owner=owner, deploy_id=deploy_id, ttl=ttl
                    )
                    atomic_write(self._lock_file(environment), lock.model_dump_json())
                    return lock
            if time.monotonic() >= deadline:
                raise held.refusal()
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    def release_lock(self, lock: LockInfo) -> None:
        with self._guard(self._safe(lock.environment)):
            try:
                held = self.read_lock(lock.environment)
            except StateError:
                return  # unreadable: not provably ours, so not ours to remove
            if held is not None and held.token == lock.token:
                self._lock_file(lock.environment).unlink(missing_ok=True)

    def renew_lock(self, lock: LockInfo, ttl: float) -> LockInfo:
        with self._guard(self._safe(lock.environment)):
            try:
                held = self.read_lock(lock.environment)
            except StateError as exc:
                raise LockHeld(exc.message, hint=exc.hint) from None
            if held is None or held.token != lock.token:
                raise lock_lost(lock.environment, held)
            renewed = held.renewed(ttl)
            atomic_write(self._lock_file(lock.environment), renewed.model_dump_json())
            return renewed

    def break_lock(self, environment: str) -> LockInfo | None:
        with self._guard(self._safe(environment)):
            try:
                held = self.read_lock(environment)
            except StateError:
                held = None  # unreadable: broken all the same
            self._lock_file(environment).unlink(missing_ok=True)
            return held

    # -- approvals ---------------------------------------------------------------------

    def add_approval(self, approval: Approval) -> None:
        directory = self._dir("approvals")
        stamp = approval.approved_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self._safe(approval.environment)}-{approval.action}-{stamp}.json"
        # Masked like every record (a secret in a signed one voids its signature: refused).
        atomic_write(directory / name, dumps(approval, indent=2))

    def approvals(self, environment: str) -> list[Approval]:
        directory = self.path / "approvals"
        if not directory.is_dir():
            return []
        found = []
        for file in sorted(directory.glob(f"{self._safe(environment)}-*.json")):
            with contextlib.suppress(ValueError, OSError):
                found.append(Approval.model_validate_json(file.read_text()))
        return [a for a in found if a.environment == environment]

    # -- run journals ------------------------------------------------------------------

    def _journal_dir(self, environment: str) -> Path:
        return self._dir("journal") / self._safe(environment)

    def journal_append(self, entry: JournalEntry) -> None:
        directory = self._journal_dir(entry.environment)
        directory.mkdir(mode=0o700, exist_ok=True)
        name = self._safe(entry.deploy_id)
        _append_line(directory / f"{name}.jsonl", dumps(entry))

    def journals(self, environment: str) -> dict[str, list[JournalEntry]]:
        directory = self.path / "journal" / self._safe(environment)
        found: dict[str, list[JournalEntry]] = {}
        for file in sorted(directory.glob("*.jsonl")) if directory.is_dir() else ():
            entries = []
            for line in _lines(file):
                try:
                    entries.append(JournalEntry.model_validate_json(line))
                except ValueError:
                    continue  # torn by a crash mid-write: that step never started
            if entries:
                found[file.stem] = entries
            else:
                file.unlink(missing_ok=True)  # killed while writing its first entry
        return found

    def journal_close(self, environment: str, deploy_id: str) -> None:
        file = self.path / "journal" / self._safe(environment) / f"{self._safe(deploy_id)}.jsonl"
        file.unlink(missing_ok=True)


def _lines(path: Path) -> list[bytes]:
    """The lines of a JSON-lines file of the store, as bytes (none when it does not exist).

    Bytes, not text: a line that is not UTF-8 — torn, or written by something else — is
    then one invalid record the caller skips, not a ``UnicodeDecodeError`` for the file.
    """
    try:
        return path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> StateError:
    """One line for a file of the store that cannot be read or parsed."""
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        why = f"{where}: {error['msg']}" if where else error["msg"]
    else:
        why = getattr(exc, "strerror", None) or type(exc).__name__
    return StateError(
        f"{path} cannot be read ({why})",
        hint="restore it from a backup or delete it (or fix [state] path)",
    )


def _append_line(path: Path, line: str) -> None:
    """Append one line durably, safe against concurrent writers and a crash mid-write.

    One write() under an exclusive lock: concurrent writers never interleave, and a crash
    leaves at worst a last line without newline (readers skip it). That torn line is closed
    with a newline first, or this line would be glued to it and lost with it.
    """
    data = line + "\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = "\n" + data
        os.write(fd, data.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def state_store_specs(plugins: Any) -> dict[str, StateStoreSpec]:
    """Every announced store by name (the first announcement of a name wins)."""
    specs: dict[str, StateStoreSpec] = {}
    for announced in plugins.pm.hook.wave_state_store():
        for spec in announced or ():
            specs.setdefault(spec.name, spec)
    return specs


def open_state_store(config: Any, plugins: Any, name: str | None = None) -> StateStore:
    """The store ``[state] store`` names (or ``name``), from the built-in or a plugin.

    Its table ``[state.<name>]`` is validated first, and a table no installed store
    claims is an error (a misspelt store name would otherwise be ignored in silence).
    """
    from wave_sdk.errors import ConfigError

    specs = state_store_specs(plugins)
    name = name or config.state.store
    if name not in specs:
        raise ConfigError(
            f"unknown state store {name!r}",
            file=config.file_label,
            key="state.store",
            hint=f"choose one of: {', '.join(sorted(specs))}",
        )
    for table in config.state.tables:
        if table not in specs:
            raise ConfigError(
                f"[state.{table}] names no installed state store",
                file=config.file_label,
                key=f"state.{table}",
                hint=f"installed stores: {', '.join(sorted(specs))}",
            )
    spec = specs[name]
    model = spec.load_config()
    if model is not None:
        store_settings(config, name, model)
    return spec.factory(config)
