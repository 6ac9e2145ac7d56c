"""What every part of the store shares: transactions, meta values and days."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
import json
import sqlite3
from typing import Any, Final

_EPOCH: Final = date(1970, 1, 1)

UPSERT_META: Final = """
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""


def day_number(day: date) -> int:
    """Return the stored form of a UTC day."""
    return (day - _EPOCH).days


def day_from_number(number: int) -> date:
    """Return the UTC day a stored day number stands for."""
    return _EPOCH + timedelta(days=number)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """Run the block in one transaction: all of it is kept, or none."""
    if db.in_transaction:
        # Part of a larger transaction, which commits or rolls back all.
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def meta_text(db: sqlite3.Connection, key: str) -> str | None:
    """Return a meta value as stored, if there is one."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def meta_time(db: sqlite3.Connection, key: str) -> datetime | None:
    """Return a meta value that holds a time."""
    value = meta_text(db, key)
    return None if value is None else datetime.fromisoformat(value)


def meta_json(db: sqlite3.Connection, key: str) -> Any:
    """Return a meta value that holds JSON."""
    value = meta_text(db, key)
    return None if value is None else json.loads(value)


def checkpoint(db: sqlite3.Connection) -> None:
    """Move everything from the write-ahead log into the main file."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
