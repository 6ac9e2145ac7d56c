"""The time source: a callable returning the current time, aware and in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the real current time in UTC."""
    return datetime.now(UTC)


def read_clock(clock: Clock) -> datetime:
    """Return the clock's time in UTC; refuse a naive one rather than guess its zone."""
    now = clock()
    if now.tzinfo is None or now.utcoffset() is None:
        msg = "the clock must return a timezone-aware datetime"
        raise ValueError(msg)
    return now.astimezone(UTC)
