"""The two engines the storage tests run on: a SQLite file and a real PostgreSQL.

PostgreSQL is a throw-away cluster from Debian's `postgresql` package, started
for the test session in a temporary folder. It listens on a Unix socket only
(no TCP port at all), trusts local connections, and runs as the `postgres`
user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
import itertools
import os
from pathlib import Path
import re
import shutil
import sqlite3
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import asyncpg

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

_Result = TypeVar("_Result")

SUPERUSER: Final = "postgres"
# Set by scripts/test, and by any CI: there, a missing PostgreSQL fails the
# run instead of skipping half of the storage tests.
REQUIRE_POSTGRESQL: Final = "PNZ_USAGE_TEST_REQUIRE_POSTGRESQL"
# Between two looks at whether a connection waits on a lock; no limit on how many.
_LOCK_POLL_SECONDS: Final = 0.01


class DatabaseUnderTest(Protocol):
    """A database the server under test uses, and an auditor's view of it."""

    @property
    def engine(self) -> str:
        """Return the engine's SQLAlchemy dialect name."""

    @property
    def url(self) -> str:
        """Return the server's database URL."""

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """Run `sql` (`?` for parameters) on the auditor's own connection.

        Dates read as ISO text, as SQLite keeps them.
        """

    def execute(self, sql: str) -> None:
        """Run a statement that changes the database behind the server's back."""

    def stored_bytes(self) -> bytes:
        """Return the raw bytes of every file that holds this database's tables."""


@dataclass
class SqliteDatabase:
    """A SQLite file and the side files SQLite keeps next to it."""

    path: Path
    engine: str = "sqlite"

    @property
    def url(self) -> str:
        """Return the server's URL for the file."""
        return f"sqlite+aiosqlite:///{self.path}"

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """Read the file directly (SQLite keeps dates as ISO text)."""
        connection = sqlite3.connect(self.path)
        try:
            return connection.execute(sql, parameters).fetchall()
        finally:
            connection.close()

    def execute(self, sql: str) -> None:
        """Change the file directly."""
        connection = sqlite3.connect(self.path)
        try:
            connection.execute(sql)
            connection.commit()
        finally:
            connection.close()

    def stored_bytes(self) -> bytes:
        """Return the file and its journal, if one is left."""
        files = sorted(self.path.parent.glob(self.path.name + "*"))
        return b"".join(path.read_bytes() for path in files)


@dataclass
class PostgresDatabase:
    """One database of the session's cluster, made for one test."""

    cluster: PostgresCluster
    name: str
    engine: str = "postgresql"

    @property
    def url(self) -> str:
        """Return the server's URL: the cluster's socket, no password."""
        return (
            f"postgresql+asyncpg://{SUPERUSER}@/{self.name}"
            f"?host={self.cluster.socket_folder}"
        )

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """Read through a connection of its own; dates come back as ISO text."""
        numbers = itertools.count(1)
        numbered = re.sub(r"\?", lambda _mark: f"${next(numbers)}", sql)
        rows = self.cluster.run(self._fetch(numbered, parameters))
        return [tuple(_as_sqlite_would(value) for value in row) for row in rows]

    def execute(self, sql: str) -> None:
        """Change the database through a connection of its own."""
        self.cluster.run(self._execute(sql))

    def stored_bytes(self) -> bytes:
        """Return the files of this database's tables and indexes, as on disk.

        A checkpoint first writes every changed page from memory to the files.
        The write-ahead log is the cluster's, not the database's: what it keeps
        is the operator's to limit (the README says how).
        """
        self.cluster.run(self._execute("CHECKPOINT"))
        (oid,) = self.cluster.run(
            self._fetch("SELECT oid FROM pg_database WHERE datname = $1", (self.name,))
        )[0]
        folder = self.cluster.data_folder / "base" / str(oid)
        return b"".join(
            path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()
        )

    async def _fetch(
        self, sql: str, parameters: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        connection = await self.cluster.connect(self.name)
        try:
            return [tuple(row) for row in await connection.fetch(sql, *parameters)]
        finally:
            await connection.close()

    async def _execute(self, sql: str) -> None:
        connection = await self.cluster.connect(self.name)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


async def until_a_lock_is_awaited(
    database: PostgresDatabase,
    given_up: Callable[[], bool] = lambda: False,
    waiting: int = 1,
) -> None:
    """Return once `waiting` connections to `database` wait on locks, or given_up()."""
    watching = await database.cluster.connect(database.name)
    try:
        while not given_up():
            waiters = await watching.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = $1 AND wait_event_type = 'Lock'",
                database.name,
            )
            if waiters >= waiting:
                return
            await asyncio.sleep(_LOCK_POLL_SECONDS)
    finally:
        await watching.close()


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL's server programs are not installed here."""


