"""What setting up and unloading an entry costs, and what unloading leaves."""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_SHARE_STATISTICS,
)
from custom_components.printernizer_usage.sharing import SharingStoppedError

from .helpers import refresh
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_init import open_store_files, store_threads
from .test_sharing import export, start

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


@pytest.mark.usefixtures("wednesday", "fixed_send_offset")
@pytest.mark.parametrize("share", [True, False])
async def test_options_changed_while_unloading_are_applied_at_the_next_start(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    caplog: pytest.LogCaptureFixture,
    share: bool,
) -> None:
    """The change listener may still run while the entry unloads: nothing breaks.

    The store must not be written after it is closed, and the option is not
    lost: Home Assistant keeps it, and the next start records the decision.
    """
    await start(hass, sharing_entry)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={
            **sharing_entry.options,
            CONF_SHARE_STATISTICS: share,
            CONF_COLLECTION_API_KEY: "a-new-key",
        },
    )
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "store is not open" not in caplog.text
    assert "Traceback" not in caplog.text

    await start(hass, sharing_entry)
    history = (await export(hass, sharing_entry))["consent_history"]
    expected = [True] if share else [True, False]
    assert [decision["share_statistics"] for decision in history] == expected


@pytest.mark.usefixtures("wednesday", "fixed_send_offset")
async def test_nothing_is_changed_or_sent_once_sharing_stopped(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """After unloading, a late change is refused and a late send does nothing."""
    await start(hass, sharing_entry)
    sharing = sharing_entry.runtime_data.sharing
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done()
    requests_before = list(collection.requests)

    with pytest.raises(SharingStoppedError) as caught:
        await sharing.async_request_remote_deletion()
    assert caught.value.translation_key == "entry_not_loaded"
    await sharing.async_send_due()
    assert collection.requests == requests_before
