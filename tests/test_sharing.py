"""Weekly sharing through Home Assistant: consent, the one timer, restarts, faults.

Time travels with the freezer; every request goes over real HTTP to the
collection-server simulator on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    DOMAIN,
)
from custom_components.printernizer_usage.sharing_settings import SharingSettings
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .conftest import ENTRY_ID, SEND_OFFSET as OFFSET
from .simulator import collection as collection_module
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .simulator.server import real_monotonic

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

# Consent given on Wednesday 2026-11-25: the first whole week it covers.
FIRST_WEEK = datetime(2026, 11, 30, tzinfo=UTC)
WEEK = timedelta(days=7)


async def travel(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime
) -> None:
    """Move the clock and let every timer that fell due run to its end."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done(wait_background_tasks=True)


async def start(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up the entry (again), as Home Assistant does on start."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload and set up the entry again: what a restart does to it."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await start(hass, entry)


async def send_first_week(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> datetime:
    """Set the entry up and travel to when its first covered week is sent."""
    await start(hass, entry)
    sent_at = FIRST_WEEK + WEEK + OFFSET
    await travel(hass, freezer, sent_at)
    return sent_at


async def queue_first_week(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Set the entry up and travel until its first covered week waits to be sent."""
    await start(hass, entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + timedelta(hours=1))


def sensor(hass: HomeAssistant, key: str) -> str:
    """Return a sensor's state."""
    state = hass.states.get(f"sensor.printernizer_usage_statistics_{key}")
    assert state is not None
    return state.state


def not_shown(hass: HomeAssistant, key: str) -> bool:
    """Tell whether a sensor is neither in the state machine nor registered."""
    entity_id = f"sensor.printernizer_usage_statistics_{key}"
    return (
        hass.states.get(entity_id) is None
        and entity_id not in er.async_get(hass).entities
    )


async def export(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Return what the store holds."""
    result: dict[str, Any] = await entry.runtime_data.store.async_call(
        LocalStatisticsStore.export
    )
    return result


def periods(collection: CollectionSimulator) -> list[str]:
    """Return the weeks the server holds, in the order they arrived."""
    return [s.payload["period"]["start"] for s in collection.submissions]


async def set_options(
    hass: HomeAssistant, entry: MockConfigEntry, **changes: Any
) -> None:
    """Change the entry's options as the options flow does."""
    hass.config_entries.async_update_entry(entry, options={**entry.options, **changes})
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_each_covered_week_goes_once_in_order_at_its_offset(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    printernizer: PrinternizerSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Weeks are built when they close, sent at the offset, never twice."""
    await start(hass, sharing_entry)
    assert sensor(hass, "sharing") == "active"
    first_send = FIRST_WEEK + WEEK + OFFSET
    assert sensor(hass, "next_submission") == first_send.isoformat()

    await travel(hass, freezer, FIRST_WEEK + timedelta(hours=1))
    printernizer.add_job()
    await sharing_entry.runtime_data.coordinator.async_refresh()
    await travel(hass, freezer, FIRST_WEEK + WEEK + timedelta(seconds=5))
    assert sensor(hass, "pending_submissions") == "1"
    assert collection.submissions == []  # built, but not before its offset

    await travel(hass, freezer, first_send - timedelta(minutes=1))
    assert collection.submissions == []
    await travel(hass, freezer, first_send)
    assert periods(collection) == ["2026-11-30T00:00:00Z"]
    assert collection.submissions[0].payload["usage_stats"]["job_count"] == 1
    assert sensor(hass, "pending_submissions") == "0"
    assert sensor(hass, "last_submission") == "2026-12-07T07:00:00+00:00"

    for week in range(1, 4):
        await restart(hass, sharing_entry)
        send_at = first_send + week * WEEK
        assert sensor(hass, "next_submission") == send_at.isoformat()
        await travel(hass, freezer, send_at)
    assert periods(collection) == [
        "2026-11-30T00:00:00Z",
        "2026-12-07T00:00:00Z",
        "2026-12-14T00:00:00Z",
        "2026-12-21T00:00:00Z",
    ]
    ids = {s.installation_id for s in collection.submissions}
    keys = {s.headers["Idempotency-Key"] for s in collection.submissions}
    assert len(ids) == 1
    assert len(keys) == 4
    # Nothing that was acknowledged is ever sent again, restarts included.
    await restart(hass, sharing_entry)
    await travel(hass, freezer, first_send + 3 * WEEK + timedelta(hours=5))
    assert len(collection.submissions) == 4


async def test_a_monday_afternoon_opt_in_starts_with_the_next_week(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Consent at Monday 15:00 does not cover that week; the following one it does."""
    assert sensor(hass, "sharing") == "off"
    assert not_shown(hass, "next_submission")
    await travel(hass, freezer, FIRST_WEEK + timedelta(hours=15))
    await set_options(
        hass,
        init_integration,
        **{
            CONF_SHARE_STATISTICS: True,
            CONF_CONSENTED_POLICY: 1,
            CONF_COLLECTION_URL: collection.url,
            CONF_COLLECTION_API_KEY: collection.api_key,
        },
    )
    assert sensor(hass, "sharing") == "active"
    expected = FIRST_WEEK + 2 * WEEK + OFFSET
    assert sensor(hass, "next_submission") == expected.isoformat()
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(hours=1))
    assert collection.submissions == []
    await travel(hass, freezer, expected)
    assert periods(collection) == ["2026-12-07T00:00:00Z"]


async def test_no_endpoint_means_nothing_is_queued(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Sharing without a collection server says so, and queues nothing."""
    options = {**sharing_entry.options}
    del options[CONF_COLLECTION_URL]
    sharing_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(sharing_entry, options=options)
    await start(hass, sharing_entry)
    assert sensor(hass, "sharing") == "no_endpoint"
    assert not_shown(hass, "next_submission")
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    assert sensor(hass, "pending_submissions") == "0"
    # Once a server is set, the covered weeks that closed meanwhile are sent.
    await set_options(hass, sharing_entry, **{CONF_COLLECTION_URL: collection.url})
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(seconds=5))
    assert periods(collection) == ["2026-11-30T00:00:00Z"]


async def test_the_submission_times_are_shown_only_while_there_is_one(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No "Unknown" where nothing was sent or nothing is planned, restarts included."""
    registry = er.async_get(hass)
    sharing_entry.add_to_hass(hass)
    stale = registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{sharing_entry.entry_id}_last_submission",
        config_entry=sharing_entry,
        suggested_object_id="printernizer_usage_statistics_last_submission",
    )
    await start(hass, sharing_entry)
    assert registry.async_get(stale.entity_id) is None  # left by an earlier run
    assert not_shown(hass, "last_submission")  # nothing was sent yet
    first_send = FIRST_WEEK + WEEK + OFFSET
    assert sensor(hass, "next_submission") == first_send.isoformat()

    await travel(hass, freezer, first_send)
    assert len(collection.submissions) == 1
    sent = sensor(hass, "last_submission")
    assert sent == "2026-12-07T07:00:00+00:00"  # the hour it was accepted

    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: False})
    assert not_shown(hass, "next_submission")  # nothing is planned
    assert sensor(hass, "last_submission") == sent
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: True})
    assert sensor(hass, "next_submission") != "unknown"  # back, without a restart
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: False})
    assert not_shown(hass, "next_submission")
    await restart(hass, sharing_entry)
    assert not_shown(hass, "next_submission")
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: True})
    assert sensor(hass, "next_submission") != "unknown"


