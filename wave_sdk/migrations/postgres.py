"""The PostgreSQL part of migrations: the connection, the backup, the restore.

The connection never appears on a command line: tools get the URL without its password
(``--dbname``) and the password as ``PGPASSWORD``; the migration command gets
``DATABASE_URL`` and the libpq variables (``PGHOST``, ``PGPORT``, ``PGUSER``,
``PGDATABASE``, ``PGPASSWORD``, …) so that ``psql -f up.sql`` connects as it is.

A backup is ``pg_dump --format=custom``, linked under its name only once whole. A restore
returns the database to the moment of the backup in one transaction: whatever was
created since is dropped, then ``pg_restore --clean --if-exists`` replaces everything the
backup holds, relayed to ``psql`` and committed only if ``pg_restore`` succeeded. Every
client and command runs through :mod:`wave_sdk.procs`: killed, with its whole process
group, at its deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from wave_sdk import procs, secrets
from wave_sdk.errors import BackupFailed, ConfigError, MigrationError, RollbackFailed

TAIL_LINES = 20
"""Lines of a command's output kept in results and shown (the last three) in errors."""

DatabaseUrl = str | SecretStr


# -- backup ----------------------------------------------------------------------------


def backup(
    database_url: DatabaseUrl,
    environment: str,
    backup_dir: Path,
    *,
    timeout: float = 1800.0,
) -> Path:
    """Dump the database to ``<backup_dir>/<environment>-<UTC time>.dump`` and return the path.

    ``pg_dump --format=custom`` writes to a hidden temporary name in ``backup_dir``; only a
    complete dump that ``pg_restore --list`` can read is fsync'd and linked under the real
    name (never replacing another file), so a backup file under that name is always whole.
    The directory is created ``0700`` and the file is ``0600``: it holds the data.

    Raises:
        BackupFailed: ``pg_dump`` is missing, fails or times out. The message is one line
            with the tail of its error output; the password never appears in it.

    """
    conn = Connection.parse(database_url, environment)
    pg_dump = _tool("pg_dump", environment, BackupFailed)
    pg_restore = _tool("pg_restore", environment, BackupFailed)
    backup_dir = backup_dir.resolve()  # history records it; a relative path would drift
    backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{_file_part(environment)}-{stamp}"
    fd, tmp_name = tempfile.mkstemp(dir=backup_dir, prefix=f".{name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        done = run_command(
            [pg_dump, *_NO_PROMPT, "--format=custom", f"--file={tmp}", conn.dbname],
            env=conn.env(),
            timeout=timeout,
        )
        if not done.ok:
            raise BackupFailed(
                f"backup of {environment} failed: pg_dump {done.outcome()}"
                f"{brief(done.output, conn)}",
                hint=f"check environments.{environment}.database_url and that the server "
                "accepts connections from here",
            )
        check = run_command([pg_restore, "--list", str(tmp)], env=conn.env(), timeout=timeout)
        if not check.ok:
            raise BackupFailed(
                f"backup of {environment} failed: pg_dump wrote a file pg_restore cannot "
                f"read{brief(check.output, conn)}",
                hint="use a pg_dump at least as new as the server",
            )
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        path = _link_unique(tmp, backup_dir, name, ".dump")
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(backup_dir)
    return path


# -- restore -----------------------------------------------------------------------------

_TOC_ENTRY = re.compile(r"^\d+; (\d+) (\d+) ", re.MULTILINE)

