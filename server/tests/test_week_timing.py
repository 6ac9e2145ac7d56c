"""Weeks still to come, or already past the retention, are refused, not stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import RunningServer, ServerFactory
from tests.payloads import week

# The clock stands at Monday 2024-12-02 09:30 UTC.
ENDED_THIS_MORNING = date(2024, 11, 25)


async def _refusal(server: RunningServer, start: date) -> list[dict[str, object]]:
    response = await server.client.post("/submit", json=week(start))
    assert response.status_code == 422, response.text
    assert server.query("SELECT count(*) FROM submission") == [(0,)]
    detail: list[dict[str, object]] = response.json()["detail"]
    return detail


@pytest.mark.parametrize(
    "start",
    [
        date(2024, 12, 2),  # the week that began this morning
        date(2024, 12, 9),
        date(2999, 12, 2),  # would outlive any retention by centuries
    ],
)
async def test_a_week_that_has_not_ended_is_refused(
    server: RunningServer, start: date
) -> None:
    """Kept from a future end, it would stay longer than the retention promises."""
    detail = await _refusal(server, start)

    assert detail == [
        {
            "type": "value_error",
            "loc": ["body", "period", "end"],
            "msg": "Value error, period.end must not be in the future",
            "input": f"{(start + timedelta(days=7)).isoformat()}T00:00:00Z",
        }
    ]


async def test_a_week_that_just_ended_is_stored(server: RunningServer) -> None:
    """The week that ended at midnight is what an up-to-date client sends now."""
    response = await server.client.post("/submit", json=week(ENDED_THIS_MORNING))

    assert response.status_code == 200


async def test_a_clock_a_day_fast_may_send_a_little_early(
    server: RunningServer,
) -> None:
    """Up to a day before its end (a client's time zone taken for UTC) is accepted."""
    server.clock.now = datetime(2024, 11, 24, 0, 0, tzinfo=UTC)

    response = await server.client.post("/submit", json=week(date(2024, 11, 18)))

    assert response.status_code == 200


async def test_a_week_past_the_retention_is_refused(servers: ServerFactory) -> None:
    """What the purge would drop at once is not stored in the first place."""
    server = await servers.start(retention_days=14)

    # Ended 2024-11-18, 14 days before now: the purge's cut-off.
    detail = await _refusal(server, date(2024, 11, 11))
    kept = await server.client.post("/submit", json=week(date(2024, 11, 18)))

    assert detail == [
        {
            "type": "value_error",
            "loc": ["body", "period", "end"],
            "msg": "Value error, period.end is older than the retention period",
            "input": "2024-11-18T00:00:00Z",
        }
    ]
    assert kept.status_code == 200