async def test_opting_out_discards_the_pending_week_at_once(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A week waiting for its offset is never sent after an opt-out."""
    await queue_first_week(hass, sharing_entry, freezer)
    assert sensor(hass, "pending_submissions") == "1"
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: False})
    assert sensor(hass, "sharing") == "off"
    assert sensor(hass, "pending_submissions") == "0"
    assert not_shown(hass, "next_submission")
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK)
    assert collection.submissions == []
    data = await export(hass, sharing_entry)
    assert [row["status"] for row in data["weekly_submissions"]] == ["discarded"]
    assert [entry["share_statistics"] for entry in data["consent_history"]] == [
        True,
        False,
    ]
    # Opting in again covers whole weeks from then on, never the discarded one.
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + timedelta(hours=1))
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: True})
    await travel(hass, freezer, FIRST_WEEK + 5 * WEEK + OFFSET)
    assert periods(collection) == ["2026-12-28T00:00:00Z"]


async def test_twelve_weeks_offline_then_one_week_per_hour(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Weeks wait while the server is away, go one per hour, and expire at 12."""
    await start(hass, sharing_entry)
    collection.refuse_connections()
    now = FIRST_WEEK
    for _ in range(14):
        now += WEEK
        await travel(hass, freezer, now + OFFSET + timedelta(minutes=1))
    assert collection.submissions == []
    # The first two weeks ended more than twelve weeks ago: they expired.
    assert sensor(hass, "pending_submissions") == "12"
    collection.accept_connections()
    for _ in range(48):
        now += timedelta(hours=1)
        await travel(hass, freezer, now + OFFSET)
    data = await export(hass, sharing_entry)
    statuses = [row["status"] for row in data["weekly_submissions"]]
    assert statuses == ["expired"] * 2 + ["sent"] * 12
    assert periods(collection) == sorted(periods(collection))
    arrivals = [s.received_at for s in collection.submissions]
    assert all(
        later - earlier >= timedelta(hours=1)
        for earlier, later in itertools.pairwise(arrivals)
    )
    assert sensor(hass, "pending_submissions") == "0"


@dataclass(frozen=True)
class FaultCase:
    """What goes wrong, and what must be left behind."""

    fault: str
    status: str
    retry_in: timedelta | None = None
    issue: str | None = None
    placeholders: dict[str, str] = field(default_factory=dict)


HOUR = timedelta(hours=1)
FAULTS = [
    FaultCase("wrong_key", "rejected", None, "submission_rejected", {"status": "401"}),
    FaultCase("no_key", "rejected", None, "submission_rejected", {"status": "403"}),
    FaultCase(
        "invalid",
        "rejected",
        None,
        "submission_invalid",
        {"field": "usage_stats.job_count"},
    ),
    FaultCase("rate_limited", "pending", HOUR),
    FaultCase("html_500", "pending", HOUR),
    FaultCase("refused", "pending", HOUR),
    FaultCase("lost", "pending", HOUR),
    FaultCase("truncated", "sent"),
    FaultCase(
        "redirect_307", "rejected", None, "submission_redirected", {"status": "307"}
    ),
    FaultCase(
        "redirect_301", "rejected", None, "submission_redirected", {"status": "301"}
    ),
]


@pytest.mark.parametrize("case", FAULTS, ids=[case.fault for case in FAULTS])
async def test_fault_matrix(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    *,
    elsewhere: CollectionSimulator,
    case: FaultCase,
) -> None:
    """Each answer leaves the row, the retry time and the repairs as specified.

    Whatever the answer, nothing reaches the server a redirect points to.
    """
    fault = case.fault
    if fault == "wrong_key":
        sharing_entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            sharing_entry,
            options={**sharing_entry.options, CONF_COLLECTION_API_KEY: "wrong"},
        )
    elif fault == "no_key":
        sharing_entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(
            sharing_entry,
            options={**sharing_entry.options, CONF_COLLECTION_API_KEY: ""},
        )
    elif fault == "invalid":
        monkeypatch.setattr(
            collection_module,
            "validate_submission",
            lambda body: [
                {
                    "type": "int_type",
                    "loc": ["body", "usage_stats", "job_count"],
                    "msg": "Input should be a valid integer",
                    "input": 23.5,
                }
            ],
        )
    elif fault == "rate_limited":
        monkeypatch.setattr(collection_module, "SUBMISSIONS_PER_HOUR", 0)
    elif fault == "refused":
        collection.refuse_connections()
    elif fault in ("html_500", "lost", "truncated"):
        collection.fail(fault, "/submit")
    elif fault.startswith("redirect_"):
        collection.fail(fault, "/submit", body=elsewhere.url)
    send_at = await send_first_week(hass, sharing_entry, freezer)
    assert elsewhere.requests == []

    data = await export(hass, sharing_entry)
    row = data["weekly_submissions"][0]
    assert row["status"] == case.status
    assert row["attempts"] == 1
    if case.retry_in is not None:
        due = datetime.fromisoformat(row["due_at"])
        assert case.retry_in * 0.9 <= due - send_at <= case.retry_in * 1.1
        # Never sooner than an hour after the last request.
        planned = max(due, send_at + timedelta(hours=1)).replace(microsecond=0)
        assert sensor(hass, "next_submission") == planned.isoformat()
    registry = ir.async_get(hass)
    found = [i for i in registry.issues.values() if i.domain == DOMAIN]
    if case.issue is None:
        assert found == []
    else:
        assert [(i.issue_id, i.translation_key) for i in found] == [
            (f"{case.issue}_{ENTRY_ID}", case.issue)
        ]
        assert found[0].translation_placeholders == {
            "title": "Printernizer",
            **case.placeholders,
        }
    log = data["submission_log"]
    assert [entry["hour"] for entry in log] == ["2026-12-07T07:00:00+00:00"]
    assert "payload" not in log[0]  # the payload stays with its row
    # Home Assistant stays healthy: the entry is loaded and keeps polling.
    assert sharing_entry.state is ConfigEntryState.LOADED
    assert sensor(hass, "jobs_this_week") == "0"