# Runs before the backup's own script, in the same transaction. Every object created since
# the backup (its catalog oid is not in the archive) is dropped: ``--clean`` only drops what
# the archive holds, so a new table would otherwise survive the "restore" — and a new
# foreign key between two old tables would make the archive's DROP TABLE fail. System
# objects have oids below 16384; extension members and internal objects (identity
# sequences, array and row types) go with their owners.
_DROP_ADDITIONS = r"""
DO $wave$
DECLARE
    kept text[] := %(kept)s;
    stmt text;
    stmts text[];
BEGIN
    SET LOCAL client_min_messages = warning;
    SELECT coalesce(array_agg(s ORDER BY pass, s), '{}') INTO stmts FROM (
        SELECT 1 AS pass,
               format('ALTER TABLE IF EXISTS %%I.%%I DROP CONSTRAINT IF EXISTS %%I CASCADE',
                      n.nspname, r.relname, c.conname) AS s
        FROM pg_constraint c
        JOIN pg_class r ON r.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE c.contype = 'f' AND c.oid >= 16384
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_constraint'::regclass::oid || ':' || c.oid) <> ALL (kept)
        UNION ALL
        SELECT 2, format('ALTER TABLE IF EXISTS %%I.%%I ALTER COLUMN %%I DROP DEFAULT',
                         n.nspname, r.relname, a.attname)
        FROM pg_attrdef d
        JOIN pg_class r ON r.oid = d.adrelid
        JOIN pg_namespace n ON n.oid = r.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE d.oid >= 16384 AND NOT a.attisdropped
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_attrdef'::regclass::oid || ':' || d.oid) <> ALL (kept)
        UNION ALL
        SELECT 3, format('DROP %%s IF EXISTS %%I.%%I CASCADE',
                         CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                        WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                        ELSE 'TABLE' END,
                         n.nspname, r.relname)
        FROM pg_class r
        JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE r.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND r.oid >= 16384
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_class'::regclass::oid || ':' || r.oid) <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = 'pg_class'::regclass AND e.objid = r.oid
                            AND e.deptype IN ('e', 'i'))
        UNION ALL
        SELECT 4, format('DROP %%s IF EXISTS %%I.%%I(%%s) CASCADE',
                         CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                                        ELSE 'FUNCTION' END,
                         n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.oid >= 16384
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_proc'::regclass::oid || ':' || p.oid) <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
                            AND e.deptype IN ('e', 'i'))
        UNION ALL
        SELECT 5, format('DROP %%s IF EXISTS %%I.%%I CASCADE',
                         CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                         n.nspname, t.typname)
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.oid >= 16384 AND t.typtype IN ('c', 'd', 'e', 'r')
          AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_type'::regclass::oid || ':' || t.oid) <> ALL (kept)
          AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid
                            AND e.deptype IN ('e', 'i'))
        UNION ALL
        SELECT 6, format('DROP SCHEMA IF EXISTS %%I CASCADE', n.nspname)
        FROM pg_namespace n
        WHERE n.oid >= 16384 AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
          AND ('pg_namespace'::regclass::oid || ':' || n.oid) <> ALL (kept)
        UNION ALL
        SELECT 7, format('DROP EXTENSION IF EXISTS %%I CASCADE', x.extname)
        FROM pg_extension x
        WHERE x.oid >= 16384
          AND ('pg_extension'::regclass::oid || ':' || x.oid) <> ALL (kept)
    ) additions;
    FOREACH stmt IN ARRAY stmts LOOP
        BEGIN
            EXECUTE stmt;
        EXCEPTION
            WHEN undefined_column OR undefined_table OR undefined_object
                 OR invalid_schema_name THEN
            NULL;  -- already gone with something dropped before it
        END;
    END LOOP;
END
$wave$;
"""


def restore(conn: Connection, environment: str, backup: Path, timeout: float) -> str:
    """Return the database to ``backup`` in one transaction; the output of psql."""

    def fail(what: str) -> RollbackFailed:
        return RollbackFailed(
            f"database rollback of {environment} failed: {what}",
            hint=f"the database needs a human: restore {backup} with pg_restore",
        )

    if not backup.is_file():
        raise fail(f"the backup {backup} does not exist")
    pg_restore = _tool("pg_restore", environment, RollbackFailed)
    psql = _tool("psql", environment, RollbackFailed)
    listing = run_command([pg_restore, "--list", str(backup)], env=conn.env(), timeout=timeout)
    if not listing.ok:
        raise fail(f"pg_restore cannot read {backup}{brief(listing.output, conn)}")
    kept = sorted({f"{c}:{o}" for c, o in _TOC_ENTRY.findall(listing.output) if c != "0"})
    array = "ARRAY[" + ",".join(f"'{k}'" for k in kept) + "]::text[]"
    prelude = _DROP_ADDITIONS % {"kept": array}
    done = _run_restore(
        [pg_restore, "--clean", "--if-exists", "--file=-", str(backup)],
        [psql, *_NO_PROMPT, "-X", "-q", "-v", "ON_ERROR_STOP=1", conn.dbname],
        prelude=prelude,
        env=conn.env(),
        timeout=timeout,
    )
    if not done.ok:
        raise fail(f"restore from {backup} {done.outcome()}{brief(done.output, conn)}")
    return done.output


