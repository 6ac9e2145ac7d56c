"""Fixtures: the real app under uvicorn on loopback, on SQLite and on PostgreSQL.

Also a movable clock and every log line the process writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import logging
import os
from pathlib import Path
import socket
import ssl
from typing import Any

from fastapi import FastAPI
import httpx
import pytest
import trustme
import uvicorn

from printernizer_usage_server.app import create_app
from printernizer_usage_server.runtime import Runtime
from printernizer_usage_server.server import Tls, uvicorn_config
from printernizer_usage_server.settings import Settings
from tests.databases import (
    REQUIRE_POSTGRESQL,
    DatabaseUnderTest,
    PostgresCluster,
    PostgresUnavailableError,
    SqliteDatabase,
)

# A source address no other test traffic uses, so that finding it anywhere
# means the server kept the client's address.
CLIENT_ADDRESS = "127.77.0.9"
# The test's own HTTP client logs its connections (with CLIENT_ADDRESS); those
# lines are the client's, not the server's.
CLIENT_LOGGERS = ("httpx", "httpcore")


@dataclass
class MovableClock:
    """A clock that stands still until the test moves it."""

    # A Monday morning after the weeks the tests send, within their retention.
    now: datetime = datetime(2024, 12, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        """Return the current test time."""
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward by a timedelta's keyword arguments."""
        self.now += timedelta(**delta)


class LogCapture(logging.Handler):
    """Every record the process logs at any level, except the test client's."""

    def __init__(self) -> None:
        """Start with nothing captured."""
        super().__init__(level=logging.NOTSET)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's full text, traceback included."""
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(self.format(record))

    def cover_unpropagated_loggers(self) -> None:
        """Also listen on loggers that do not pass records up to the root."""
        for logger in logging.Logger.manager.loggerDict.values():
            if (
                isinstance(logger, logging.Logger)
                and not logger.propagate
                and self not in logger.handlers
            ):
                logger.addHandler(self)

    def detach(self) -> None:
        """Stop listening anywhere."""
        logging.getLogger().removeHandler(self)
        for logger in logging.Logger.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                logger.removeHandler(self)

    def text(self) -> str:
        """Return everything captured, one record a line."""
        return "\n".join(self.lines)


@dataclass
class RunningServer:
    """The app under uvicorn, and a client that calls it from CLIENT_ADDRESS."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: MovableClock
    settings: Settings
    database: DatabaseUnderTest

    @property
    def runtime(self) -> Runtime:
        """Return the app's runtime (its database and purge)."""
        runtime: Runtime = self.app.state.runtime
        return runtime

    def database_bytes(self) -> bytes:
        """Return the raw bytes of the files that hold the database."""
        return self.database.stored_bytes()

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """Read the database directly, as an auditor would."""
        return self.database.query(sql, *parameters)


@dataclass
class ServerFactory:
    """Starts servers on one database; each runs until the test ends or stop()."""

    database: DatabaseUnderTest
    clock: MovableClock
    logs: LogCapture
    running: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = field(
        default_factory=list
    )

    def settings(self, **changes: Any) -> Settings:
        """Return the test settings (this database) with `changes`."""
        return replace(Settings(database_url=self.database.url), **changes)

    async def start(
        self, tls: Tls | None = None, ca: trustme.CA | None = None, **changes: Any
    ) -> RunningServer:
        """Start the real app under uvicorn on a free loopback port.

        With `tls`, it serves TLS, and the client trusts `ca`.
        """
        settings = self.settings(**changes)
        app = create_app(settings, clock=self.clock)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        config = uvicorn_config(
            app, "127.0.0.1", port, tls, settings.head_timeout_seconds
        )
        server = uvicorn.Server(config)
        # uvicorn's configuration has just unhooked its access logger from the root.
        self.logs.cover_unpropagated_loggers()
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            if serving.done():
                serving.result()  # startup failed: raise its error here
                pytest.fail("the server stopped before it started")
            # Waits for start-up to finish, whatever it takes; no timing involved.
            await asyncio.sleep(0.001)
        verify = ssl.create_default_context()
        if ca is not None:
            ca.configure_trust(verify)
        client = httpx.AsyncClient(
            base_url=f"{'http' if tls is None else 'https'}://127.0.0.1:{port}",
            # Answers arrive whenever the server sends them; pytest-timeout
            # guards against a hang, with no speed assumed here.
            timeout=None,  # noqa: S113 - pytest-timeout is the hang guard
            transport=httpx.AsyncHTTPTransport(
                local_address=CLIENT_ADDRESS, verify=verify
            ),
        )
        self.running.append((server, serving, client))
        return RunningServer(app, client, self.clock, settings, self.database)

    async def stop(self) -> None:
        """Stop every server started so far (the lifespan's shutdown runs)."""
        while self.running:
            server, serving, client = self.running.pop()
            await client.aclose()
            server.should_exit = True
            await serving


@pytest.fixture
def clock() -> MovableClock:
    """Return a clock the test moves by hand."""
    return MovableClock()


@pytest.fixture
def server_logs() -> Iterator[LogCapture]:
    """Capture every log record at every level while the test runs."""
    capture = LogCapture()
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(capture)
    root.setLevel(1)
    try:
        yield capture
    finally:
        capture.detach()
        root.setLevel(previous_level)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Start a throw-away PostgreSQL cluster once, for every test that needs one."""
    try:
        cluster = PostgresCluster()
    except PostgresUnavailableError as missing:
        if os.environ.get(REQUIRE_POSTGRESQL) or os.environ.get("CI"):
            raise
        pytest.skip(f"{missing}; install Debian's postgresql package")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker of tests that are the same on every engine."""
    config.addinivalue_line(
        "markers",
        "sqlite_only: on SQLite alone (about SQLite, or the same on any engine)",
    )
    config.addinivalue_line(
        "markers", "postgresql_only: about what PostgreSQL alone does"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test on a server on both engines, unless a marker says otherwise."""
    if "database" in metafunc.fixturenames:
        engines = ["sqlite", "postgresql"]
        if metafunc.definition.get_closest_marker("sqlite_only"):
            engines = ["sqlite"]
        if metafunc.definition.get_closest_marker("postgresql_only"):
            engines = ["postgresql"]
        metafunc.parametrize("database", engines, indirect=True)


@pytest.fixture
def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[DatabaseUnderTest]:
    """Return an empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield SqliteDatabase(tmp_path / "usage.db")
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    postgres = cluster.new_database()
    try:
        yield postgres
    finally:
        cluster.drop_database(postgres)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> SqliteDatabase:
    """Return an empty SQLite file, for what only SQLite does."""
    return SqliteDatabase(tmp_path / "usage.db")


@pytest.fixture
async def servers(
    database: DatabaseUnderTest, clock: MovableClock, server_logs: LogCapture
) -> AsyncIterator[ServerFactory]:
    """Return a factory of servers on an empty database, on each engine."""
    factory = ServerFactory(database, clock, server_logs)
    try:
        yield factory
    finally:
        await factory.stop()


@pytest.fixture
async def server(servers: ServerFactory) -> RunningServer:
    """Return one running server with the default settings."""
    return await servers.start()
