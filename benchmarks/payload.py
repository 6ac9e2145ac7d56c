"""A payload is small, and building one costs the same over any history.

The size is compared with the policy's own sample (824 bytes of compact JSON)
for the same content. Building last week's payload from a file with two years
of statistics is compared with building it from a file holding one week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
import tempfile
import time

from custom_components.printernizer_usage.payload import (
    build_payload,
    serialise,
    week_start,
)
from custom_components.printernizer_usage.store import LocalStatisticsStore
from custom_components.printernizer_usage.week_payload import build_week_payload
from tests.test_payload import POLICY_SAMPLE_BYTES, SAMPLE

from .common import Row, median
from .history import END, write_history

BUILDS = 200
LIMIT = 2.0


def build_times(path: Path, week: datetime, builds: int) -> list[float]:
    """Time building one week's payload from the file at path, many times."""
    store, _ = LocalStatisticsStore.open(path, week)
    times = []
    try:
        for _ in range(builds):
            started = time.perf_counter()
            build_week_payload(store, week.date(), 1, "Europe/Berlin", week.date())
            times.append(time.perf_counter() - started)
    finally:
        store.close()
    return times


def run() -> list[Row]:
    """Measure the sample's size and the cost of building over both histories."""
    size = len(serialise(build_payload(SAMPLE, consented_policy=1)))
    end = END
    last_week = datetime.combine(
        week_start(end.date()) - timedelta(days=7), datetime.min.time(), UTC
    )
    with tempfile.TemporaryDirectory() as folder:
        long_file = Path(folder, "two-years.db")
        short_file = Path(folder, "one-week.db")
        write_history(long_file, end, 730)
        write_history(short_file, end, 7)
        times: dict[Path, list[float]] = {long_file: [], short_file: []}
        for _ in range(BUILDS // 20):  # alternate in batches on the same machine load
            for path in (long_file, short_file):
                times[path].extend(build_times(path, last_week, 20))
    return [
        Row(
            "payload of the policy sample's content", size, POLICY_SAMPLE_BYTES, 1, "B"
        ),
        Row(
            "build a payload, 2 years vs 1 week",
            median(times[long_file]) * 1000,
            median(times[short_file]) * 1000,
            LIMIT,
            "ms",
        ),
    ]