# -- connections -----------------------------------------------------------------------

_LIBPQ_PARAMS = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "service": "PGSERVICE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
"""URL query parameters and the libpq environment variables that mean the same."""

_NO_PROMPT = ("--no-password",)
"""A missing or wrong password fails at once rather than waiting for someone to type it."""

_SERVER_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
"""Inherited variables dropped first: they must not point a command at another server."""


@dataclass(frozen=True)
class Connection:
    """A database URL split into what may be shown and what may not."""

    url: str
    safe_url: str
    password: str | None
    libpq: dict[str, str]
    masked: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never the URL, whatever prints this
        return f"Connection({self.safe_url!r})"

    @classmethod
    def parse(cls, database_url: DatabaseUrl, environment: str) -> Connection:
        url = reveal(database_url)
        secrets.register(url)
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ConfigError(
                f"the database URL of {environment} is not a postgresql:// URL",
                key=f"environments.{environment}.database_url",
                hint="write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
            )
        userinfo, at, hostinfo = parts.netloc.rpartition("@")
        password: str | None = None
        user, raw = userinfo, ""
        if ":" in userinfo:
            user, _, raw = userinfo.partition(":")
            password = unquote(raw)
        query: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "password":
                password = value
            else:
                query.append((key, value))
        masked = tuple(v for v in (url, raw, password) if v)
        for value in masked:
            secrets.register(value)
        netloc = f"{user}@{hostinfo}" if at else hostinfo
        safe = urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))
        libpq: dict[str, str] = {}
        hosts, ports = [], []
        for item in hostinfo.split(",") if hostinfo else []:
            if item.startswith("["):  # [v6 address]:port
                host, _, rest = item[1:].partition("]")
                port = rest.removeprefix(":")
            else:
                host, _, port = item.partition(":")
            hosts.append(unquote(host))
            ports.append(port)
        if any(hosts):
            libpq["PGHOST"] = ",".join(hosts)
        if any(ports):
            libpq["PGPORT"] = ",".join(ports)
        if user:
            libpq["PGUSER"] = unquote(user)
        if parts.path.strip("/"):
            libpq["PGDATABASE"] = unquote(parts.path.lstrip("/"))
        for key, value in query:
            if key in _LIBPQ_PARAMS:
                libpq[_LIBPQ_PARAMS[key]] = value
        if password is not None:
            libpq["PGPASSWORD"] = password
        return cls(url=url, safe_url=safe, password=password, libpq=libpq, masked=masked)

    @property
    def dbname(self) -> str:
        """The ``--dbname`` argument of a client: the URL without its password."""
        return f"--dbname={self.safe_url}"

    def env(self) -> dict[str, str]:
        """The process environment for a client of this database."""
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_VARS}
        env.update(self.libpq)
        return env

    def scrub(self, text: str) -> str:
        """``text`` with the URL and the password masked (and every registered secret)."""
        for value in sorted(self.masked, key=len, reverse=True):
            text = text.replace(value, secrets.MASK)
        return secrets.redact(text)


def reveal(value: DatabaseUrl) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def command_env(conn: Connection, environment: str, backup: Path | None) -> dict[str, str]:
    """The environment of a migration command: the connection's, the URL, the backup."""
    env = conn.env()
    env["DATABASE_URL"] = conn.url
    env["WAVE_ENVIRONMENT"] = environment
    env.pop("WAVE_BACKUP", None)
    if backup is not None:
        env["WAVE_BACKUP"] = str(backup)
    return env


# -- processes -----------------------------------------------------------------------


def run_command(
    command: str | Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    cwd: Path | None = None,
) -> procs.Result:
    """Run ``command`` (a string through the shell), its output and error output merged."""
    argv = procs.command_argv(command)
    try:
        return procs.run(argv, timeout=timeout, cwd=cwd, env=env, merge_stderr=True)
    except OSError as exc:
        # An argv whose program does not exist: a failed run, reported like a shell would.
        return _failed(argv, 127, f"{argv[0]}: {exc.strerror}", timeout)


