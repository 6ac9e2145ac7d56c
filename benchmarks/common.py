"""What every benchmark shares: a Home Assistant to run in, timing, the table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
import tempfile
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

    @property
    def ratio(self) -> float:
        """Return measured divided by baseline."""
        return self.measured / self.baseline

    @property
    def within(self) -> bool:
        """Return whether the budget holds."""
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
            f"{row.limit:g}",
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


async def add_entry(
    hass: HomeAssistant, url: str, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Add and set up an entry for a Printernizer at url."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Printernizer",
        unique_id=url,
        data={CONF_URL: url, CONF_BASELINE_ID: url},
        options=options or {},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
