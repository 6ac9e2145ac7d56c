"""Repeats answer the original id; new weeks come at most once an hour."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import RunningServer
from tests.payloads import OTHER_ID, week

FIRST_WEEK = date(2024, 11, 11)
SECOND_WEEK = date(2024, 11, 18)
IDEMPOTENCY_KEY = {"Idempotency-Key": "a" * 64}


async def _accepted_id(server: RunningServer, start: date, **headers: str) -> int:
    response = await server.client.post("/submit", json=week(start), headers=headers)
    assert response.status_code == 200, response.text
    submission_id: int = response.json()["submission_id"]
    return submission_id


@pytest.mark.parametrize(
    "headers", [{}, IDEMPOTENCY_KEY], ids=["plain", "idempotency-key"]
)
async def test_repeat_answers_the_original_id(
    server: RunningServer, headers: dict[str, str]
) -> None:
    """A resend after a lost answer succeeds and stores nothing new."""
    original = await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=1)

    response = await server.client.post(
        "/submit", json=week(FIRST_WEEK), headers=headers
    )

    assert response.status_code == 200
    assert response.json()["status"] == "success"
    assert response.json()["submission_id"] == original
    assert server.query("SELECT count(*) FROM submission") == [(1,)]


async def test_repeat_is_answered_even_with_changed_counts(
    server: RunningServer,
) -> None:
    """The week is the key: a resend keeps the first answer's row as it was."""
    original = await _accepted_id(server, FIRST_WEEK)
    changed = week(FIRST_WEEK)
    changed["usage_stats"]["job_count"] = 99

    response = await server.client.post("/submit", json=changed)

    assert response.json()["submission_id"] == original
    assert server.query("SELECT job_count FROM submission") == [(23,)]


async def test_new_week_within_the_hour_is_refused_with_retry_after(
    server: RunningServer,
) -> None:
    """429 with the upstream detail, plus the seconds to wait."""
    await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=10)

    response = await server.client.post("/submit", json=week(SECOND_WEEK))

    assert response.status_code == 429
    assert response.json()["detail"].startswith("Rate limit exceeded. ")
    # 59 minutes (the hour less the skew tolerance) minus the 10 gone by.
    assert response.headers["Retry-After"] == str(49 * 60)
    assert server.query("SELECT count(*) FROM submission") == [(1,)]


async def test_repeat_within_the_hour_is_answered_before_the_limit(
    server: RunningServer,
) -> None:
    """Refused for a new week, the installation still gets its repeat answered."""
    original = await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=5)
    refused = await server.client.post("/submit", json=week(SECOND_WEEK))
    repeat = await server.client.post("/submit", json=week(FIRST_WEEK))

    assert refused.status_code == 429
    assert repeat.status_code == 200
    assert repeat.json()["submission_id"] == original


async def test_fifty_eight_minutes_is_too_soon(server: RunningServer) -> None:
    """Outside the 60 s tolerance: still refused, with two minutes to go."""
    await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=58)

    response = await server.client.post("/submit", json=week(SECOND_WEEK))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"


async def test_fifty_nine_minutes_is_within_the_tolerance(
    server: RunningServer,
) -> None:
    """A client a minute early is not abusing the limit."""
    first = await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=59)

    second = await _accepted_id(server, SECOND_WEEK)

    assert second != first
    assert server.query("SELECT count(*) FROM submission") == [(2,)]


async def test_retry_after_rounds_up(server: RunningServer) -> None:
    """Half a second to go is a whole second to wait."""
    await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=58, seconds=59, milliseconds=500)

    response = await server.client.post("/submit", json=week(SECOND_WEEK))

    assert response.headers["Retry-After"] == "1"


async def test_the_limit_counts_from_the_last_acceptance(server: RunningServer) -> None:
    """Refusals do not move the limit; the next acceptance does."""
    await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(minutes=30)
    assert (
        await server.client.post("/submit", json=week(SECOND_WEEK))
    ).status_code == 429
    server.clock.advance(minutes=29)
    await _accepted_id(server, SECOND_WEEK)
    server.clock.advance(minutes=30)

    response = await server.client.post("/submit", json=week(date(2024, 11, 25)))

    assert response.status_code == 429


async def test_installations_are_limited_separately(server: RunningServer) -> None:
    """Another installation's week is not held back by this one's."""
    await _accepted_id(server, FIRST_WEEK)

    response = await server.client.post(
        "/submit", json=week(FIRST_WEEK, installation_id=OTHER_ID)
    )

    assert response.status_code == 200


async def test_stale_acceptance_times_go_when_read(server: RunningServer) -> None:
    """Acceptance times older than an hour are dropped by the next submission."""
    await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(hours=1, seconds=1)

    response = await server.client.post(
        "/submit", json=week(FIRST_WEEK, installation_id=OTHER_ID)
    )

    assert response.status_code == 200
    assert server.query("SELECT installation_id FROM recent_acceptance") == [
        (OTHER_ID,)
    ]


async def test_a_clock_gone_back_waits_at_most_the_window(
    server: RunningServer,
) -> None:
    """An acceptance time in the future limits as if it were now, not longer."""
    await _accepted_id(server, FIRST_WEEK)
    server.clock.advance(hours=-5)

    response = await server.client.post("/submit", json=week(SECOND_WEEK))

    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(59 * 60)
