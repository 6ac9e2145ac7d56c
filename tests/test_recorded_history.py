"""Local deletion and removal ask Home Assistant's recorder to forget the entry.

A real recorder (SQLite in memory) records the sensors' states and compiles
their statistics; afterwards, neither is left of the time before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from homeassistant.components.recorder import Recorder, history
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_purge_done,
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)

from .helpers import refresh
from .simulator.printernizer import PrinternizerSimulator
from .test_actions import call
from .test_init import JOBS


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """Prepare the recorder's database before Home Assistant starts."""


async def recorded(
    hass: HomeAssistant, since: datetime, until: datetime
) -> tuple[list[str], list[str]]:
    """Return the entities with states, and with statistics, in a period."""
    await async_wait_purge_done(hass)

    def read() -> tuple[list[str], list[str]]:
        states = history.get_significant_states(
            hass, since, until, [JOBS], significant_changes_only=False
        )
        statistics = statistics_during_period(
            hass, since, until, {JOBS}, period="5minute"
        )
        return sorted(states), sorted(statistics)

    return await hass.async_add_executor_job(read)


async def record_an_hour(
    hass: HomeAssistant, entry: MockConfigEntry, printernizer: PrinternizerSimulator
) -> tuple[datetime, datetime]:
    """Set up the entry, record states and compile statistics; return the period."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    printernizer.add_job()
    await refresh(hass, entry)
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)
    period = (start - timedelta(hours=1), start + timedelta(minutes=5))
    assert await recorded(hass, *period) == ([JOBS], [JOBS])
    return period


async def _delete_locally(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    response = await call(hass, "delete_local_statistics", entry)
    assert response["home_assistant_history"] == "requested"


async def _remove(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("forget", [_delete_locally, _remove], ids=["local", "removal"])
async def test_the_recorder_is_asked_to_forget(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    forget: Callable[[HomeAssistant, MockConfigEntry], Awaitable[None]],
) -> None:
    """Local deletion and removal purge states and statistics from before them.

    What the entry records afterwards, starting afresh, may stay.
    """
    since, _ = await record_an_hour(hass, mock_config_entry, printernizer)
    forgotten_at = dt_util.utcnow()
    await forget(hass, mock_config_entry)
    assert await recorded(hass, since, forgotten_at) == ([], [])


async def test_without_a_recorder_nothing_is_asked(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without the recorder loaded, the answer says there is nothing recorded."""
    response = await call(hass, "delete_local_statistics", init_integration)
    assert response["home_assistant_history"] == "not_recorded"
