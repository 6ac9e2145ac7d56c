"""The async engine and sessions for a database URL."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Final

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

# Run on every new SQLite connection. secure_delete: a deleted row's bytes are
# overwritten, so that a deleted installation is gone from the file, not only
# unlinked. journal_mode=DELETE: the rollback journal, which holds the old
# pages of a transaction, is removed at commit (a WAL file would keep them
# until a checkpoint that readers can hold off).
_SQLITE_PRAGMAS: Final = (
    "PRAGMA secure_delete=ON",
    "PRAGMA journal_mode=DELETE",
    "PRAGMA foreign_keys=ON",
)
_SQLITE_BUSY_CODES: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def create_engine(url: str) -> AsyncEngine:
    """Return an async engine for `url`; SQLite connections get the pragmas above."""
    # Parameters stay out of log lines and error messages: they hold ids.
    # pool_pre_ping: a connection the database ended (a restart) is replaced
    # before use instead of failing the request that picks it.
    engine = create_async_engine(url, hide_parameters=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def is_temporarily_unavailable(error: BaseException) -> bool:
    """Tell whether `error` means the database is busy or briefly gone.

    Such a request is worth repeating later; any other failure is not.
    """
    if isinstance(error, PoolTimeoutError):  # every pooled connection stayed busy
        return True
    if not isinstance(error, DBAPIError):
        return False
    # A connection the database ended, or SQLite's lock held elsewhere past the wait.
    return error.connection_invalidated or (
        isinstance(error.orig, sqlite3.OperationalError)
        and error.orig.sqlite_errorcode in _SQLITE_BUSY_CODES
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory for `engine`."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _on_sqlite_connect(
    dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry
) -> None:
    # The driver's own transaction handling begins a transaction only at the
    # first write, so a read and the write that depends on it would not be
    # atomic; SQLAlchemy's recipe: let the driver do none and begin ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at once: transactions of this service run
    # one after another, so two submissions of one installation cannot race.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