class PostgresCluster:
    """A cluster in a temporary folder, for one test session."""

    def __init__(self, *, durable: bool = False) -> None:
        """Find the server programs; nothing starts until start().

        `durable` keeps PostgreSQL's defaults (sync to disk at each commit),
        as a deployment has them; the tests do without.
        """
        self._durable = durable
        self._bin = _postgresql_bin_folder()
        self._as_postgres = (
            ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
        )
        self._root = Path(tempfile.mkdtemp(prefix="pnz-pg-"))
        self.data_folder = self._root / "data"
        self.socket_folder = self._root
        self._names = itertools.count(1)
        # The auditor's connections run on a loop of their own, beside the
        # test's loop, which is busy running the server at the time.
        self._auditor = ThreadPoolExecutor(max_workers=1)

    def start(self) -> None:
        """Create the cluster and start its server on the socket folder."""
        if self._as_postgres:
            shutil.chown(self._root, user=SUPERUSER)
        self._root.chmod(0o700)
        # No TCP listener.
        options = f"-c listen_addresses='' -c unix_socket_directories={self._root}"
        if not self._durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._program(
            "initdb",
            "--pgdata",
            str(self.data_folder),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--no-sync",
            "--encoding",
            "UTF8",
        )
        self._program(
            "pg_ctl",
            "--pgdata",
            str(self.data_folder),
            "--log",
            str(self._root / "server.log"),
            "--wait",
            "--options",
            options,
            "start",
        )

    def stop(self) -> None:
        """Stop the server and remove the cluster's folder."""
        self._auditor.shutdown()
        self._program(
            "pg_ctl", "--pgdata", str(self.data_folder), "--mode", "immediate", "stop"
        )
        shutil.rmtree(self._root, ignore_errors=True)

    def server_log(self) -> str:
        """Return everything the cluster's server has logged this session."""
        return (self._root / "server.log").read_text(errors="replace")

    def new_database(self) -> PostgresDatabase:
        """Create an empty database for one test."""
        name = f"test_{next(self._names)}"
        self.run(self._admin(f'CREATE DATABASE "{name}"'))
        return PostgresDatabase(self, name)

    def drop_database(self, database: PostgresDatabase) -> None:
        """Drop a test's database, whoever is still connected."""
        self.run(self._admin(f'DROP DATABASE "{database.name}" WITH (FORCE)'))

    async def connect(self, name: str) -> asyncpg.Connection:
        """Connect to database `name` as the superuser."""
        return await asyncpg.connect(
            host=str(self.socket_folder), user=SUPERUSER, database=name
        )

    def run(self, work: Coroutine[Any, Any, _Result]) -> _Result:
        """Run the coroutine `work` to its end on the auditor's loop."""
        return self._auditor.submit(asyncio.run, work).result()

    async def _admin(self, sql: str) -> None:
        connection = await self.connect("postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def _program(self, name: str, *arguments: str) -> None:
        subprocess.run(  # noqa: S603 - our own arguments, no shell
            [*self._as_postgres, str(self._bin / name), *arguments],
            check=True,
            capture_output=True,
        )


def _postgresql_bin_folder() -> Path:
    """Return the folder of initdb and pg_ctl: the newest Debian one, or PATH's."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name),
    )
    found = debian[-1] if debian else shutil.which("initdb")
    if found is None:
        msg = "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
        raise PostgresUnavailableError(msg)
    return Path(found).parent


def _as_sqlite_would(value: Any) -> Any:
    # The assertions are written once, for both engines, in SQLite's terms.
    return value.isoformat() if type(value) is date else value
