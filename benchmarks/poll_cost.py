"""A poll costs the same whatever the size of Printernizer's history.

Two Printernizers, one with a long history (100,000 jobs, 20,000 downloads,
5,000 uploads) and one with a short one (200 of each), each get one new job,
download and upload before every refresh. The refreshes alternate, so both
see the same machine load.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import time

from homeassistant.core import HomeAssistant

from tests.simulator.printernizer import PrinternizerSimulator, seed_demo_fleet

from .common import Row, add_entry, median

REFRESHES = 60
WARM_UP = 5
LIMIT = 1.2


def _printernizer(jobs: int, files: int, uploads: int) -> PrinternizerSimulator:
    simulator = PrinternizerSimulator()
    seed_demo_fleet(simulator)
    # The history is a month old; what the refreshes add is stamped today.
    now = datetime.now(UTC)
    simulator.set_clock(now - timedelta(days=30))
    simulator.add_history(jobs=jobs, files=files, uploads=uploads)
    simulator.set_clock(now)
    simulator.start()
    return simulator


async def run(hass: HomeAssistant) -> list[Row]:
    """Measure refreshes against both histories; their requests must be equal."""
    long_history = _printernizer(100_000, 20_000, 5_000)
    short_history = _printernizer(200, 200, 200)
    times: dict[str, list[float]] = {"long": [], "short": []}
    work: dict[str, set[tuple[tuple[str, ...], int]]] = {"long": set(), "short": set()}
    try:
        entries = {
            "long": (long_history, await add_entry(hass, long_history.url)),
            "short": (short_history, await add_entry(hass, short_history.url)),
        }
        for round_number in range(WARM_UP + REFRESHES):
            # Alternate which goes first, so neither always follows the other.
            order = ("long", "short") if round_number % 2 else ("short", "long")
            for name in order:
                simulator, entry = entries[name]
                simulator.add_job(status="completed")
                simulator.add_file()
                simulator.add_upload()
                requests_before = len(simulator.requests)
                items_before = simulator.items_served
                started = time.perf_counter()
                await entry.runtime_data.coordinator.async_refresh()
                elapsed = time.perf_counter() - started
                if round_number >= WARM_UP:
                    times[name].append(elapsed)
                    work[name].add(
                        (
                            tuple(simulator.requests[requests_before:]),
                            simulator.items_served - items_before,
                        )
                    )
        for _, entry in entries.values():
            await hass.config_entries.async_unload(entry.entry_id)
    finally:
        long_history.stop()
        short_history.stop()

    # Deterministic: the same requests and the same items parsed, every time.
    assert len(work["long"]) == 1, work["long"]
    assert work["long"] == work["short"], (work["long"], work["short"])
    ((requests, items),) = work["long"]
    print(f"poll cost: {len(requests)} requests and {items} items per refresh, both")
    return [
        Row(
            "refresh, 100k jobs vs 200 (median of 60)",
            median(times["long"]) * 1000,
            median(times["short"]) * 1000,
            LIMIT,
            "ms",
        )
    ]
