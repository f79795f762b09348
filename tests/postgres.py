"""A throwaway PostgreSQL cluster for tests: the real server, on 127.0.0.1, in a temp dir.

:func:`running_cluster` finds ``initdb`` and ``pg_ctl`` (Debian's
``/usr/lib/postgresql/<version>/bin``, else ``PATH``), creates a cluster in a fresh
directory under the system temp dir, starts it listening on 127.0.0.1 at a free port and
on a socket in that directory, waits until ``pg_isready`` answers (with a deadline), and
creates a login role with a password. Tests create their databases with
:meth:`PostgresCluster.create_database`. At the end the server is stopped with
``pg_ctl stop -m fast`` (which signals the PID in ``postmaster.pid``) — or, if that fails,
killed by that PID — and the directory removed.

As root (containers), the server runs as the ``postgres`` OS user through ``runuser``: it
refuses to run as root. Administration goes over the socket as the ``postgres`` database
superuser (trust, local only); the test role logs in over TCP with its password
(scram-sha-256), given to clients in ``PGPASSWORD`` and never on a command line.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wave_sdk.testing import free_port, missing

ROLE = "wave_test"
START_DEADLINE = 60.0


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: the newest Debian version, or PATH."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path.parent.parent.name))

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


class PostgresCluster:
    """One running cluster: where it is, how to reach it, and helpers to set it up."""

    def __init__(self, bindir: Path, base: Path) -> None:
        self.bindir = bindir
        self.base = base
        self.data = base / "data"
        self.socket_dir = base / "sock"
        self.log = base / "server.log"
        self.port = 0
        self.role = ROLE
        self.password = "pw-" + secrets.token_urlsafe(18)
        self.as_postgres = os.geteuid() == 0
        self._databases = 0

    # -- lifecycle ---------------------------------------------------------------------

    def _server(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a server-side binary (initdb, pg_ctl) as the cluster's owner."""
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            cwd=self.base,
        )

    def init(self) -> None:
        self.socket_dir.mkdir()
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        done = self._server(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")

    def start(self) -> None:
        """Start the server on a free port; return once it accepts connections."""
        for _attempt in range(3):  # a free port can be taken between choosing and binding
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            done = self._server(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-W", "start"
            )
            if done.returncode != 0:
                raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}")
            if self._wait_ready():
                return
            if "could not bind" not in self._log_tail():
                break
        raise RuntimeError(f"PostgreSQL did not start: {self._log_tail()}")

    def _wait_ready(self) -> bool:
        """Poll pg_isready until the server answers, it dies, or the deadline passes."""
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                timeout=10,
                check=False,
            )
            if ready.returncode == 0:
                return True
            pid = self.pid()
            if self.log.exists() and "FATAL" in self._log_tail() and pid is None:
                return False  # it gave up: no point waiting for the deadline
            time.sleep(0.05)
        return False

    def pid(self) -> int | None:
        """The postmaster's PID, from its PID file."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; kill the postmaster by its PID if that fails."""
        pid = self.pid()
        done = self._server("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        if done.returncode != 0 and pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            return ""

    # -- using it ----------------------------------------------------------------------

    def admin(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the superuser over the socket; its unaligned output."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
            ],
            input=sql,  # on stdin: a password in it would otherwise be on a command line
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def create_role(self) -> None:
        self.admin(f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}';")

    def create_database(self, prefix: str = "db") -> str:
        """A new, empty database owned by the test role; its name."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        self.admin(f'CREATE DATABASE "{name}" OWNER {self.role};')
        return name

    def url(self, database: str, *, password: str | None = None) -> str:
        """``postgresql://`` URL of ``database`` for the test role over TCP."""
        secret = self.password if password is None else password
        return f"postgresql://{self.role}:{secret}@127.0.0.1:{self.port}/{database}"

    def sql(self, database: str, sql: str) -> str:
        """Run ``sql`` as the test role over TCP (password from the environment)."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.role,
                "-d",
                database,
            ],
            input=sql,
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """A started cluster with the test role; stopped and removed afterwards.

    Skips the test (fails under ``WAVE_REQUIRE_REAL=1``) when PostgreSQL's server is not
    installed.
    """
    bindir = find_bindir()
    if bindir is None:
        missing(
            "postgresql",
            "no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH "
            "(scripts/install-test-deps installs Debian's postgresql)",
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing("runuser", "needed to run PostgreSQL as the postgres user when root")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing("postgresql", "there is no 'postgres' OS user to run the server as")
    base = Path(tempfile.mkdtemp(prefix="wave-pg-"))
    cluster = PostgresCluster(bindir, base)
    try:
        cluster.init()
        cluster.start()
        try:
            cluster.create_role()
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- the schema the migration tests and the pipeline tests share ----------------------

SCHEMA_V1 = """
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL, total numeric NOT NULL);
INSERT INTO users (name) VALUES ('ada'), ('grace'), ('linus');
INSERT INTO orders (user_id, total) VALUES (1, 10.50), (2, 20), (3, 30.25);
"""


@dataclass
class Databases:
    """The cluster, and the two environments' databases (schema v1)."""

    cluster: Any
    staging: str
    production: str

    def url(self, env: str) -> str:
        return self.cluster.url(getattr(self, env))

    def sql(self, env: str, sql: str) -> str:
        return self.cluster.sql(getattr(self, env), sql)

    def columns(self, env: str, table: str) -> list[str]:
        return self.sql(
            env,
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position;",
        ).split()

    def tables(self, env: str) -> set[str]:
        return set(
            self.sql(env, "SELECT tablename FROM pg_tables WHERE schemaname = 'public';").split()
        )

    def rows(self, env: str) -> list[str]:
        return self.sql(
            env,
            "SELECT u.id, u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id "
            "ORDER BY u.id;",
        ).splitlines()

    def dump(self, env: str) -> str:
        """Schema and data as SQL text, to compare a database with itself at another time."""
        done = subprocess.run(
            [
                *("pg_dump", "-h", "127.0.0.1", "-p", str(self.cluster.port)),
                *("-U", self.cluster.role, getattr(self, env)),
            ],
            env={**os.environ, "PGPASSWORD": self.cluster.password},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        # \restrict lines carry a random key per dump; everything else must be identical.
        return "\n".join(
            line
            for line in done.stdout.splitlines()
            if not line.startswith(("\\restrict", "\\unrestrict"))
        )


V1_ROWS = ["1|ada|10.50", "2|grace|20", "3|linus|30.25"]


def fresh_databases(cluster: PostgresCluster) -> Databases:
    """Two new databases on ``cluster``, staging and production, holding schema v1."""
    found = Databases(
        cluster, cluster.create_database("staging"), cluster.create_database("production")
    )
    for env in ("staging", "production"):
        found.sql(env, SCHEMA_V1)
    return found