def _failed(argv: Sequence[str], code: int, output: str, timeout: float) -> procs.Result:
    return procs.Result(
        argv=tuple(argv),
        returncode=code,
        stdout=output,
        stderr="",
        timed_out=False,
        timeout=timeout,
        duration_s=0.0,
    )


def _run_restore(
    producer: Sequence[str],
    consumer: Sequence[str],
    *,
    prelude: str,
    env: Mapping[str, str],
    timeout: float,
) -> procs.Result:
    """``producer | consumer`` inside ``BEGIN`` … ``COMMIT``, committed only if both succeed.

    Python relays the bytes rather than a pipe between the two because the end of the
    script must depend on the producer: were pg_restore to die half way through, psql would
    reach the end of a truncated script and commit it. Here it gets ``COMMIT`` only after
    pg_restore exited 0; otherwise its input just ends, and the server rolls back. At the
    deadline a timer ends both process groups, which ends the relay.
    """
    started = time.monotonic()
    expired = threading.Event()
    bound = timeout + procs.GRACE_S + 10  # the timer has ended both by then
    with contextlib.ExitStack() as stack:
        err1 = stack.enter_context(tempfile.TemporaryFile())
        out2 = stack.enter_context(tempfile.TemporaryFile())
        sink = stack.enter_context(
            procs.start(
                consumer, env=env, stdin=subprocess.PIPE, stdout=out2, stderr=subprocess.STDOUT
            )
        )
        source = stack.enter_context(
            procs.start(producer, env=env, stdout=subprocess.PIPE, stderr=err1)
        )
        into, out_of = sink.popen.stdin, source.popen.stdout
        assert into is not None and out_of is not None

        def expire() -> None:
            expired.set()
            source.end()
            sink.end()

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        stack.callback(timer.cancel)
        timer.start()
        try:
            into.write(b"BEGIN;\n" + prelude.encode())
            shutil.copyfileobj(out_of, into, 1 << 20)
            if source.wait(bound) == 0 and not expired.is_set():
                into.write(b"\nCOMMIT;\n")
        except (BrokenPipeError, ValueError):
            pass  # psql stopped (an error, or the deadline): its exit status says which
        finally:
            out_of.close()
            with contextlib.suppress(BrokenPipeError):
                into.close()
        codes = [sink.wait(bound), source.wait(bound)]
        output = "\n".join(t for t in (_read(err1), _read(out2)) if t.strip())
    failed = next((c for c in codes if c != 0), 0)
    return procs.Result(
        argv=(*producer, "|", *consumer),
        returncode=-signal.SIGKILL if failed is None else failed,
        stdout=output,
        stderr="",
        timed_out=expired.is_set(),
        timeout=timeout,
        duration_s=round(time.monotonic() - started, 3),
    )


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", errors="replace")


# -- small helpers ---------------------------------------------------------------------


def _tool(name: str, environment: str, error: type[MigrationError | RollbackFailed]) -> str:
    path = shutil.which(name)
    if path is None:
        raise error(
            f"{name} is not installed: cannot back up or restore the database of {environment}",
            hint="install the PostgreSQL client tools, at least the server's version "
            "(Debian: apt-get install postgresql-client)",
        )
    return path


def tail(output: str, conn: Connection, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``output``, the connection and every secret masked."""
    return conn.scrub("\n".join(output.strip().splitlines()[-lines:]))


def brief(output: str, conn: Connection) -> str:
    """The gist of ``output`` on one line, for an error message.

    From the last line that reports an error (psql's ``ERROR:`` and its ``DETAIL``, a
    tool's ``error:``), else the last three lines.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    marked = [i for i, line in enumerate(lines) if _ERROR_LINE.search(line)]
    shown = lines[marked[-1] : marked[-1] + 3] if marked else lines[-3:]
    return f": {conn.scrub(' | '.join(shown))}" if shown else ""


_ERROR_LINE = re.compile(r"(?i)\b(error|fatal|panic)\b")


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "database"


def _link_unique(tmp: Path, directory: Path, name: str, suffix: str) -> Path:
    """Give ``tmp`` the first free name ``name[-N]suffix``; never replaces a file."""
    for n in range(1, 1000):
        path = directory / f"{name}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            os.link(tmp, path)
        except FileExistsError:
            continue
        return path
    raise BackupFailed(f"no free backup name for {name} in {directory}")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
