"""The heavy actions never hold up Home Assistant's event loop.

An entry that shares statistics starts with a file holding two years of them
(the baseline: one week) and consent from three weeks ago, but no collection
server yet. A probe task measures the loop's longest stall while each of
these runs: a preview, an export, the first submission (set off by giving the
entry its collection server) and the deletion of everything local.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    DOMAIN,
)
from tests.simulator.collection import CollectionSimulator
from tests.simulator.printernizer import serving_demo_fleet

from .common import Row, longest_stall, new_entry, set_up, store_file
from .history import END, write_history

LIMIT_MS = 20.0
SUBMISSION_TIMEOUT = 30.0
CALLS = (
    "preview_payload",
    "export_statistics",
    "submission",
    "delete_local_statistics",
)


def consent_weeks_ago(path: Path, weeks: int) -> None:
    """Record an opt-in long enough ago that whole weeks are covered since."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT INTO consent_change (at, share, policy_version) VALUES (?, 1, 1)",
            ((END - timedelta(weeks=weeks)).isoformat(),),
        )
    connection.close()


async def stalls_with_history(
    hass: HomeAssistant, days: int, collection: CollectionSimulator, url: str
) -> dict[str, float]:
    """Return the longest stall, in seconds, during each call, for one entry."""
    entry = new_entry(
        hass, url, {CONF_SHARE_STATISTICS: True, CONF_CONSENTED_POLICY: 1}
    )
    await hass.async_add_executor_job(_prepare, store_file(hass, entry), days)
    await set_up(hass, entry)
    return await _measure(hass, entry, collection)


def _prepare(path: Path, days: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_history(path, END, days)
    consent_weeks_ago(path, 3)


async def _measure(
    hass: HomeAssistant, entry: MockConfigEntry, collection: CollectionSimulator
) -> dict[str, float]:
    def action(name: str, **data: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: hass.services.async_call(
            DOMAIN,
            name,
            {"config_entry_id": entry.entry_id, **data},
            blocking=True,
            return_response=True,
        )

    async def submit() -> None:
        hass.config_entries.async_update_entry(
            entry,
            options={
                **entry.options,
                CONF_COLLECTION_URL: collection.url,
                CONF_COLLECTION_API_KEY: collection.api_key,
            },
        )
        async with asyncio.timeout(SUBMISSION_TIMEOUT):
            while not collection.submissions:  # noqa: ASYNC110 - another thread
                await asyncio.sleep(0.01)

    stalls = {
        "preview_payload": await longest_stall(action("preview_payload")),
        "export_statistics": await longest_stall(action("export_statistics")),
        "submission": await longest_stall(submit),
        "delete_local_statistics": await longest_stall(
            action("delete_local_statistics")
        ),
    }
    await hass.config_entries.async_unload(entry.entry_id)
    return stalls


async def run(hass: HomeAssistant) -> list[Row]:
    """Measure each call over two years and over one week of statistics."""
    with (
        serving_demo_fleet() as long_printernizer,
        serving_demo_fleet() as short_printernizer,
        serving_collection() as long_collection,
        serving_collection() as short_collection,
    ):
        two_years = await stalls_with_history(
            hass, 730, long_collection, long_printernizer.url
        )
        one_week = await stalls_with_history(
            hass, 7, short_collection, short_printernizer.url
        )
    return [
        Row(
            f"loop stall: {name}, 2 years (vs 1 week)",
            two_years[name] * 1000,
            one_week[name] * 1000,
            LIMIT_MS,
            "ms",
            absolute=True,
        )
        for name in CALLS
    ]


@contextmanager
def serving_collection() -> Iterator[CollectionSimulator]:
    """Serve a collection server on loopback until the block ends."""
    simulator = CollectionSimulator()
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