async def test_a_lost_answer_is_retried_with_the_same_key(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The server kept the week but the answer was lost: the retry carries its key."""
    collection.fail("lost", "/submit")
    await send_first_week(hass, sharing_entry, freezer)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(hours=2))
    keys = [s.headers["Idempotency-Key"] for s in collection.submissions]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    data = await export(hass, sharing_entry)
    assert data["weekly_submissions"][0]["status"] == "sent"


async def test_remote_deletion_and_a_fresh_id(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A deletion request goes at once; the next whole week starts a new id."""
    first_send = await send_first_week(hass, sharing_entry, freezer)
    old_id = collection.submissions[0].installation_id
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    assert sensor(hass, "pending_deletion_requests") == "1"
    await travel(hass, freezer, first_send + timedelta(seconds=2))
    assert collection.deletions == [old_id]
    assert collection.submissions == []
    assert sensor(hass, "pending_deletion_requests") == "0"
    data = await export(hass, sharing_entry)
    assert data["weekly_submissions"] == []
    assert data["deletion_requests"] == []
    assert old_id not in str(data)
    await travel(hass, freezer, first_send + WEEK)
    assert collection.submissions == []  # the week under way began before the new id
    await travel(hass, freezer, first_send + 2 * WEEK)
    [fresh] = collection.submissions
    assert fresh.installation_id != old_id
    assert fresh.payload["period"]["start"] == "2026-12-14T00:00:00Z"
    assert fresh.payload["installation"]["first_seen"] == "2026-12-21T00:00:00Z"


async def test_a_refused_deletion_is_kept_until_the_key_is_fixed(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """401 keeps the request and raises a repair; a new key sends it at once."""
    first_send = await send_first_week(hass, sharing_entry, freezer)
    collection.api_key = "rotated-key"
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, first_send + timedelta(seconds=2))
    assert collection.deletions == []
    issue_id = f"deletion_refused_{ENTRY_ID}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    for minutes in (1, 5, 15, 60, 60):  # retried on the deletion schedule
        await travel(hass, freezer, dt_util.utcnow() + timedelta(minutes=minutes))
    assert sensor(hass, "pending_deletion_requests") == "1"
    requests = [r for r in collection.requests if r[0] == "DELETE"]
    assert len(requests) == 6
    await set_options(hass, sharing_entry, **{CONF_COLLECTION_API_KEY: "rotated-key"})
    await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=2))
    assert len(collection.deletions) == 1
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert sensor(hass, "pending_deletion_requests") == "0"


