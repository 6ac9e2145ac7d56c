"""The store's worker thread: ordering, backup holds and shutdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import sqlite3

import pytest

from custom_components.printernizer_usage import store_worker as store_worker_module
from custom_components.printernizer_usage.store import LocalStatisticsStore
from custom_components.printernizer_usage.store_worker import StoreWorker

NOW = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)


async def test_calls_need_an_open_store() -> None:
    """Nothing runs against a store that is not open, and closing twice is fine."""
    worker = StoreWorker()
    with pytest.raises(RuntimeError):
        await worker.async_call(LocalStatisticsStore.export)
    await worker.async_hold_for_backup()  # nothing to hold
    await worker.async_close()


async def test_failed_checkpoint_is_reported(tmp_path: Path) -> None:
    """A backup is not told the copy is consistent when the checkpoint failed."""
    worker = StoreWorker()
    await worker.async_open(tmp_path / "entry.db", NOW)
    await worker.async_call(lambda store: store._db.close())
    with pytest.raises(sqlite3.ProgrammingError):
        await worker.async_hold_for_backup()
    worker._store = None
    await worker.async_close()


async def test_backup_hold_ends_by_itself(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A backup that never ends does not stop the statistics for good."""
    monkeypatch.setattr(
        store_worker_module, "BACKUP_HOLD_LIMIT", timedelta(milliseconds=50)
    )
    worker = StoreWorker()
    await worker.async_open(tmp_path / "entry.db", NOW)
    await worker.async_hold_for_backup()
    assert (await worker.async_call(LocalStatisticsStore.export))["export_version"] == 1
    assert "Backup did not finish in time" in caplog.text
    await worker.async_close()
    assert caplog.records[-1].levelno == logging.WARNING
