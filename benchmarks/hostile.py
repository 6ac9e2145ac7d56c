"""A hostile Printernizer costs a poll bounded work, and never a stalled loop.

The hostile one answers every jobs page with 100 items never seen before,
padded to just under the 2 MiB an answer may have, and always one more page;
the baseline is the demo fleet. Remembering item keys is timed on its own:
80,000 new keys against 20,000, each into a full remembered set.
"""

from __future__ import annotations

from collections import OrderedDict
import time

from homeassistant.core import HomeAssistant

from custom_components.printernizer_usage.api import MAX_BODY_BYTES
from custom_components.printernizer_usage.collector import remember
from custom_components.printernizer_usage.const import MAX_REMEMBERED_ITEMS
from tests.simulator.printernizer import serving_demo_fleet

from .common import Row, add_entry, longest_stall, median

STALL_LIMIT_MS = 20.0
REMEMBER_LIMIT = 1.5  # only the newest keys that fit can be kept: no growth
PADDING = MAX_BODY_BYTES - 16 * 1024
REPEATS = 5


async def _refresh_stall(hass: HomeAssistant, *, hostile: bool) -> float:
    with serving_demo_fleet() as printernizer:
        entry = await add_entry(hass, printernizer.url)
        if hostile:
            printernizer.fail("endless", "/api/v1/jobs", times=10**6, body=PADDING)
        stall = await longest_stall(entry.runtime_data.coordinator.async_refresh)
        await hass.config_entries.async_unload(entry.entry_id)
    return stall


def _remember_seconds(new_keys: int) -> float:
    """Return the median time to remember new_keys keys into a full set."""
    times = []
    for _ in range(REPEATS):
        seen = OrderedDict.fromkeys(
            n.to_bytes(8, "big") for n in range(MAX_REMEMBERED_ITEMS)
        )
        keys = tuple((n + 10**9).to_bytes(8, "big") for n in range(new_keys))
        started = time.perf_counter()
        remember(seen, keys)
        times.append(time.perf_counter() - started)
    return median(times)


async def run(hass: HomeAssistant) -> list[Row]:
    """Measure the refresh stalls and the cost of remembering."""
    hostile = await _refresh_stall(hass, hostile=True)
    demo = await _refresh_stall(hass, hostile=False)
    return [
        Row(
            "loop stall: refresh against endless 2 MiB pages (vs the demo fleet)",
            hostile * 1000,
            demo * 1000,
            STALL_LIMIT_MS,
            "ms",
            absolute=True,
        ),
        Row(
            "remembering 80,000 new keys (vs 20,000), into 5,000 kept",
            _remember_seconds(80_000) * 1000,
            _remember_seconds(20_000) * 1000,
            REMEMBER_LIMIT,
            "ms",
        ),
    ]
