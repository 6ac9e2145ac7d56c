"""The store keeps consent, the outbox and the submission log across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
import sqlite3

import pytest

from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.const import Listing, Metric
from custom_components.printernizer_usage.outbox import (
    AttemptResult,
    DeletionRow,
    DeletionStatus,
    Outbox,
    WeeklyRow,
    WeeklyStatus,
)
from custom_components.printernizer_usage.payload import NOT_YET_KNOWN
from custom_components.printernizer_usage.randomness import MAX_SEND_OFFSET
from custom_components.printernizer_usage.store import (
    SCHEMA_VERSION,
    LocalStatisticsStore,
    LoggedAttempt,
)
from custom_components.printernizer_usage.week_payload import preview_week_payload

from .test_store import poll_outcome

NOW = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)  # a Wednesday
WEEK = date(2026, 11, 16)
ENDPOINT = "https://stats.example.org"
OTHER_ENDPOINT = "https://other.example.org"
OLD_ID = "5b9d1c84-2f3e-4a7b-9c6d-0e1f2a3b4c5d"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Return where the test's store lives."""
    return tmp_path / "entry.db"


@pytest.fixture
def store(path: Path) -> Iterator[LocalStatisticsStore]:
    """Return a freshly created store."""
    opened, _ = LocalStatisticsStore.open(path, NOW)
    yield opened
    opened.close()


def reopen(store: LocalStatisticsStore) -> LocalStatisticsStore:
    """Close a store and open its file again, as a restart does."""
    store.close()
    reopened, _ = LocalStatisticsStore.open(store.path, NOW)
    return reopened


def sent_week(installation_id: str, endpoints: tuple[str, ...]) -> WeeklyRow:
    """Return a week that was sent to some endpoints."""
    return WeeklyRow(
        period_start=WEEK,
        installation_id=installation_id,
        body=b'{"schema_version":"1.0"}',
        due_at=datetime(2026, 11, 23, 7, 30, tzinfo=UTC),
        status=WeeklyStatus.SENT,
        attempts=2,
        last_result=AttemptResult.ACCEPTED,
        endpoints=endpoints,
    )


def attempt(
    installation_id: str,
    result: AttemptResult,
    period_start: date | None = WEEK,
    endpoint: str = ENDPOINT,
) -> LoggedAttempt:
    """Return a logged request."""
    return LoggedAttempt(
        at=NOW,
        installation_id=installation_id,
        endpoint=endpoint,
        result=result,
        http_status=200 if result is AttemptResult.ACCEPTED else None,
        period_start=period_start,
    )


