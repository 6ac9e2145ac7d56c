"""The statistics file grows with days, not with printing.

Two years of a busy workshop (50 jobs, 30 downloads and 10 uploads a day)
are written through the store as five-minute polls would write them, and the
same activity into an event-per-row table shaped like Printernizer's own usage
table (a UUID key, the event type, a time stamp, JSON metadata, a submitted
flag and a creation time, indexed by type, time and flag).
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json
from pathlib import Path
import sqlite3
import tempfile
import uuid

from .common import Row
from .history import DAILY, END, write_history

DAYS = 730
MAX_BYTES = 256 * 1024
RATIO = 1 / 50


def write_events(path: Path, end: datetime, days: int) -> None:
    """Store the same activity with one row per event."""
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE TABLE usage_events (
            id TEXT PRIMARY KEY,
            event_type TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            metadata TEXT,
            submitted INTEGER DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX idx_usage_events_type ON usage_events(event_type);
        CREATE INDEX idx_usage_events_timestamp ON usage_events(timestamp);
        CREATE INDEX idx_usage_events_submitted ON usage_events(submitted);
        """
    )
    start = end - timedelta(days=days)
    with connection:
        for day in range(days):
            for listing, per_day in DAILY.items():
                for index in range(per_day):
                    at = (start + timedelta(days=day, seconds=index * 600)).isoformat()
                    connection.execute(
                        "INSERT INTO usage_events VALUES (?, ?, ?, ?, 0, ?)",
                        (
                            str(uuid.uuid4()),
                            listing.value,
                            at,
                            json.dumps({"printer_type": "bambu_lab"}),
                            at,
                        ),
                    )
    connection.execute("VACUUM")
    connection.close()


def run() -> list[Row]:
    """Write both stores for the same two years; compare their sizes."""
    end = END
    with tempfile.TemporaryDirectory() as folder:
        ours = Path(folder, "statistics.db")
        events = Path(folder, "events.db")
        written = write_history(ours, end, DAYS)
        write_events(events, end, DAYS)
        our_size = ours.stat().st_size
        event_size = events.stat().st_size
    print(
        f"storage: {written:,} events over {DAYS} days; statistics file "
        f"{our_size:,} bytes, event-per-row file {event_size:,} bytes"
    )
    return [
        Row("statistics file vs 256 KiB", our_size / 1024, MAX_BYTES / 1024, 1, "KiB"),
        Row(
            "statistics file vs event-per-row",
            our_size / 1024,
            event_size / 1024,
            RATIO,
            "KiB",
        ),
    ]
