"""The S3 state store: what ``.wave/state`` holds, in a bucket a team shares.

Layout under ``prefix`` (each object whole JSON, written with the configured server-side
encryption)::

    history/<UTC time>-<random>.json         one history record per object
    current/<environment>.json               the environment's current release
    approvals/<environment>/<time>-<action>-<random>.json
    journal/<environment>/<deploy id>/<seq>.json   one write-ahead entry per object
    locks/<environment>.json                 see wave_sdk_s3.locks
    <backup_prefix>/<environment>/<file>.dump      migration backups (BackupVault)

**Why one object per history record.** S3 has no append. Rewriting one ledger object with
``If-Match`` would serialise every writer on one key and make each append read the whole
ledger; instead each append writes a *new* key, unique by a random suffix and sortable by
its UTC time, with ``If-None-Match: *``. Two machines appending at once write two keys, so
nothing is lost; the conditional write means a retried request (the client lost the first
answer) fails with 412 instead of writing the record twice, and that 412 is taken as
success because no other writer can choose the same random key. S3 lists are strongly
consistent, so a record is in :meth:`S3StateStore.history` as soon as ``append`` returns.
Records are ordered by their keys — the writers' clocks — which is the order of
appends on one machine and, across machines, as good as their clock sync.

History objects never change, so each store instance caches the ones it has read; listing
still costs one request per 1,000 records.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

from wave_sdk.errors import BackupFailed, RollbackFailed, StateError, WaveError
from wave_sdk.models import Approval, HistoryRecord, JournalEntry, utcnow
from wave_sdk.secrets import dumps
from wave_sdk.state import CurrentRelease, LockInfo
from wave_sdk_s3.bucket import Bucket, Conflict
from wave_sdk_s3.locks import S3Locks
from wave_sdk_s3.settings import S3Settings

_READERS = 8  # parallel GETs when reading many small objects


class S3StateStore:
    """The state of a project in one bucket and prefix, and the vault of its backups.

    A :class:`~wave_sdk.state.StateStore` and a
    :class:`~wave_sdk.migrations.vault.BackupVault`. Opening it connects nowhere; the first
    call does.
    """

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = Bucket(settings)
        self.prefix = settings.prefix
        self.locks = S3Locks(self.bucket, self.prefix, self.append_history)
        self._seen: dict[str, HistoryRecord | None] = {}
        self._seen_guard = threading.Lock()

    def __repr__(self) -> str:
        return f"S3StateStore(s3://{self.settings.bucket}/{self.prefix})"

    def _key(self, *parts: str) -> str:
        return "/".join((self.prefix, *parts))

    @staticmethod
    def _safe(name: str) -> str:
        # Environment names and deploy ids become key parts: none may add or climb a level.
        if not name or "/" in name or name.startswith(".") or "\0" in name:
            raise StateError(f"invalid name {name!r} for the state store")
        return name

    @staticmethod
    def _stamp() -> str:
        return f"{utcnow().astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{os.urandom(6).hex()}"

    def _create(self, key: str, body: str) -> None:
        """Write a new object once: a 412 is our own earlier attempt (see the module)."""
        try:
            self.bucket.put(key, body.encode(), if_none_match=True)
        except Conflict:
            return

    def _read_all(self, keys: list[str]) -> list[bytes | None]:
        def one(key: str) -> bytes | None:
            found = self.bucket.get(key)
            return found[0] if found else None

        if len(keys) <= 1:
            return [one(k) for k in keys]
        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            return list(pool.map(one, keys))

    # -- history -------------------------------------------------------------------------

    def append_history(self, record: HistoryRecord) -> None:
        self._create(self._key("history", f"{self._stamp()}.json"), dumps(record))

    def history(self, environment: str | None = None) -> list[HistoryRecord]:
        keys = list(self.bucket.keys(self._key("history") + "/"))
        with self._seen_guard:
            new = [k for k in keys if k not in self._seen]
        for key, body in zip(new, self._read_all(new), strict=True):
            record = None
            if body is not None:
                try:
                    record = HistoryRecord.model_validate_json(body)
                except ValueError:
                    record = None  # not ours (someone's stray object): skipped like a torn line
            with self._seen_guard:
                self._seen[key] = record
        with self._seen_guard:
            records = [self._seen[k] for k in keys]
        return [
            r
            for r in records
            if r is not None and (environment is None or r.environment == environment)
        ]

    # -- current release -----------------------------------------------------------------

    def current(self, environment: str) -> CurrentRelease | None:
        key = self._key("current", f"{self._safe(environment)}.json")
        found = self.bucket.get(key)
        if found is None:
            return None
        try:
            return CurrentRelease.model_validate_json(found[0])
        except ValueError as exc:
            raise StateError(
                f"s3://{self.bucket.name}/{key} is corrupt: {exc}", hint="restore it or delete it"
            ) from None

    def set_current(self, current: CurrentRelease) -> None:
        key = self._key("current", f"{self._safe(current.environment)}.json")
        self.bucket.put(key, current.model_dump_json(indent=2).encode())

    # -- locks ---------------------------------------------------------------------------

    def acquire_lock(
        self, environment: str, *, owner: str, deploy_id: str, ttl: float, wait: float = 0.0
    ) -> LockInfo:
        return self.locks.acquire_lock(
            self._safe(environment), owner=owner, deploy_id=deploy_id, ttl=ttl, wait=wait
        )

    def release_lock(self, lock: LockInfo) -> None:
        self.locks.release_lock(lock)

    def renew_lock(self, lock: LockInfo, ttl: float) -> LockInfo:
        return self.locks.renew_lock(lock, ttl)

    def read_lock(self, environment: str) -> LockInfo | None:
        return self.locks.read_lock(self._safe(environment))

    def is_stale(self, lock: LockInfo) -> bool:
        return self.locks.is_stale(lock)

    def break_lock(self, environment: str) -> LockInfo | None:
        return self.locks.break_lock(self._safe(environment))

    # -- approvals -----------------------------------------------------------------------

    def add_approval(self, approval: Approval) -> None:
        stamp = approval.approved_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{self._safe(approval.action)}-{os.urandom(6).hex()}.json"
        # Masked like every record (a secret in a signed one voids its signature: refused).
        self._create(
            self._key("approvals", self._safe(approval.environment), name), dumps(approval)
        )

    def approvals(self, environment: str) -> list[Approval]:
        keys = list(self.bucket.keys(self._key("approvals", self._safe(environment)) + "/"))
        found = []
        for body in self._read_all(keys):
            if body is None:
                continue
            try:
                found.append(Approval.model_validate_json(body))
            except ValueError:
                continue
        return [a for a in found if a.environment == environment]

    # -- run journals --------------------------------------------------------------------

    def journal_append(self, entry: JournalEntry) -> None:
        key = self._key(
            "journal",
            self._safe(entry.environment),
            self._safe(entry.deploy_id),
            f"{entry.seq:06d}.json",
        )
        self._create(key, dumps(entry))

    def journals(self, environment: str) -> dict[str, list[JournalEntry]]:
        prefix = self._key("journal", self._safe(environment)) + "/"
        keys = list(self.bucket.keys(prefix))
        found: dict[str, list[JournalEntry]] = {}
        for key, body in zip(keys, self._read_all(keys), strict=True):
            if body is None:
                continue
            try:
                entry = JournalEntry.model_validate_json(body)
            except ValueError:
                continue
            found.setdefault(key[len(prefix) :].split("/", 1)[0], []).append(entry)
        return {run: sorted(entries, key=lambda e: e.seq) for run, entries in found.items()}

    def journal_close(self, environment: str, deploy_id: str) -> None:
        prefix = self._key("journal", self._safe(environment), self._safe(deploy_id)) + "/"
        keys = list(self.bucket.keys(prefix))
        if keys:
            self.bucket.delete(*keys)

    # -- migration backups (wave_sdk.migrations.vault.BackupVault) -----------------------

    def put_backup(self, environment: str, path: Path) -> str:
        key = f"{self.settings.backups}/{self._safe(environment)}/{path.name}"
        try:
            self.bucket.upload(key, path)
        except WaveError as exc:
            raise BackupFailed(
                f"backup of {environment} could not be stored in the bucket: {exc.message}",
                hint=exc.hint,
            ) from None
        return f"s3://{self.bucket.name}/{key}"

    def fetch_backup(self, location: str, directory: Path) -> Path:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        if bucket != self.bucket.name or not key.startswith(self.settings.backups + "/"):
            raise RollbackFailed(
                f"the backup {location} is not in this store's bucket and backup prefix "
                f"(s3://{self.bucket.name}/{self.settings.backups}/)",
                hint="configure [state.s3] as it was when the backup was taken",
            )
        target = directory / key.rsplit("/", 1)[-1]
        try:
            self.bucket.download(key, target)
        except WaveError as exc:
            raise RollbackFailed(
                f"cannot fetch the backup {location}: {exc.message}", hint=exc.hint
            ) from None
        return target
