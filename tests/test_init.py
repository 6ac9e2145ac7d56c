"""Setting up, running, unloading and removing an entry; the store's life cycle."""

from __future__ import annotations

import asyncio
from contextlib import suppress
import logging
from pathlib import Path
import sqlite3
import threading

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_URL, EVENT_HOMEASSISTANT_STOP, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import store_path
from custom_components.printernizer_usage.const import (
    CONF_BASELINE_ID,
    DOMAIN,
    ErrorType,
)
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .helpers import refresh
from .simulator.printernizer import PrinternizerSimulator

CONNECTIVITY = "binary_sensor.printernizer_usage_statistics_printernizer_connection"
JOBS = "sensor.printernizer_usage_statistics_jobs_this_week"
ERRORS = "sensor.printernizer_usage_statistics_errors_this_week"
PRINTERS = "sensor.printernizer_usage_statistics_printers"


def store_threads() -> list[threading.Thread]:
    """Return the store worker threads that are alive."""
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith("printernizer_usage_store")
    ]


async def test_setup_counts_new_activity(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """After setup learns the baseline, new jobs show up in the weekly count."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(JOBS).state == "0"
    assert hass.states.get(PRINTERS).state == "3"
    assert hass.states.get(CONNECTIVITY).state == STATE_ON
    printernizer.add_job()
    printernizer.add_job()
    await refresh(hass, init_integration)
    assert hass.states.get(JOBS).state == "2"


async def test_setup_with_printernizer_down(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Local first: the entry loads, sensors stay available, the failure is counted."""
    printernizer.refuse_connections()
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(CONNECTIVITY).state == STATE_OFF
    assert hass.states.get(JOBS).state == "0"
    errors = hass.states.get(ERRORS)
    assert errors.state == "1"
    assert errors.attributes[ErrorType.CONNECTION_REFUSED] == 1
    assert hass.states.get(PRINTERS).state == "unknown"
    printernizer.accept_connections()


async def test_reachability_is_logged_once_each_way(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One warning when Printernizer goes, one message when it is back."""
    caplog.set_level(logging.INFO, logger="custom_components.printernizer_usage")
    printernizer.fail("500", times=3)
    for _ in range(3):
        await refresh(hass, init_integration)
    assert hass.states.get(CONNECTIVITY).state == STATE_OFF
    assert hass.states.get(ERRORS).attributes[ErrorType.SERVER_ERROR] == 3
    await refresh(hass, init_integration)
    assert hass.states.get(CONNECTIVITY).state == STATE_ON
    messages = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.printernizer_usage")
    ]
    assert messages == [
        "Printernizer could not be polled (server_error); the statistics stay "
        "available and failed polls are counted as errors",
        "Printernizer can be polled again",
    ]


def open_store_files(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """Return this process's open file descriptors on the entry's store files."""
    prefix = str(store_path(hass, entry.entry_id))
    targets = []
    for fd in Path("/proc/self/fd").iterdir():
        with suppress(OSError):
            targets.append(str(fd.readlink()))
    return [target for target in targets if target.startswith(prefix)]


async def test_unload_leaves_nothing_behind(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Unloading closes the store file and ends its thread."""
    assert len(store_threads()) == 1
    assert open_store_files(hass, init_integration)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert store_threads() == []
    assert open_store_files(hass, init_integration) == []
    assert hass.states.get(JOBS).state == "unavailable"


async def test_restart_keeps_counts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """Counts survive a reload, and items are not counted twice afterwards."""
    printernizer.add_job()
    await refresh(hass, init_integration)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(JOBS).state == "1"
    printernizer.add_job()
    await refresh(hass, init_integration)
    assert hass.states.get(JOBS).state == "2"


async def test_home_assistant_stop_closes_the_store(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Stopping Home Assistant closes the store even without an unload."""
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert store_threads() == []
    assert await hass.config_entries.async_unload(init_integration.entry_id)


async def test_remove_deletes_the_files(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Removing the entry deletes the database with its journals and copies."""
    path = store_path(hass, init_integration.entry_id)
    Path(f"{path}.corrupt-20261101T000000Z").write_bytes(b"old copy")
    assert path.exists()
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert not path.parent.exists()


async def test_corrupt_store_raises_a_repair_issue(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A damaged file is replaced, the entry loads, and the user is told."""
    path = store_path(hass, mock_config_entry.entry_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 200)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue = issue_registry.async_get_issue(
        DOMAIN, f"store_recovered_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_key == "store_recovered"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["file"].startswith(f"{path.name}.corrupt-")

    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert not path.parent.exists()
    assert not issue_registry.issues


async def test_newer_schema_is_refused(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A file from a newer version stops the entry, untouched, with an issue."""
    path = store_path(hass, mock_config_entry.entry_id)
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 7")
    db.close()
    before = path.read_bytes()
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert path.read_bytes() == before
    issue = issue_registry.async_get_issue(
        DOMAIN, f"store_schema_too_new_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert store_threads() == []

    path.unlink()
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert not issue_registry.issues


async def test_store_that_cannot_open_retries(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A file that cannot be opened now makes Home Assistant retry later."""
    store_path(hass, mock_config_entry.entry_id).mkdir(parents=True)
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert store_threads() == []


async def test_store_write_failure_fails_the_update(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """When the store cannot be written, entities become unavailable, not wrong."""
    worker = init_integration.runtime_data.store
    store = worker._store
    await worker.async_call(lambda store: store._db.execute("PRAGMA query_only = ON"))
    await refresh(hass, init_integration)
    coordinator = init_integration.runtime_data.coordinator
    assert not coordinator.last_update_success
    assert hass.states.get(JOBS).state == "unavailable"
    await worker.async_call(lambda store: store._db.execute("PRAGMA query_only = OFF"))
    await refresh(hass, init_integration)
    assert hass.states.get(JOBS).state == "0"
    assert store is worker._store


async def test_failed_first_refresh_closes_the_store(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """If even the first poll cannot be stored, setup retries and closes the file."""
    path = store_path(hass, mock_config_entry.entry_id)
    store, _ = LocalStatisticsStore.open(path, dt_util.utcnow())
    store._db.execute("DROP TABLE day_bucket")  # the first write fails
    store.close()
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert store_threads() == []


async def test_another_server_is_not_counted_as_new(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    socket_enabled: None,
) -> None:
    """After reconfiguring to another Printernizer, its history is baseline."""
    other = PrinternizerSimulator()
    for _ in range(4):
        other.add_job()
    other.start()
    try:
        result = await init_integration.start_reconfigure_flow(hass)
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: other.url}
        )
        await hass.async_block_till_done()
        assert init_integration.state is ConfigEntryState.LOADED
        assert hass.states.get(JOBS).state == "0"
        other.add_job()
        await refresh(hass, init_integration)
        assert hass.states.get(JOBS).state == "1"
    finally:
        assert await hass.config_entries.async_unload(init_integration.entry_id)
        other.stop()


async def test_overlapping_polls_count_once(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """A requested refresh during a timed one does not count new items twice."""
    printernizer.add_job()
    coordinator = init_integration.runtime_data.coordinator
    await asyncio.gather(coordinator.async_refresh(), coordinator.async_refresh())
    await hass.async_block_till_done()
    assert hass.states.get(JOBS).state == "1"


async def test_damage_found_while_running_reloads_the_entry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A write that finds the file damaged reloads the entry, which recovers it."""
    path = store_path(hass, init_integration.entry_id)

    def damaged(self: LocalStatisticsStore, outcome: object) -> None:
        self._db.close()
        path.write_bytes(b"damaged" * 100)
        error = sqlite3.DatabaseError("database disk image is malformed")
        error.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
        raise error

    monkeypatch.setattr(LocalStatisticsStore, "record_poll", damaged)
    await init_integration.runtime_data.coordinator.async_refresh()
    monkeypatch.undo()
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert issue_registry.async_get_issue(
        DOMAIN, f"store_recovered_{init_integration.entry_id}"
    )
    assert hass.states.get(JOBS).state == "0"


async def test_unexpected_setup_error_closes_the_store(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Whatever goes wrong while opening, no thread or file is left behind."""
    path = store_path(hass, mock_config_entry.entry_id)
    store, _ = LocalStatisticsStore.open(path, dt_util.utcnow())
    store._db.execute("INSERT INTO meta VALUES ('baselines', 'not json')")
    store._db.execute(
        "INSERT INTO meta VALUES ('baseline_id', ?)",
        (mock_config_entry.data[CONF_BASELINE_ID],),
    )
    store.close()
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert store_threads() == []