async def test_a_redirected_deletion_is_kept_and_never_followed(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    elsewhere: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A 3xx keeps the request and says why; the target never hears of it."""
    first_send = await send_first_week(hass, sharing_entry, freezer)
    collection.fail("redirect_308", "/installation/", times=2, body=elsewhere.url)
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, first_send + timedelta(seconds=2))
    issue_id = f"deletion_redirected_{ENTRY_ID}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"title": "Printernizer", "status": "308"}
    assert sensor(hass, "pending_deletion_requests") == "1"
    await travel(hass, freezer, dt_util.utcnow() + timedelta(minutes=1))
    assert sensor(hass, "pending_deletion_requests") == "1"  # the second 308
    await travel(hass, freezer, dt_util.utcnow() + timedelta(minutes=5))
    assert collection.submissions == []  # the server itself got the request
    assert sensor(hass, "pending_deletion_requests") == "0"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert elsewhere.requests == []


async def test_the_key_never_goes_to_another_endpoint(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A deletion for an old server is sent without the new server's key."""
    await send_first_week(hass, sharing_entry, freezer)
    other = CollectionSimulator(api_key="other-key")
    other.start()
    try:
        await set_options(
            hass,
            sharing_entry,
            **{CONF_COLLECTION_URL: other.url, CONF_COLLECTION_API_KEY: "other-key"},
        )
        await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
        await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=2))
    finally:
        other.stop()
    assert collection.deletions == []  # the old server wants its own key
    assert other.requests == []
    assert sensor(hass, "pending_deletion_requests") == "1"


