"""Retention: weeks go 730 days after they end, by the purge task or command."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
import struct

import pytest

from printernizer_usage_server.cli import main
from tests.conftest import LogCapture, RunningServer, ServerFactory
from tests.payloads import OTHER_ID, SAMPLE_ID, week

OLD_WEEK = date(2024, 11, 11)  # ends 2024-11-18
YOUNG_WEEK = date(2024, 11, 18)  # ends 2024-11-25
OLD_END = datetime(2024, 11, 18, tzinfo=UTC)


async def _two_weeks(server: RunningServer) -> None:
    for start, installation_id in ((OLD_WEEK, SAMPLE_ID), (YOUNG_WEEK, OTHER_ID)):
        response = await server.client.post(
            "/submit", json=week(start, installation_id=installation_id)
        )
        assert response.status_code == 200


def _kept(server: RunningServer) -> list[tuple[str]]:
    return [
        (row[0],)
        for row in server.query("SELECT period_start FROM submission ORDER BY 1")
    ]


async def test_periodic_purge_drops_weeks_past_the_retention(
    server: RunningServer,
) -> None:
    """730 days after its end a week goes; a younger one stays."""
    await _two_weeks(server)
    server.clock.now = OLD_END + timedelta(days=730)

    purged = await server.runtime.purger.run_once()

    assert purged == 1
    assert _kept(server) == [("2024-11-18",)]
    assert SAMPLE_ID.encode() not in server.database_bytes()


async def test_a_week_stays_until_its_retention_is_over(server: RunningServer) -> None:
    """One second short of 730 days, nothing goes."""
    await _two_weeks(server)
    server.clock.now = OLD_END + timedelta(days=730) - timedelta(seconds=1)

    assert await server.runtime.purger.run_once() == 0
    assert len(_kept(server)) == 2


async def test_retention_days_is_configurable(servers: ServerFactory) -> None:
    """A shorter retention drops sooner."""
    server = await servers.start(retention_days=10)
    server.clock.now = datetime(2024, 11, 25, 9, 30, tzinfo=UTC)
    await _two_weeks(server)
    server.clock.now = OLD_END + timedelta(days=10)

    assert await server.runtime.purger.run_once() == 1


async def test_start_up_purges_before_serving(servers: ServerFactory) -> None:
    """A server that was down past a week's retention drops it as it starts."""
    first = await servers.start()
    await _two_weeks(first)
    await servers.stop()
    servers.clock.now = OLD_END + timedelta(days=731)

    second = await servers.start()

    assert _kept(second) == [("2024-11-18",)]


async def test_the_purge_repeats_every_interval(servers: ServerFactory) -> None:
    """The background task purges again each interval, on the app's clock."""
    server = await servers.start(purge_interval_seconds=0.01)
    await _two_weeks(server)
    server.clock.now = OLD_END + timedelta(days=730)

    # Counting runs, not time: two more after the clock moved.
    await server.runtime.purger.wait_for_attempts(server.runtime.purger.attempts + 2)

    assert _kept(server) == [("2024-11-18",)]


async def test_a_failed_purge_does_not_end_the_task(
    servers: ServerFactory, server_logs: LogCapture
) -> None:
    """A database error is logged, and the next interval tries again."""
    server = await servers.start(purge_interval_seconds=0.01)
    server.database.execute("DROP TABLE submission")

    await server.runtime.purger.wait_for_attempts(server.runtime.purger.attempts + 2)

    assert "purge failed; trying again next interval" in server_logs.text()


async def test_acceptance_times_do_not_outlive_the_hour(server: RunningServer) -> None:
    """The only arrival time kept goes with the purge after an hour."""
    server.clock.now = datetime(2024, 11, 25, 7, 13, 52, tzinfo=UTC)
    stored_time = _as_stored(server, server.clock.now)
    await _two_weeks(server)
    assert stored_time in server.database_bytes()
    server.clock.advance(hours=1)

    await server.runtime.purger.run_once()

    assert server.query("SELECT count(*) FROM recent_acceptance") == [(0,)]
    assert stored_time not in server.database_bytes()


def _as_stored(server: RunningServer, moment: datetime) -> bytes:
    """Return the bytes that hold `moment` in the engine's files."""
    if server.database.engine == "sqlite":
        return moment.strftime("%H:%M:%S").encode()
    # PostgreSQL: microseconds since 2000-01-01 UTC, a little-endian int64 here.
    since = moment - datetime(2000, 1, 1, tzinfo=UTC)
    return struct.pack("<q", since // timedelta(microseconds=1))


async def test_purge_command_uses_the_real_clock(
    server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`printernizer-usage-server purge` prints how many weeks went."""
    await _two_weeks(server)  # both ended in 2024: past any 1-day retention now
    monkeypatch.setenv("PNZ_USAGE_DATABASE_URL", server.settings.database_url)
    monkeypatch.setenv("PNZ_USAGE_RETENTION_DAYS", "1")

    # The command runs its own event loop, as from a shell.
    assert await asyncio.to_thread(main, ["purge"]) == 0

    assert capsys.readouterr().out == "2\n"
    assert _kept(server) == []
    # As the service's own run does, it leaves no bytes of what went.
    assert SAMPLE_ID.encode() not in server.database_bytes()
