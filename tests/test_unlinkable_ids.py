"""A regenerated id is drawn exactly as a fresh installation's first id.

Two runs with the same random seed: in one, an installation that has shared
for weeks regenerates its id; in the other, a fresh installation opts in at
that same moment. From then on, the same things happen in both. Whatever
the integration chooses for an id (the id, its send offset, its first day,
its first week, its Idempotency-Key) must make the two runs' requests equal:
otherwise a server could tell a regenerated id from a new installation, and
link it to the old id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import randomness

from .conftest import sharing_entry_for
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_actions import call
from .test_sharing import WEEK, sensor, start, travel

# The moment the new id begins: a regeneration in one run, consent in the other.
NEW_ID_AT = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
SEED = 20261202

type Request = tuple[dict[str, Any], dict[str, str], datetime]


async def _play_the_weeks_after(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """Play what follows NEW_ID_AT, the same in both runs: a job, two week ends."""
    await travel(hass, freezer, NEXT_MONDAY + timedelta(hours=1))
    printernizer.add_job()
    await entry.runtime_data.coordinator.async_refresh()
    for week_end in (NEXT_MONDAY + WEEK, NEXT_MONDAY + 2 * WEEK):
        await travel(hass, freezer, week_end + timedelta(seconds=5))
        await travel(
            hass, freezer, datetime.fromisoformat(sensor(hass, "next_submission"))
        )


def _requests(collection: CollectionSimulator, but: set[str]) -> list[Request]:
    """Return what the server received from ids but these: bodies, headers, times."""
    return [
        (submission.payload, submission.headers, submission.received_at)
        for submission in collection.submissions
        if submission.installation_id not in but
    ]


@pytest.mark.usefixtures("socket_enabled")
async def test_a_regenerated_id_sends_as_a_fresh_installation(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    printernizer: PrinternizerSimulator,
    collection: CollectionSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the same seed, a regenerated id's requests equal a first id's."""
    # Run 1: shares from two weeks earlier, sends a week, then regenerates.
    monkeypatch.setattr(randomness, "SOURCE", random.Random(1))
    freezer.move_to(NEW_ID_AT - 2 * WEEK)
    sharing = sharing_entry_for(printernizer, collection)
    await start(hass, sharing)
    await travel(hass, freezer, NEW_ID_AT - timedelta(hours=1))
    old_ids = {submission.installation_id for submission in collection.submissions}
    assert len(old_ids) == 1
    await travel(hass, freezer, NEW_ID_AT)
    monkeypatch.setattr(randomness, "SOURCE", random.Random(SEED))
    await call(hass, "regenerate_installation_id", sharing)
    await _play_the_weeks_after(hass, freezer, sharing, printernizer)
    regenerated = _requests(collection, old_ids)
    assert await hass.config_entries.async_remove(sharing.entry_id)
    await hass.async_block_till_done()

    # Run 2: the same moment, the same seed, a fresh installation opts in.
    collection.submissions.clear()
    collection.hourly_counts.clear()
    freezer.move_to(NEW_ID_AT)
    monkeypatch.setattr(randomness, "SOURCE", random.Random(SEED))
    fresh_entry = sharing_entry_for(printernizer, collection)
    await start(hass, fresh_entry)
    await _play_the_weeks_after(hass, freezer, fresh_entry, printernizer)
    fresh = _requests(collection, set())

    assert [payload["period"]["start"] for payload, _, _ in fresh] == [
        "2026-11-30T00:00:00Z",
        "2026-12-07T00:00:00Z",
    ]
    assert fresh[0][0]["installation"]["first_seen"] == "2026-12-07T00:00:00Z"
    assert regenerated == fresh