# Only a hang can take this long: the condition waits on loopback and threads.
UNTIL_GUARD = 600.0


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop and the worker threads run until a condition holds."""
    pause = threading.Event()
    deadline = real_monotonic() + UNTIL_GUARD
    while not condition():
        if real_monotonic() > deadline:
            pytest.fail("condition not reached")
        await asyncio.sleep(0)
        pause.wait(0.001)  # real time, whatever the frozen clock says


@pytest.mark.parametrize("change", ["opt_out", "new_server"])
async def test_consent_is_checked_again_right_before_the_request(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    elsewhere: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    """A change made while a send was being prepared stops that very send.

    Nothing left the machine: after an opt-out the week is discarded; after a
    change of server it goes to the new one.
    """
    await queue_first_week(hass, sharing_entry, freezer)
    reached, release = threading.Event(), threading.Event()
    save = LocalStatisticsStore.save_sharing

    def held_save(
        store: LocalStatisticsStore, history: Any, outbox: Any, *a: Any
    ) -> None:
        if any(row.status == "in_flight" for row in outbox.weekly):
            reached.set()
            release.wait(5)
        save(store, history, outbox, *a)

    monkeypatch.setattr(LocalStatisticsStore, "save_sharing", held_save)
    freezer.move_to(FIRST_WEEK + WEEK + OFFSET)
    sending = hass.async_create_task(
        sharing_entry.runtime_data.sharing.async_send_due()
    )
    await until(reached.is_set)
    changed = (
        {CONF_SHARE_STATISTICS: False}
        if change == "opt_out"
        else {CONF_COLLECTION_URL: elsewhere.url, CONF_COLLECTION_API_KEY: ""}
    )
    changed_to = {**sharing_entry.options, **changed}
    hass.config_entries.async_update_entry(sharing_entry, options=changed_to)
    # Applied before anything awaits (the store is still busy with the save).
    sharing = sharing_entry.runtime_data.sharing
    await until(lambda: sharing._settings == SharingSettings.from_options(changed_to))
    release.set()
    await sending
    monkeypatch.setattr(LocalStatisticsStore, "save_sharing", save)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + 2 * HOUR)
    assert [r for r in collection.requests if r[0] == "POST"] == []
    data = await export(hass, sharing_entry)
    [row] = data["weekly_submissions"]
    if change == "opt_out":
        assert row["status"] == "discarded"
        assert elsewhere.requests == []
    else:
        assert row["status"] == "sent"
        assert periods(elsewhere) == [row["payload"]["period"]["start"]]


async def test_a_send_cut_off_by_unloading_is_resent_with_its_key(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unloading cancels a request in progress; the next start sends it again."""
    await queue_first_week(hass, sharing_entry, freezer)
    collection.fail("slow", "/submit", delay=2)
    send_at = FIRST_WEEK + WEEK + OFFSET
    freezer.move_to(send_at)
    async_fire_time_changed(hass, send_at)
    await until(lambda: ("POST", "/submit") in collection.requests)
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done()
    await start(hass, sharing_entry)
    assert sensor(hass, "pending_submissions") == "1"
    # Resent an hour after the cut-off request: one request per rolling hour.
    await travel(hass, freezer, send_at + timedelta(hours=1))
    # The cut-off request never finished; the resend carries the same key.
    assert [r for r in collection.requests if r[0] == "POST"] == [
        ("POST", "/submit")
    ] * 2
    assert periods(collection) == ["2026-11-30T00:00:00Z"]
    data = await export(hass, sharing_entry)
    assert [row["status"] for row in data["weekly_submissions"]] == ["sent"]