def test_a_version_one_file_is_migrated_keeping_its_data(path: Path) -> None:
    """Statistics written before sharing existed survive the migration."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store.record_poll(poll_outcome(increments={(Metric.JOBS, ""): 3}))
    for table in (
        "consent_change",
        "weekly_submission",
        "deletion_request",
        "submission_log",
    ):
        store._db.execute(f"DROP TABLE {table}")
    store._db.execute("PRAGMA user_version = 1")
    store = reopen(store)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.statistics_view(NOW.date()).jobs == 3
    assert store.load_sharing().outbox == Outbox()
    store.close()


@pytest.mark.parametrize(
    ("status", "attempts", "migrated", "held"),
    [
        (WeeklyStatus.PENDING, 1, WeeklyStatus.PENDING, True),
        (WeeklyStatus.PENDING, 0, WeeklyStatus.PENDING, False),
        # Tried, then stopped: the server may hold it.
        (WeeklyStatus.DISCARDED, 1, WeeklyStatus.POSSIBLY_SENT, True),
        (WeeklyStatus.EXPIRED, 3, WeeklyStatus.POSSIBLY_SENT, True),
        (WeeklyStatus.REJECTED, 2, WeeklyStatus.POSSIBLY_SENT, True),
        # Refused at its only attempt, or never tried: nothing was kept.
        (WeeklyStatus.REJECTED, 1, WeeklyStatus.REJECTED, True),
        (WeeklyStatus.DISCARDED, 0, WeeklyStatus.DISCARDED, False),
        (WeeklyStatus.SENT, 2, WeeklyStatus.SENT, True),
    ],
)
def test_a_version_two_file_keeps_tried_weeks_possibly_held(
    path: Path,
    status: WeeklyStatus,
    attempts: int,
    migrated: WeeklyStatus,
    *,
    held: bool,
) -> None:
    """Before failures were told apart, any tried week may have reached a server.

    So the migration marks every tried row, and a tried row that was stopped
    becomes possibly sent; the result survives a restart.
    """
    store, _ = LocalStatisticsStore.open(path, NOW)
    row = replace(sent_week(OLD_ID, (ENDPOINT,)), status=status, attempts=attempts)
    store.save_sharing(ConsentHistory(), Outbox(weekly=(row,)))
    store._db.execute("ALTER TABLE weekly_submission DROP COLUMN may_be_held")
    store._db.execute("PRAGMA user_version = 2")
    store = reopen(store)
    [loaded] = store.load_sharing().outbox.weekly
    assert (loaded.status, loaded.may_be_held) == (migrated, held)
    store = reopen(store)
    assert store.load_sharing().outbox.weekly == (loaded,)
    store.close()


def test_nothing_is_recorded_before_anyone_decides(store: LocalStatisticsStore) -> None:
    """A new file has no consent, no rows and no id; only the send offset."""
    record = store.load_sharing()
    assert record.history == ConsentHistory()
    assert record.outbox == Outbox()
    assert record.last_accepted_at is None
    assert timedelta(0) <= record.send_offset < MAX_SEND_OFFSET
    assert store.export()["installation"] is None


def test_the_send_offset_is_drawn_once(store: LocalStatisticsStore) -> None:
    """Every restart finds the same offset."""
    offset = store.load_sharing().send_offset
    store = reopen(store)
    assert store.load_sharing().send_offset == offset
    store.close()


def test_consent_and_outbox_survive_a_restart(store: LocalStatisticsStore) -> None:
    """Everything sharing needs comes back exactly as it was saved."""
    history = (
        ConsentHistory()
        .opt_in(datetime(2026, 11, 2, 15, tzinfo=UTC), 1)
        .opt_out(datetime(2026, 11, 10, tzinfo=UTC))
        .opt_in(datetime(2026, 11, 11, tzinfo=UTC), 1)
    )
    outbox = Outbox(
        weekly=(
            sent_week(OLD_ID, (ENDPOINT, OTHER_ENDPOINT)),
            replace(
                sent_week(OLD_ID, ()),
                period_start=WEEK + timedelta(days=7),
                status=WeeklyStatus.PENDING,
                attempts=0,
                last_result=None,
            ),
        ),
        deletions=(
            DeletionRow(
                OLD_ID,
                ENDPOINT,
                due_at=NOW,
                status=DeletionStatus.IN_FLIGHT,
                attempts=1,
                last_result=AttemptResult.TIMEOUT,
            ),
        ),
        last_weekly_request_at=datetime(2026, 11, 23, 7, 30, tzinfo=UTC),
        build_from=date(2026, 11, 9),
    )
    store.save_sharing(history, outbox, attempt(OLD_ID, AttemptResult.ACCEPTED))
    store = reopen(store)
    record = store.load_sharing()
    assert record.history == history
    assert record.outbox == outbox
    assert record.last_accepted_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    store.close()


def test_consent_decisions_are_only_added(store: LocalStatisticsStore) -> None:
    """Saving a longer history appends; earlier decisions are never rewritten."""
    first = ConsentHistory().opt_in(datetime(2026, 11, 2, tzinfo=UTC), 1)
    store.save_sharing(first, Outbox())
    later = first.opt_out(datetime(2026, 11, 20, tzinfo=UTC))
    store.save_sharing(later, Outbox())
    store.save_sharing(later, Outbox())
    assert store.load_sharing().history == later
    assert [
        entry["share_statistics"] for entry in store.export()["consent_history"]
    ] == [
        True,
        False,
    ]


def test_cleared_schedule_fields_are_removed(store: LocalStatisticsStore) -> None:
    """A time or floor that is no longer set does not come back after a restart."""
    store.save_sharing(
        ConsentHistory(),
        Outbox(last_weekly_request_at=NOW, build_from=date(2026, 11, 23)),
    )
    store.save_sharing(ConsentHistory(), Outbox())
    assert store.load_sharing().outbox == Outbox()


def test_a_retired_id_is_never_used_again(store: LocalStatisticsStore) -> None:
    """Saved with the change that retires it, the id and its offset go together."""
    current = store.installation_identity(date(2026, 11, 2)).installation_id
    offsets = {store.send_offset()}
    store.save_sharing(
        ConsentHistory(), Outbox(weekly=(sent_week(current, (ENDPOINT,)),))
    )
    assert store.installation_identity(NOW.date()).installation_id == current
    assert store.send_offset() in offsets
    deletion = DeletionRow(current, ENDPOINT, due_at=NOW)
    for _ in range(20):  # an offset drawn again may match once, never 20 times
        store.save_sharing(ConsentHistory(), Outbox(deletions=(deletion,)), None, True)
        offsets.add(store.send_offset())
    assert store.current_installation_id() is None
    fresh = store.installation_identity(NOW.date())
    assert fresh.installation_id != current
    assert fresh.first_seen == NOW.date()
    assert len(offsets) > 1


def test_log_rows_leave_with_what_they_are_about(store: LocalStatisticsStore) -> None:
    """The log forgets a week or a deletion request once that row is forgotten."""
    week = sent_week(OLD_ID, (ENDPOINT,))
    deletion = DeletionRow(OLD_ID, ENDPOINT, due_at=NOW)
    store.save_sharing(
        ConsentHistory(), Outbox(weekly=(week,)), attempt(OLD_ID, AttemptResult.TIMEOUT)
    )
    store.save_sharing(
        ConsentHistory(),
        Outbox(weekly=(week,), deletions=(deletion,)),
        attempt(OLD_ID, AttemptResult.SERVER_ERROR, period_start=None),
    )
    log = store.export()["submission_log"]
    assert [(entry["period_start"], entry["result"]) for entry in log] == [
        ("2026-11-16", "timeout"),
        (None, "server_error"),
    ]
    assert log[0]["hour"] == "2026-11-25T10:00:00+00:00"
    store.save_sharing(ConsentHistory(), Outbox(deletions=(deletion,)))
    assert [entry["result"] for entry in store.export()["submission_log"]] == [
        "server_error"
    ]
    store.save_sharing(ConsentHistory(), Outbox())
    assert store.export()["submission_log"] == []
    assert store.load_sharing().last_accepted_at is None


def test_export_shows_submissions_with_their_payloads(
    store: LocalStatisticsStore,
) -> None:
    """The user sees every row, its state, where it went and the exact payload."""
    store.save_sharing(
        ConsentHistory().opt_in(datetime(2026, 11, 2, 15, tzinfo=UTC), 1),
        Outbox(
            weekly=(sent_week(OLD_ID, (ENDPOINT,)),),
            deletions=(DeletionRow(OLD_ID, OTHER_ENDPOINT, due_at=NOW),),
        ),
        attempt(OLD_ID, AttemptResult.ACCEPTED),
    )
    export = store.export()
    assert export["consent_history"] == [
        {
            "at": "2026-11-02T15:00:00+00:00",
            "share_statistics": True,
            "policy_version": 1,
        }
    ]
    assert export["weekly_submissions"] == [
        {
            "period_start": "2026-11-16",
            "installation_id": OLD_ID,
            "status": "sent",
            "attempts": 2,
            "last_result": "accepted",
            "due_at": "2026-11-23T07:30:00+00:00",
            "endpoints": [ENDPOINT],
            "may_be_held": False,
            "payload": {"schema_version": "1.0"},
        }
    ]
    assert export["deletion_requests"] == [
        {
            "installation_id": OLD_ID,
            "endpoint": OTHER_ENDPOINT,
            "status": "pending",
            "attempts": 0,
            "last_result": None,
            "due_at": "2026-11-25T10:05:00+00:00",
        }
    ]
    assert export["submission_log"] == [
        {
            "hour": "2026-11-25T10:00:00+00:00",
            "period_start": "2026-11-16",
            "installation_id": OLD_ID,
            "endpoint": ENDPOINT,
            "result": "accepted",
            "http_status": 200,
        }
    ]


def test_the_clock_high_water_mark_only_rises(store: LocalStatisticsStore) -> None:
    """A poll recorded while the clock is behind does not lower the mark."""
    assert store.load_sharing().clock_high_water is None
    store.record_poll(poll_outcome(observed_at=NOW))
    store.record_poll(poll_outcome(observed_at=NOW - timedelta(days=1)))
    assert store.load_sharing().clock_high_water == NOW
    later = NOW + timedelta(hours=1)
    store.record_poll(poll_outcome(observed_at=later))
    assert store.load_sharing().clock_high_water == later


def test_a_write_that_fails_changes_nothing(store: LocalStatisticsStore) -> None:
    """Consent, rows and log are saved together or not at all."""
    history = ConsentHistory().opt_in(NOW, 1)
    store.save_sharing(history, Outbox(weekly=(sent_week(OLD_ID, (ENDPOINT,)),)))
    twice = (sent_week(OLD_ID, ()), sent_week(OLD_ID, ()))  # one week, two rows
    with pytest.raises(sqlite3.IntegrityError):
        store.save_sharing(history.opt_out(NOW), Outbox(weekly=twice))
    record = store.load_sharing()
    assert record.history == history
    assert record.outbox.weekly == (sent_week(OLD_ID, (ENDPOINT,)),)
    assert json.loads(record.outbox.weekly[0].body) == {"schema_version": "1.0"}


def test_a_preview_creates_no_id(store: LocalStatisticsStore) -> None:
    """Before an id exists the preview marks it; afterwards it shows it."""
    week = date(2026, 11, 16)
    preview = preview_week_payload(store, week, 1, "Europe/Berlin", NOW.date())
    assert preview["installation"]["installation_id"] == NOT_YET_KNOWN
    assert preview["installation"]["first_seen"] == NOT_YET_KNOWN
    assert store.current_installation_id() is None
    assert preview_week_payload(store, week, 0, "UTC", NOW.date()) == {}
    identity = store.installation_identity(date(2026, 11, 2))
    preview = preview_week_payload(store, week, 1, "Europe/Berlin", NOW.date())
    assert preview["installation"]["installation_id"] == identity.installation_id
    assert preview["installation"]["first_seen"] == "2026-11-02T00:00:00Z"
    assert store.current_installation_id() == identity.installation_id


def test_local_deletion_leaves_only_waiting_deletion_requests(
    store: LocalStatisticsStore,
) -> None:
    """Everything goes, the file is compacted, and no deleted value lingers in it."""
    store.record_poll(
        poll_outcome(
            increments={(Metric.JOBS, ""): 3},
            new_keys={Listing.JOBS: (b"\x07" * 8,)},
        )
    )
    current = store.installation_identity(date(2026, 11, 2)).installation_id
    salt = store._meta("salt")
    history = ConsentHistory().opt_in(datetime(2026, 11, 2, tzinfo=UTC), 1)
    waiting = DeletionRow(OLD_ID, ENDPOINT, due_at=NOW)
    acknowledged = replace(
        DeletionRow(OLD_ID, OTHER_ENDPOINT, due_at=NOW),
        status=DeletionStatus.ACKNOWLEDGED,
    )
    store.save_sharing(
        history,
        Outbox(weekly=(sent_week(current, (ENDPOINT,)),), deletions=(waiting,)),
        attempt(current, AttemptResult.ACCEPTED),
    )
    store.save_sharing(
        history,
        Outbox(
            weekly=(sent_week(current, (ENDPOINT,)),),
            deletions=(waiting, acknowledged),
        ),
    )
    result = store.delete_local_statistics(NOW)
    assert result == {
        "deleted": {
            "day_buckets": 1,
            "feature_flag_weeks": 1,
            "consent_decisions": 1,
            "weekly_submissions": 1,
            "log_entries": 1,
            "installation_ids": 1,
            "damaged_copies": 0,
        },
        "kept_until_acknowledged": [
            {"installation_id": OLD_ID, "endpoint": ENDPOINT},
        ],
    }
    export = store.export()
    assert export["installation"] is None
    assert export["day_buckets"] == export["feature_flags"] == []
    assert export["consent_history"] == export["weekly_submissions"] == []
    assert [row["installation_id"] for row in export["deletion_requests"]] == [OLD_ID]
    assert store._meta("salt") not in (None, salt)
    assert store.load_sharing().outbox.build_from == date(2026, 11, 30)
    remembered = store._db.execute("SELECT COUNT(*) FROM remembered_items")
    assert remembered.fetchone()[0] == 0
    # Read while still open: the write-ahead log must hold nothing deleted either.
    raw = b"".join(
        candidate.read_bytes()
        for candidate in store.path.parent.iterdir()
        if candidate.name.startswith(store.path.name)
    )
    assert current.encode() not in raw
    assert str(salt).encode() not in raw
    assert b"\x07" * 8 not in raw
    assert OLD_ID.encode() in raw  # kept until the server confirms
