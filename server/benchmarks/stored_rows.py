"""What a deletion and a purge cost with many weeks stored.

Weeks are bulk-loaded straight into a migrated database (a million would
take hours through HTTP at one per installation and hour), then the
server's own storage functions delete and purge, as its routes and periodic
task call them. Each store holds the same shape at any size: installations
with WEEKS_EACH recent weeks, plus EXPIRED_BATCHES batches of EXPIRED_ROWS
weeks past the retention, one batch per purge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
import json
from pathlib import Path
import random
import sqlite3
import statistics
from time import perf_counter
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine

from printernizer_usage_server import storage
from printernizer_usage_server.compaction import (
    REWRITTEN_AFTER_DELETIONS,
    rewrite_tables,
)
from printernizer_usage_server.database import session_factory
from printernizer_usage_server.models import Submission, new_submission_id
from printernizer_usage_server.settings import DEFAULT_RETENTION_DAYS
from printernizer_usage_server.stored_fields import stored_fields
from tests.payloads import sample

WEEKS_EACH: Final = 10
EXPIRED_ROWS: Final = 100
EXPIRED_BATCHES: Final = 5
DELETIONS: Final = 50
COLUMNS: Final = [column.name for column in Submission.__table__.columns]
# Fixed, so that a run is repeatable and both engines get the same rows.
SEED: Final = 20261204


@dataclass(frozen=True)
class Costs:
    """Median seconds of one deletion and of one purge, and one compaction."""

    deletion: float
    purge: float
    compaction: float


def _installation_id(number: int) -> str:
    return f"{number:08x}-0000-4000-8000-{number:012x}"


def _first_expired_end(today: date) -> date:
    """Return the oldest batch's period_end, which only the first purge reaches."""
    return today - timedelta(days=DEFAULT_RETENTION_DAYS + 7 * EXPIRED_BATCHES)


def rows(count: int, today: date) -> Iterator[tuple[Any, ...]]:
    """Yield `count` recent weeks and the expired batches, in COLUMNS order.

    Each is the policy's sample payload as the server keeps it, moved to
    another installation and week.
    """
    kept = stored_fields(sample())
    maps = {
        name: json.dumps(value)
        for name, value in asdict(kept).items()
        if isinstance(value, dict)
    }
    template = {**asdict(kept), **maps}
    last_monday = today - timedelta(days=today.weekday() + 7)

    def week(number: int, start: date) -> tuple[Any, ...]:
        values = {
            **template,
            "id": new_submission_id(),
            "installation_id": _installation_id(number),
            "period_start": start,
            "period_end": start + timedelta(days=7),
        }
        return tuple(values[name] for name in COLUMNS)

    for number in range(count // WEEKS_EACH):
        for back in range(WEEKS_EACH):
            yield week(number, last_monday - timedelta(weeks=back))
    expired_number = count // WEEKS_EACH
    for batch in range(EXPIRED_BATCHES):
        end = _first_expired_end(today) + timedelta(weeks=batch)
        for _ in range(EXPIRED_ROWS):
            yield week(expired_number, end - timedelta(days=7))
            expired_number += 1


def load_sqlite(path: Path, count: int, today: date) -> None:
    """Insert the rows into a migrated SQLite file in one transaction."""
    connection = sqlite3.connect(path)
    try:
        placeholders = ", ".join("?" for _ in COLUMNS)
        with connection:
            connection.executemany(
                # Our own column names, no input.
                f"INSERT INTO submission ({', '.join(COLUMNS)}) "  # noqa: S608
                f"VALUES ({placeholders})",
                (
                    tuple(_as_sqlite_text(value) for value in row)
                    for row in rows(count, today)
                ),
            )
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _as_sqlite_text(value: Any) -> Any:
    # SQLAlchemy keeps a Date as ISO text in SQLite.
    return value.isoformat() if isinstance(value, date) else value


async def load_postgresql(connection: Any, count: int, today: date) -> None:
    """Copy the rows into a migrated PostgreSQL database with asyncpg's COPY."""
    await connection.copy_records_to_table(
        "submission", records=rows(count, today), columns=COLUMNS
    )
    await connection.execute("ANALYZE submission")


async def measure(engine: AsyncEngine, count: int, today: date) -> Costs:
    """Time deletions of stored installations, then purges, then a compaction."""
    sessions = session_factory(engine)
    picker = random.Random(SEED)  # noqa: S311 - a sample, not a secret
    chosen = picker.sample(range(count // WEEKS_EACH), DELETIONS)
    deletions = []
    for number in chosen:
        started = perf_counter()
        deleted = await storage.delete_installation(sessions, _installation_id(number))
        deletions.append(perf_counter() - started)
        assert deleted == WEEKS_EACH, deleted
    purges = []
    for batch in range(EXPIRED_BATCHES):
        end = _first_expired_end(today) + timedelta(weeks=batch)
        now = datetime.combine(
            end + timedelta(days=DEFAULT_RETENTION_DAYS), time(1), UTC
        )
        started = perf_counter()
        purged = await storage.purge(sessions, now, DEFAULT_RETENTION_DAYS)
        purges.append(perf_counter() - started)
        assert purged == EXPIRED_ROWS, purged
    started = perf_counter()
    await rewrite_tables(engine, REWRITTEN_AFTER_DELETIONS)
    compaction = perf_counter() - started
    return Costs(statistics.median(deletions), statistics.median(purges), compaction)
