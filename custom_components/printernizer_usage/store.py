"""Local statistics in a SQLite file, used from one worker thread only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import sqlite3
from typing import Any

SCHEMA_VERSION = 1


class LocalStatisticsStore:
    """The SQLite file of one config entry; every method blocks."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        """Wrap an open connection."""
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> LocalStatisticsStore:
        """Open or create the file at path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA secure_delete=ON")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        return cls(connection)

    def export(self) -> dict[str, Any]:
        """Return everything the user may see."""
        rows = self._db.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
        return {"export_version": 1, "meta": dict(rows)}

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


class StoreWorker:
    """Runs a store on a thread of its own so SQLite never blocks the event loop."""

    def __init__(self) -> None:
        """Start with no store; `async_open` creates it on the worker thread."""
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="printernizer_usage_store"
        )
        self._store: LocalStatisticsStore | None = None

    async def async_open(self, path: Path) -> None:
        """Open the store file on the worker thread."""
        self._store = await self._run(LocalStatisticsStore.open, path)

    async def async_call[T](self, method: Callable[[LocalStatisticsStore], T]) -> T:
        """Run one store method on the worker thread."""
        store = self._store
        if store is None:
            msg = "store is not open"
            raise RuntimeError(msg)
        return await self._run(method, store)

    async def async_close(self) -> None:
        """Close the store and end the worker thread."""
        if self._store is not None:
            await self._run(self._store.close)
            self._store = None
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, func, *args
        )
