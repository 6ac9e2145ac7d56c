"""What every benchmark shares: a Home Assistant to run in, timing, the table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
import tempfile
import time
from typing import Any

from homeassistant import loader
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.printernizer_usage.const import CONF_BASELINE_ID, DOMAIN


@dataclass(frozen=True)
class Row:
    """One budget: the figure measured, its baseline from the same run, the limit."""

    budget: str
    measured: float
    baseline: float
    limit: float  # the largest ratio measured / baseline allowed
    unit: str
    absolute: bool = False  # the limit applies to the measured figure itself

    @property
    def ratio(self) -> float:
        """Return measured divided by baseline."""
        return self.measured / self.baseline

    @property
    def within(self) -> bool:
        """Return whether the budget holds."""
        if self.absolute:
            return self.measured <= self.limit
        return self.ratio <= self.limit


def print_table(rows: list[Row]) -> None:
    """Print every budget with its baseline, ratio and verdict."""
    header = ("budget", "measured", "baseline", "ratio", "limit", "")
    lines = [
        (
            row.budget,
            f"{row.measured:,.3f} {row.unit}".replace(".000 ", " "),
            f"{row.baseline:,.3f} {row.unit}".replace(".000 ", " "),
            f"{row.ratio:.3f}",
            f"{row.limit:g} {row.unit}" if row.absolute else f"{row.limit:g}",
            "ok" if row.within else "OVER BUDGET",
        )
        for row in rows
    ]
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(header, *lines, strict=True)
    ]
    for line in (header, *lines):
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=True)
            )
        )


def median(values: list[float]) -> float:
    """Return the median of a non-empty list."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


@asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """Run a Home Assistant core with this integration in a temporary config dir."""
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            # Let the loader find custom_components/ in this checkout.
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            yield hass


def new_entry(
    hass: HomeAssistant, url: str, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Add an entry for a Printernizer at url, not set up yet."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Printernizer",
        unique_id=url,
        data={CONF_URL: url, CONF_BASELINE_ID: url},
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set an entry up and wait until everything it started has settled."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def add_entry(hass: HomeAssistant, url: str) -> MockConfigEntry:
    """Add and set up an entry for a Printernizer at url."""
    entry = new_entry(hass, url)
    await set_up(hass, entry)
    return entry


def store_file(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    """Return the entry's statistics file."""
    return Path(hass.config.path(".storage", DOMAIN, f"{entry.entry_id}.db"))


async def longest_stall(call: Callable[[], Awaitable[Any]]) -> float:
    """Run call while a probe task measures the loop's longest stall, in seconds.

    The probe asks to wake every millisecond; any lateness beyond that is time
    in which the loop ran something else without yielding to it.
    """
    stalls: list[float] = []
    running = True

    async def probe() -> None:
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - before - 0.001)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0.01)  # let the probe run before the call starts
    try:
        await call()
    finally:
        running = False
        await task
    return max(stalls)
