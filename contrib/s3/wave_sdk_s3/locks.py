"""Environment locks in the bucket, by S3 conditional writes: never two holders.

One object per environment, ``<prefix>/locks/<environment>.json``. Every change to it is a
conditional ``PutObject``, which S3 applies atomically:

* **take** a free lock: ``If-None-Match: *`` — succeeds for exactly one of any number of
  machines writing at once; the others get 412 and read who won;
* **renew**, **release**, **take over**: ``If-Match: <ETag read a moment before>`` — the
  write lands only if nobody changed the object since it was read, so a holder whose lock
  was broken or taken over learns it (412) instead of overwriting the new holder.

Releasing writes a *released* marker (again with ``If-Match``) rather than deleting the
object: a conditional ``PutObject`` is supported by S3 and by every S3-compatible service
that implements conditional writes, a conditional ``DeleteObject`` by fewer — and an
unconditional delete could remove a lock someone else took in between. A released marker
is taken like an expired lock, with ``If-Match`` on its ETag. Only ``wave unlock --force``
(:meth:`S3Locks.break_lock`) deletes the object, whoever holds it, as its name says.

**Expiry.** A lock carries ``expires_at``; the holder renews it while it runs (the run's
heartbeat). A lock is stale once expired — a machine that died, or a process that stopped
renewing — and also, on the holder's own host, as soon as its process is gone. Taking over
a stale lock is recorded in history, with the previous holder, like ``wave unlock``.
Expiry compares the writer's clock with the reader's: keep machines on NTP, and keep
``[state] lock_ttl`` well above any clock skew.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

from wave_sdk.errors import LockHeld, StateError
from wave_sdk.models import HistoryRecord, utcnow
from wave_sdk.state import LockInfo, lock_lost, pid_alive
from wave_sdk_s3.bucket import Bucket, Conflict

_RELEASED = "released"


class S3Locks:
    """The lock half of :class:`~wave_sdk_s3.store.S3StateStore` (same signatures)."""

    def __init__(
        self, bucket: Bucket, prefix: str, record: Callable[[HistoryRecord], None]
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._record = record

    def key(self, environment: str) -> str:
        return f"{self.prefix}/locks/{environment}.json"

    def _read(self, environment: str) -> tuple[LockInfo | None, str | None]:
        """(the holder or ``None``, the object's ETag or ``None`` when there is no object)."""
        found = self.bucket.get(self.key(environment))
        if found is None:
            return None, None
        body, etag = found
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get(_RELEASED):
                return None, etag
            return LockInfo.model_validate(data), etag
        except ValueError as exc:
            raise StateError(
                f"the lock of {environment!r} (s3://{self.bucket.name}/{self.key(environment)}) "
                f"is unreadable ({type(exc).__name__}): a deployment may hold it",
                hint=f"inspect it, and if no deployment runs: wave unlock --env {environment} "
                '--force --reason "…"',
            ) from None

    def read_lock(self, environment: str) -> LockInfo | None:
        return self._read(environment)[0]

    def is_stale(self, lock: LockInfo) -> bool:
        """Expired (its holder stopped renewing), or its process on this host is gone."""
        if utcnow() >= lock.expires_at:
            return True
        return lock.host == socket.gethostname() and not pid_alive(lock.pid, lock.process_start)

    def acquire_lock(
        self, environment: str, *, owner: str, deploy_id: str, ttl: float, wait: float = 0.0
    ) -> LockInfo:
        deadline = time.monotonic() + wait
        delay = 0.05
        key = self.key(environment)
        while True:
            mine = LockInfo.for_this_process(environment, owner=owner, deploy_id=deploy_id, ttl=ttl)
            body = _body(mine)
            try:
                self.bucket.put(key, body, if_none_match=True)
                return mine
            except Conflict:
                pass
            try:
                held, etag = self._read(environment)
            except StateError as exc:
                raise LockHeld(exc.message, hint=exc.hint) from None
            if held is not None and held.token == mine.token:
                return mine  # our own write, retried by the client after a lost answer
            if etag is not None and (held is None or self.is_stale(held)):
                try:
                    self.bucket.put(key, body, if_match=etag)
                except Conflict:
                    pass  # another machine changed it first: look again
                else:
                    if held is not None:
                        # Only the machine whose conditional write won gets here: recorded once.
                        self._record(held.takeover(owner=owner, deploy_id=deploy_id))
                    return mine
            elif etag is None:
                continue  # deleted (unlocked) between our two requests: take it now
            if time.monotonic() >= deadline:
                raise held.refusal() if held else _changed(environment)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    def renew_lock(self, lock: LockInfo, ttl: float) -> LockInfo:
        environment = lock.environment
        try:
            held, etag = self._read(environment)
        except StateError as exc:
            raise LockHeld(exc.message, hint=exc.hint) from None
        if held is None or etag is None or held.token != lock.token:
            raise lock_lost(environment, held)
        renewed = held.renewed(ttl)
        try:
            self.bucket.put(self.key(environment), _body(renewed), if_match=etag)
        except Conflict:
            raise lock_lost(environment, self.read_lock(environment)) from None
        return renewed

    def release_lock(self, lock: LockInfo) -> None:
        try:
            held, etag = self._read(lock.environment)
        except StateError:
            return  # unreadable: not provably ours, so not ours to release
        if held is None or etag is None or held.token != lock.token:
            return
        marker = json.dumps({_RELEASED: True, "by": lock.owner, "at": utcnow().isoformat()})
        try:
            self.bucket.put(self.key(lock.environment), marker.encode(), if_match=etag)
        except Conflict:
            return  # taken over meanwhile: it is someone else's now

    def break_lock(self, environment: str) -> LockInfo | None:
        try:
            held = self.read_lock(environment)
        except StateError:
            held = None  # unreadable: broken all the same
        self.bucket.delete(self.key(environment))
        return held


def _body(lock: LockInfo) -> bytes:
    return lock.model_dump_json().encode()


def _changed(environment: str) -> LockHeld:
    return LockHeld(
        f"environment {environment!r} is locked: its lock changed hands while this run "
        "tried to take it",
        hint="wait with --lock-wait SECONDS",
    )
