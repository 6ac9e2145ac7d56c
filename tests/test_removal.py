"""Removing an entry: waiting deletion requests get one last, bounded attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import remote_deletion, store_path
from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.outbox import DeletionRow, Outbox
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .helpers import home_assistant_log
from .simulator.collection import CollectionSimulator

OLD_ID = "5b9d1c84-2f3e-4a7b-9c6d-0e1f2a3b4c5d"
OTHER_ID = "0f8b9c2d-7e6a-4b3c-8d1e-2f3a4b5c6d7e"


def queue_deletions(
    hass: HomeAssistant, entry: MockConfigEntry, *rows: DeletionRow
) -> None:
    """Leave deletion requests waiting in the entry's file, as after a failure."""
    store, _ = LocalStatisticsStore.open(
        store_path(hass, entry.entry_id), datetime.now(UTC)
    )
    store.save_sharing(ConsentHistory(), Outbox(deletions=rows))
    store.close()


async def remove(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add the entry without setting it up, then remove it."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not store_path(hass, entry.entry_id).parent.exists()


async def test_waiting_deletions_are_sent_before_the_file_goes(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each waiting request goes to its server; the key only to its own."""
    caplog.set_level(logging.INFO)
    other = CollectionSimulator(api_key=None)
    other.start()
    try:
        queue_deletions(
            hass,
            sharing_entry,
            DeletionRow(OLD_ID, collection.url, due_at=datetime.now(UTC)),
            DeletionRow(OTHER_ID, other.url, due_at=datetime.now(UTC)),
        )
        await remove(hass, sharing_entry)
        assert collection.deletions == [OLD_ID]
        assert other.deletions == [OTHER_ID]
    finally:
        other.stop()
    log = home_assistant_log(caplog)
    assert "All 2 waiting deletion requests were acknowledged" in log
    assert OLD_ID not in log
    assert OTHER_ID not in log


async def test_an_unreachable_server_is_reported_without_ids(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The entry goes all the same; the log says what could not be delivered."""
    queue_deletions(
        hass,
        sharing_entry,
        DeletionRow(OLD_ID, collection.url, due_at=datetime.now(UTC)),
    )
    collection.refuse_connections()
    await remove(hass, sharing_entry)
    log = home_assistant_log(caplog)
    assert "1 of 1 waiting deletion requests could not be delivered" in log
    assert OLD_ID not in log
    collection.accept_connections()


async def test_the_last_attempt_is_bounded(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that does not answer in time does not hold the removal up."""
    monkeypatch.setattr(
        remote_deletion, "REMOVAL_DEADLINE", timedelta(milliseconds=200)
    )
    collection.fail("slow", "/installation", delay=2)
    queue_deletions(
        hass,
        sharing_entry,
        DeletionRow(OLD_ID, collection.url, due_at=datetime.now(UTC)),
    )
    await remove(hass, sharing_entry)
    log = home_assistant_log(caplog)
    assert "1 of 1 waiting deletion requests could not be delivered" in log


async def test_nothing_waiting_means_nothing_sent(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """A file without waiting requests sends nothing."""
    queue_deletions(hass, sharing_entry)
    await remove(hass, sharing_entry)
    assert collection.requests == []


async def test_an_unreadable_file_is_just_deleted(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """A file of a newer schema cannot be read; it is deleted all the same."""
    path = store_path(hass, sharing_entry.entry_id)
    queue_deletions(hass, sharing_entry)
    store, _ = LocalStatisticsStore.open(path, datetime.now(UTC))
    store._db.execute("PRAGMA user_version = 99")
    store.close()
    await remove(hass, sharing_entry)
    assert collection.requests == []


async def test_an_entry_without_a_file_is_removed_quietly(
    hass: HomeAssistant, sharing_entry: MockConfigEntry, collection: CollectionSimulator
) -> None:
    """An entry that never opened its file has nothing to send."""
    await remove(hass, sharing_entry)
    assert collection.requests == []