async def test_sharing_sensors_can_be_updated_on_request(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """Asking Home Assistant to update a sharing sensor recomputes its state."""
    assert await async_setup_component(hass, "homeassistant", {})
    await start(hass, sharing_entry)
    await hass.services.async_call(
        "homeassistant",
        "update_entity",
        {"entity_id": "sensor.printernizer_usage_statistics_next_submission"},
        blocking=True,
    )
    expected = FIRST_WEEK + WEEK + OFFSET
    assert sensor(hass, "next_submission") == expected.isoformat()


async def test_an_opt_out_right_after_an_opt_in_wins(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Saved back to back, the opt-in waits for the store while the opt-out lands.

    The opt-in must not be recorded after the opt-out it was overtaken by:
    the history ends not sharing, and no week is ever sent.
    """
    sharing_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        sharing_entry, options={**sharing_entry.options, CONF_SHARE_STATISTICS: False}
    )
    await start(hass, sharing_entry)
    for share in (True, False):
        hass.config_entries.async_update_entry(
            sharing_entry,
            options={**sharing_entry.options, CONF_SHARE_STATISTICS: share},
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert decisions == [] or not decisions[-1]["share_statistics"]
    assert sensor(hass, "sharing") == "off"
    await travel(hass, freezer, FIRST_WEEK + 2 * WEEK + OFFSET)
    assert collection.submissions == []


async def test_an_opt_in_finishing_in_an_unload_leaves_no_sensor_behind(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The time sensor of a change that ends as the entry unloads is not added."""
    sharing_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        sharing_entry, options={**sharing_entry.options, CONF_SHARE_STATISTICS: False}
    )
    await start(hass, sharing_entry)
    assert not_shown(hass, "next_submission")
    hass.config_entries.async_update_entry(
        sharing_entry, options={**sharing_entry.options, CONF_SHARE_STATISTICS: True}
    )
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get("sensor.printernizer_usage_statistics_next_submission")
    assert state is None or state.state == "unavailable"
    await start(hass, sharing_entry)
    assert sensor(hass, "next_submission") not in ("unknown", "unavailable")
    assert "already exists" not in caplog.text


async def test_last_submission_follows_a_confirmed_deletion(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The deleted id's weeks are forgotten: no time for them, restart or not."""
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    assert sensor(hass, "last_submission") != "unknown"
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(seconds=3))
    assert collection.deletions
    assert not_shown(hass, "last_submission")
    await restart(hass, sharing_entry)
    assert not_shown(hass, "last_submission")
