"""The thread the local store runs on, so SQLite never blocks the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
import sqlite3
import threading
from typing import Any, Final

from .const import LOGGER
from .store import LocalStatisticsStore

# A backup that never reports its end must not stop the statistics for good.
BACKUP_HOLD_LIMIT: Final = timedelta(minutes=30)


class StoreWorker:
    """Runs one store on a thread of its own, so SQLite never blocks the event loop.

    A single thread also orders every call, so a backup can hold writes back
    simply by occupying it.
    """

    def __init__(self) -> None:
        """Start the worker thread; `async_open` opens the store on it."""
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="printernizer_usage_store"
        )
        self._store: LocalStatisticsStore | None = None
        self._backup_release: threading.Event | None = None

    async def async_open(self, path: Path, now: datetime) -> Path | None:
        """Open the store; return the moved-aside copy of a corrupt file, if any."""
        self._store, moved_aside = await self._run(LocalStatisticsStore.open, path, now)
        return moved_aside

    async def async_call[T](self, method: Callable[..., T], /, *args: Any) -> T:
        """Run a store method, given unbound (LocalStatisticsStore.x), on the thread."""
        if self._store is None:
            msg = "store is not open"
            raise RuntimeError(msg)
        return await self._run(method, self._store, *args)

    async def async_hold_for_backup(self) -> None:
        """Checkpoint, then keep every later call waiting until the backup ends."""
        if self._store is None:
            return
        release = self._backup_release = threading.Event()
        checkpointed: Future[None] = Future()
        self._executor.submit(
            self._checkpoint_and_hold, self._store, checkpointed, release
        )
        await asyncio.wrap_future(checkpointed)

    def release_backup_hold(self) -> None:
        """Let calls run again after a backup."""
        if self._backup_release is not None:
            self._backup_release.set()
            self._backup_release = None

    async def async_close(self) -> None:
        """Close the store and end the worker thread."""
        self.release_backup_hold()
        try:
            if self._store is not None:
                store, self._store = self._store, None
                await self._run(store.close)
        finally:
            await asyncio.get_running_loop().run_in_executor(
                None, self._executor.shutdown
            )

    @staticmethod
    def _checkpoint_and_hold(
        store: LocalStatisticsStore,
        checkpointed: Future[None],
        release: threading.Event,
    ) -> None:
        try:
            store.checkpoint()
        except sqlite3.Error as err:
            checkpointed.set_exception(err)
            return
        checkpointed.set_result(None)
        if not release.wait(BACKUP_HOLD_LIMIT.total_seconds()):
            LOGGER.warning("Backup did not finish in time; resuming statistics")

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, func, *args
        )


async def async_call_once[T](
    path: Path, now: datetime, method: Callable[..., T], /, *args: Any
) -> T:
    """Open a store that no loaded entry holds, run one method, close it again."""
    worker = StoreWorker()
    try:
        await worker.async_open(path, now)
        return await worker.async_call(method, *args)
    finally:
        await worker.async_close()
