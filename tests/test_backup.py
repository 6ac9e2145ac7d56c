"""Backups hold a consistent copy of the statistics file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import backup, store_path
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .helpers import refresh
from .simulator.printernizer import PrinternizerSimulator


async def test_backup_checkpoints_and_holds_writes(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """Before a backup the log is folded in and writes wait until it ends."""
    wal = Path(f"{store_path(hass, init_integration.entry_id)}-wal")
    assert wal.stat().st_size > 0
    await backup.async_pre_backup(hass)
    assert wal.stat().st_size == 0

    printernizer.add_job()
    poll = hass.async_create_task(refresh(hass, init_integration))
    await asyncio.sleep(0.2)
    assert not poll.done()
    assert wal.stat().st_size == 0

    await backup.async_post_backup(hass)
    await poll
    store = init_integration.runtime_data.store
    export = await store.async_call(LocalStatisticsStore.export)
    assert [
        bucket["count"]
        for bucket in export["day_buckets"]
        if bucket["metric"] == "jobs"
    ] == [1]


async def test_unload_during_a_backup(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry unloaded while a backup runs still closes cleanly."""
    await backup.async_pre_backup(hass)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await backup.async_post_backup(hass)
