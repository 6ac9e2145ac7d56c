"""A host clock that jumps, back or forward, neither resends nor sends early."""

from __future__ import annotations

from datetime import timedelta
import itertools

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .simulator.collection import CollectionSimulator
from .test_sharing import (
    FIRST_WEEK,
    OFFSET,
    WEEK,
    export,
    periods,
    send_first_week,
    sensor,
    start,
    travel,
)

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


async def test_a_clock_set_back_a_day_sends_no_week_twice_or_early(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After the jump back, the sent week stays sent and the next waits its turn."""
    sent_at = await send_first_week(hass, sharing_entry, freezer)
    assert periods(collection) == ["2026-11-30T00:00:00Z"]

    # Back a day, then forward again hour by hour across the next week's end.
    now = sent_at - DAY
    await travel(hass, freezer, now)
    next_week_sent = FIRST_WEEK + 2 * WEEK + OFFSET
    while now < next_week_sent + DAY:
        now += HOUR
        await sharing_entry.runtime_data.coordinator.async_refresh()
        await travel(hass, freezer, now)
        if now < next_week_sent:
            assert periods(collection) == ["2026-11-30T00:00:00Z"], now
    assert periods(collection) == ["2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"]
    closing = [
        s.received_at - FIRST_WEEK - WEEK * (index + 1)
        for index, s in enumerate(collection.submissions)
    ]
    assert all(after_close >= timedelta(0) for after_close in closing)


async def test_a_clock_jumping_forward_is_like_time_spent_offline(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Fourteen weeks in one jump: the two oldest are past expiry, the rest go hourly.

    What reaches the server is what fourteen weeks without one would leave
    (tests/test_sharing.py::test_twelve_weeks_offline_then_one_week_per_hour):
    the twelve newest weeks, in order, an hour apart. Weeks already past expiry
    when the clock lands are never built, just as when Home Assistant was off.
    """
    await start(hass, sharing_entry)
    now = FIRST_WEEK + 14 * WEEK + OFFSET + timedelta(minutes=1)
    await travel(hass, freezer, now)
    for _ in range(48):
        now += HOUR
        await travel(hass, freezer, now)
    expected = [
        (FIRST_WEEK + week * WEEK).strftime("%Y-%m-%dT%H:%M:%SZ")
        for week in range(2, 14)
    ]
    assert periods(collection) == expected
    data = await export(hass, sharing_entry)
    sent = [row for row in data["weekly_submissions"] if row["status"] == "sent"]
    assert len(sent) == 12
    assert {row["status"] for row in data["weekly_submissions"]} <= {"sent", "expired"}
    arrivals = [s.received_at for s in collection.submissions]
    assert all(
        later - earlier >= HOUR for earlier, later in itertools.pairwise(arrivals)
    )
    assert sensor(hass, "pending_submissions") == "0"
