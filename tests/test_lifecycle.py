"""What setting up and unloading an entry costs, and what unloading leaves."""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .helpers import refresh
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_init import open_store_files, store_threads
from .test_sharing import start

OURS = "printernizer_usage"


def our_tasks() -> list[asyncio.Task[object]]:
    """Return the unfinished tasks running the integration's code."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and OURS in task.get_coro().__qualname__ + repr(task)
    ]


def our_timers(hass: HomeAssistant) -> list[asyncio.TimerHandle]:
    """Return the loop's scheduled callbacks that lead into the integration."""
    scheduled: list[asyncio.TimerHandle] = hass.loop._scheduled  # type: ignore[attr-defined]
    return [
        handle
        for handle in scheduled
        if not handle.cancelled()
        # A bound method's repr names its object's module; a helper's, its job.
        and OURS in repr(handle) + repr(getattr(handle._callback, "__self__", None))  # type: ignore[attr-defined]
    ]


@pytest.mark.usefixtures("wednesday")
async def test_setup_costs_one_refresh(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """Adding the entry sends exactly the requests of one refresh, no more."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    setup_requests = list(printernizer.requests)
    printernizer.requests.clear()
    await refresh(hass, mock_config_entry)
    assert setup_requests == printernizer.requests
    assert setup_requests.count("/api/v1/health") == 1


@pytest.mark.usefixtures("wednesday", "fixed_send_offset")
async def test_unload_leaves_no_task_timer_thread_or_file(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """A sharing entry runs a poll timer, a send timer and a store thread; all go."""
    await start(hass, sharing_entry)
    assert len(our_timers(hass)) >= 2  # the poll and the next send
    assert len(store_threads()) == 1
    assert open_store_files(hass, sharing_entry)

    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sharing_entry.state is ConfigEntryState.NOT_LOADED
    assert our_timers(hass) == []
    assert our_tasks() == []
    assert store_threads() == []
    assert open_store_files(hass, sharing_entry) == []
