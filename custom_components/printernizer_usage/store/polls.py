"""Polls: what the collector remembers, and recording what a poll found."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from datetime import date, datetime
import json
import sqlite3
from typing import Final

from ..collector import CollectorState, FailedPoll, PollOutcome
from ..const import ITEM_KEY_BYTES, MAX_REMEMBERED_ITEMS, Listing
from ..payload import week_start
from .database import (
    UPSERT_META,
    day_number,
    meta_json,
    meta_text,
    meta_time,
    transaction,
)
from .statistics import StatisticsView, statistics_view

_UPSERT_BUCKET: Final = """
    INSERT INTO day_bucket (day, metric, dimension, count) VALUES (?, ?, ?, ?)
    ON CONFLICT (day, metric, dimension) DO UPDATE SET count = count + excluded.count
"""
_UPSERT_FLAG: Final = """
    INSERT INTO feature_flag_week (week_start, flag, enabled) VALUES (?, ?, ?)
    ON CONFLICT (week_start, flag) DO UPDATE SET enabled = excluded.enabled
"""
_UPSERT_REMEMBERED: Final = """
    INSERT INTO remembered_items (listing, item_keys) VALUES (?, ?)
    ON CONFLICT (listing) DO UPDATE SET item_keys = excluded.item_keys
"""


def load_collector_state(db: sqlite3.Connection, baseline_id: str) -> CollectorState:
    """Return what the collector remembered, for the entry's baseline id."""
    salt_hex = meta_text(db, "salt")
    if salt_hex is None:  # pragma: no cover - initialise always writes it
        msg = "store has no salt"
        raise RuntimeError(msg)
    if meta_text(db, "baseline_id") != baseline_id:
        with transaction(db):
            db.execute("DELETE FROM meta WHERE key = 'baselines'")
            db.execute("DELETE FROM printer_in_error")
            db.execute(UPSERT_META, ("baseline_id", baseline_id))
    seen: dict[Listing, OrderedDict[bytes, None]] = {}
    for listing, blob in db.execute("SELECT listing, item_keys FROM remembered_items"):
        seen[Listing(listing)] = OrderedDict.fromkeys(
            blob[offset : offset + ITEM_KEY_BYTES]
            for offset in range(0, len(blob), ITEM_KEY_BYTES)
        )
    last_hour = meta_text(db, "last_uptime_hour")
    return CollectorState(
        salt=bytes.fromhex(salt_hex),
        seen=seen,
        baselines=set(meta_json(db, "baselines") or ()),
        printers_in_error=frozenset(
            row[0] for row in db.execute("SELECT printer_key FROM printer_in_error")
        ),
        last_uptime_hour=None
        if last_hour is None
        else datetime.fromisoformat(last_hour),
        last_read=_last_read_days(db),
    )


def _last_read_days(db: sqlite3.Connection) -> dict[Listing, date]:
    """Return the day each list was last read; a value not written here is dropped.

    Without it the next poll reads from the last poll's day instead: it
    can miss what that list's own day would have found, never count twice.
    """
    try:
        stored = meta_json(db, "last_read_days")
    except ValueError:
        stored = None
    days: dict[Listing, date] = {}
    for listing, day in (stored if isinstance(stored, dict) else {}).items():
        with suppress(TypeError, ValueError):
            days[Listing(listing)] = date.fromisoformat(day)
    return days


def record_poll(
    db: sqlite3.Connection, outcome: PollOutcome | FailedPoll
) -> StatisticsView:
    """Save a poll in one transaction; return the view of its week."""
    today = outcome.observed_at.date()
    with transaction(db):
        db.executemany(
            _UPSERT_BUCKET,
            [
                (day_number(today), metric, dimension, count)
                for (metric, dimension), count in outcome.increments.items()
            ],
        )
        if isinstance(outcome, PollOutcome):
            _save_observations(db, outcome)
        high_water = clock_high_water(db)
        if high_water is None or outcome.observed_at > high_water:
            db.execute(
                UPSERT_META, ("clock_high_water", outcome.observed_at.isoformat())
            )
    return statistics_view(db, today)


def _save_observations(db: sqlite3.Connection, outcome: PollOutcome) -> None:
    keep = MAX_REMEMBERED_ITEMS * ITEM_KEY_BYTES
    for listing, keys in outcome.new_keys.items():
        if not keys:
            continue
        row = db.execute(
            "SELECT item_keys FROM remembered_items WHERE listing = ?", (listing,)
        ).fetchone()
        blob = (b"" if row is None else row[0]) + b"".join(keys)
        db.execute(_UPSERT_REMEMBERED, (listing, blob[-keep:]))
    if outcome.printers_in_error is not None:
        db.execute("DELETE FROM printer_in_error")
        db.executemany(
            "INSERT INTO printer_in_error (printer_key) VALUES (?)",
            [(key,) for key in outcome.printers_in_error],
        )
    week = day_number(week_start(outcome.observed_at.date()))
    db.executemany(
        _UPSERT_FLAG,
        [(week, flag, int(enabled)) for flag, enabled in outcome.flags.items()],
    )
    baselines = set(meta_json(db, "baselines") or ()) | outcome.baselines
    # The day each list was last read: it decides how far the next poll
    # reads, also after a restart. Written once a day at most.
    last_read = _last_read_days(db)
    read_now = last_read | dict.fromkeys(outcome.new_keys, outcome.observed_at.date())
    if read_now != last_read:
        days = {listing: day.isoformat() for listing, day in read_now.items()}
        db.execute(UPSERT_META, ("last_read_days", json.dumps(days, sort_keys=True)))
    meta = {
        "baselines": json.dumps(sorted(baselines)),
        "last_uptime_hour": outcome.uptime_hour.isoformat(),
        "app_version": outcome.app_version,
    }
    if outcome.fleet is not None:
        meta["fleet"] = json.dumps(dict(sorted(outcome.fleet.items())))
    if (runtime := outcome.runtime) is not None:
        meta["runtime"] = json.dumps(
            {
                "python_version": runtime.python_version,
                "platform": runtime.platform,
                "deployment_mode": runtime.deployment_mode,
            }
        )
    db.executemany(UPSERT_META, meta.items())


def clock_high_water(db: sqlite3.Connection) -> datetime | None:
    """Return the latest time a poll was recorded at."""
    return meta_time(db, "clock_high_water")
