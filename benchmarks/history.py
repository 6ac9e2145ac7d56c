"""A statistics file with a long history, written the way polls write it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
import os
from pathlib import Path
import tempfile

from custom_components.printernizer_usage.collector import PollOutcome
from custom_components.printernizer_usage.const import (
    FeatureFlag,
    Listing,
    Metric,
    PrinterType,
)
from custom_components.printernizer_usage.store import LocalStatisticsStore

# A busy workshop: new items a day, per list.
DAILY = {Listing.JOBS: 50, Listing.DOWNLOADED_FILES: 30, Listing.UPLOADS: 10}
METRICS = {
    Listing.JOBS: Metric.JOBS,
    Listing.DOWNLOADED_FILES: Metric.FILES,
    Listing.UPLOADS: Metric.UPLOADS,
}
POLL_INTERVAL = timedelta(minutes=5)
POLLS_A_DAY = timedelta(days=1) // POLL_INTERVAL
# Every history of a run ends at the same hour, so each is recorded once.
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def write_history(path: Path, end: datetime, days: int) -> int:
    """Write a file with `days` of history ending at `end`; return how many events.

    Two years of polls take half a minute to record, so each history is
    recorded once per run and copied.
    """
    content, events = _recorded_history(end, days)
    path.write_bytes(content)
    return events


@cache
def _recorded_history(end: datetime, days: int) -> tuple[bytes, int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "history.db")
        events = _record_history(path, end, days)
        return path.read_bytes(), events


def _record_history(path: Path, end: datetime, days: int) -> int:
    """Record five-minute polls, each day's items spread evenly over its polls.

    Every poll reaches Printernizer and its items are new, exactly as the
    collector reports them.
    """
    start = end - timedelta(days=days)
    store, _ = LocalStatisticsStore.open(path, start)
    store.load_collector_state("benchmark")
    events = 0
    for poll in range(days * POLLS_A_DAY):
        now = start + poll * POLL_INTERVAL
        slot = poll % POLLS_A_DAY
        new_keys: dict[Listing, tuple[bytes, ...]] = {}
        increments: dict[tuple[str, str], int] = {}
        for listing, per_day in DAILY.items():
            count = per_day * (slot + 1) // POLLS_A_DAY - per_day * slot // POLLS_A_DAY
            if count:
                new_keys[listing] = tuple(os.urandom(8) for _ in range(count))
                increments[METRICS[listing], ""] = count
                events += count
        hour = now.replace(minute=0, second=0, microsecond=0)
        if now == hour:
            increments[Metric.UPTIME_HOURS, ""] = 1
        store.record_poll(
            PollOutcome(
                observed_at=now,
                increments=increments,
                errors=(),
                new_keys=new_keys,
                baselines=frozenset(),
                printers_in_error=frozenset(),
                uptime_hour=hour,
                fleet={PrinterType.BAMBU_LAB: 2, PrinterType.PRUSA: 1},
                flags=dict.fromkeys(FeatureFlag, True),
                app_version="2.7.0",
                runtime=None,
            )
        )
    store.checkpoint()
    store.close()
    return events
