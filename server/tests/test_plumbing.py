"""The small pieces: the clock check, engines for other databases, the key check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from printernizer_usage_server.auth import KeyCheck, check_api_key
from printernizer_usage_server.clock import read_clock, utc_now
from printernizer_usage_server.database import (
    create_engine,
    is_temporarily_unavailable,
)


def test_the_real_clock_is_aware_utc() -> None:
    """utc_now is what production runs with."""
    now = read_clock(utc_now)

    assert now.tzinfo is UTC


def test_another_zone_is_converted_to_utc() -> None:
    """An aware time in any zone is the same moment in UTC."""
    berlin = timezone(timedelta(hours=1))

    now = read_clock(lambda: datetime(2024, 11, 21, 10, 0, tzinfo=berlin))

    assert now == datetime(2024, 11, 21, 9, 0, tzinfo=UTC)
    assert now.tzinfo is UTC


def test_a_naive_clock_is_refused() -> None:
    """A time without a zone would be guessed at; it is refused instead."""
    with pytest.raises(ValueError, match="timezone-aware"):
        read_clock(lambda: datetime(2024, 11, 21, 10, 0))  # noqa: DTZ001


async def test_postgresql_urls_get_an_engine_without_sqlite_pragmas() -> None:
    """The SQLite connection settings are for SQLite only (nothing connects here)."""
    engine = create_engine("postgresql+asyncpg://usage@127.0.0.1:1/usage")
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.sync_engine.hide_parameters
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("configured", "given", "outcome"),
    [
        (frozenset(), None, KeyCheck.ALLOWED),
        (frozenset(), "anything", KeyCheck.ALLOWED),
        (frozenset({"k"}), None, KeyCheck.MISSING),
        (frozenset({"k"}), "", KeyCheck.MISSING),
        (frozenset({"k"}), "K", KeyCheck.INVALID),
        (frozenset({"k", "l"}), "l", KeyCheck.ALLOWED),
        (frozenset({"kéy"}), "kéy".encode().decode("latin-1"), KeyCheck.ALLOWED),
    ],
)
def test_key_check(
    configured: frozenset[str], given: str | None, outcome: KeyCheck
) -> None:
    """Keys compare as the bytes sent; a UTF-8 key works from the environment."""
    assert check_api_key(configured, given) is outcome


def test_what_counts_as_a_database_briefly_unavailable() -> None:
    """No free pooled connection is worth a retry; a plain error is not."""
    assert is_temporarily_unavailable(PoolTimeoutError("every connection busy"))
    assert not is_temporarily_unavailable(ValueError("a bug"))
