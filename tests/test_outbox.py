"""The outbox state machine: every event, every result, every schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import hashlib
import random

import pytest

from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.outbox import (
    AttemptResult,
    DeletionDue,
    DeletionStatus,
    Outbox,
    WeeklyDue,
    WeeklyStatus,
    classify_response,
    deletion_finished,
    deletion_requested,
    deletion_started,
    endpoint_changed,
    expire,
    id_regenerated,
    idempotency_key,
    locally_deleted,
    next_due,
    next_wakeup,
    opted_out,
    restarted,
    week_closed,
    weekly_finished,
    weekly_started,
    weeks_to_build,
)

OLD_ID = "6a1f7a6c-2c1e-4f59-9d1b-9a1d2f3e4b5c"
NEW_ID = "0f8b9c2d-7e6a-4b3c-8d1e-2f3a4b5c6d7e"
SERVER = "https://stats.example"
W1 = date(2026, 11, 2)
W2 = date(2026, 11, 9)
W3 = date(2026, 11, 16)
CONSENTED = ConsentHistory().opt_in(datetime(2026, 10, 1, tzinfo=UTC), 1)
RNG = random.Random(7)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a UTC moment in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def queued(*weeks: date, installation_id: str = OLD_ID) -> Outbox:
    """Return an outbox with a pending row per week, due at its end."""
    outbox = Outbox()
    for week in weeks:
        outbox = week_closed(
            outbox,
            week,
            installation_id,
            b"{}",
            datetime.combine(week, datetime.min.time(), UTC) + timedelta(days=7),
        )
    return outbox


def statuses(outbox: Outbox) -> list[WeeklyStatus]:
    """Return the weekly rows' statuses in order."""
    return [row.status for row in outbox.weekly]


@pytest.mark.parametrize(
    ("status", "body", "result"),
    [
        (200, b'{"status":"success","submission_id":1}', AttemptResult.ACCEPTED),
        (201, b"{}", AttemptResult.ACCEPTED),
        (200, b"<html>proxy</html>", AttemptResult.NON_JSON_BODY),
        (401, b'{"detail":"Invalid API key"}', AttemptResult.UNAUTHORIZED),
        (403, b'{"detail":"Not authenticated"}', AttemptResult.FORBIDDEN),
        (404, b"{}", AttemptResult.NOT_FOUND),
        (422, b'{"detail":[]}', AttemptResult.INVALID_PAYLOAD),
        (429, b'{"detail":"Rate limit exceeded."}', AttemptResult.RATE_LIMITED),
        (400, b"{}", AttemptResult.CLIENT_ERROR),
        (500, b"<html>", AttemptResult.SERVER_ERROR),
        (503, b"", AttemptResult.SERVER_ERROR),
        (302, b"", AttemptResult.SERVER_ERROR),
    ],
)
def test_classify_response(status: int, body: bytes, result: AttemptResult) -> None:
    """Every answer of the collection server maps to one result."""
    assert classify_response(status, body) is result


def test_idempotency_key() -> None:
    """The key is the hex SHA-256 of the id and the period start stamp."""
    expected = hashlib.sha256(f"{OLD_ID}2026-11-02T00:00:00Z".encode()).hexdigest()
    assert idempotency_key(OLD_ID, W1) == expected
    assert queued(W1).weekly[0].idempotency_key == expected


def test_one_row_per_week_ever() -> None:
    """Closing a week twice (after a restart, say) never adds a second row."""
    outbox = queued(W1)
    again = week_closed(outbox, W1, OLD_ID, b"other", at(20))
    assert again == outbox


def test_weeks_to_build() -> None:
    """Closed, eligible, unqueued weeks within the expiry, only while sharing."""
    now = at(17, 12)
    assert weeks_to_build(Outbox(), CONSENTED, W1, now) == [W1, W2]
    assert weeks_to_build(queued(W1), CONSENTED, W1, now) == [W2]
    late = ConsentHistory().opt_in(at(5), 1)
    assert weeks_to_build(Outbox(), late, W1, now) == [W2]
    stopped = CONSENTED.opt_out(at(17))
    assert weeks_to_build(Outbox(), stopped, W1, now) == []
    far_later = datetime(2027, 2, 10, tzinfo=UTC)
    assert weeks_to_build(Outbox(), CONSENTED, W1, far_later)[0] == W3


def test_sending_a_week() -> None:
    """A due row is sent once; success is final."""
    outbox = queued(W1)
    assert next_due(outbox, CONSENTED, at(8, 23)) is None  # not yet due
    due = next_due(outbox, CONSENTED, at(9))
    assert isinstance(due, WeeklyDue)
    assert due.row.period_start == W1
    outbox = weekly_started(outbox, W1, SERVER, at(9))
    assert statuses(outbox) == [WeeklyStatus.IN_FLIGHT]
    assert outbox.weekly[0].endpoint == SERVER
    assert next_due(outbox, CONSENTED, at(9)) is None
    outbox = weekly_finished(outbox, W1, AttemptResult.ACCEPTED, at(9), rng=RNG)
    assert statuses(outbox) == [WeeklyStatus.SENT]
    assert next_due(outbox, CONSENTED, at(30)) is None
    assert next_wakeup(outbox, CONSENTED) is None


@pytest.mark.parametrize(
    "result",
    [
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.INVALID_PAYLOAD,
        AttemptResult.CLIENT_ERROR,
        AttemptResult.NOT_FOUND,
    ],
)
def test_rejections_are_final(result: AttemptResult) -> None:
    """401, 403, 422 and other 4xx reject the row; it is never retried."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    outbox = weekly_finished(outbox, W1, result, at(9), rng=RNG)
    assert statuses(outbox) == [WeeklyStatus.REJECTED]
    assert outbox.weekly[0].last_result is result
    assert next_due(outbox, CONSENTED, at(30)) is None


@pytest.mark.parametrize(
    "result",
    [
        AttemptResult.SERVER_ERROR,
        AttemptResult.TIMEOUT,
        AttemptResult.CONNECTION_ERROR,
        AttemptResult.NON_JSON_BODY,
    ],
)
def test_backoff_doubles_to_a_day_with_jitter(result: AttemptResult) -> None:
    """Retryable failures wait 1 h, 2 h, 4 h ... up to 24 h, each within 10 %."""
    outbox = queued(W1)
    now = at(9)
    waits = []
    for _ in range(7):
        outbox = weekly_started(outbox, W1, SERVER, now)
        outbox = weekly_finished(outbox, W1, result, now, rng=RNG)
        row = outbox.weekly[0]
        assert row.status is WeeklyStatus.PENDING
        waits.append((row.due_at - now) / timedelta(hours=1))
        now = row.due_at
    for wait, base in zip(waits, [1, 2, 4, 8, 16, 24, 24], strict=True):
        assert base * 0.9 <= wait <= base * 1.1


def test_jitter_is_seeded() -> None:
    """The same seed gives the same schedule."""

    def schedule(seed: int) -> datetime:
        outbox = weekly_started(queued(W1), W1, SERVER, at(9))
        outbox = weekly_finished(
            outbox, W1, AttemptResult.TIMEOUT, at(9), rng=random.Random(seed)
        )
        return outbox.weekly[0].due_at

    assert schedule(1) == schedule(1)
    assert schedule(1) != schedule(2)


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        (None, timedelta(hours=1)),
        (timedelta(minutes=5), timedelta(hours=1)),
        (timedelta(hours=3), timedelta(hours=3)),
    ],
)
def test_rate_limited_waits_at_least_an_hour(
    retry_after: timedelta | None, wait: timedelta
) -> None:
    """429 waits for Retry-After, and never less than an hour."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    outbox = weekly_finished(
        outbox, W1, AttemptResult.RATE_LIMITED, at(9), rng=RNG, retry_after=retry_after
    )
    assert outbox.weekly[0].due_at == at(9) + wait


def test_one_weekly_request_per_rolling_hour() -> None:
    """Three overdue weeks go one per hour, oldest first."""
    outbox = queued(W3, W1, W2)
    now = at(24)
    sent = []
    for _ in range(3):
        due = next_due(outbox, CONSENTED, now)
        assert isinstance(due, WeeklyDue)
        week = due.row.period_start
        outbox = weekly_started(outbox, week, SERVER, now)
        outbox = weekly_finished(outbox, week, AttemptResult.ACCEPTED, now, rng=RNG)
        sent.append(week)
        assert next_due(outbox, CONSENTED, now + timedelta(minutes=59)) is None
        assert next_wakeup(outbox, CONSENTED) in (now + timedelta(hours=1), None)
        now += timedelta(hours=1)
    assert sent == [W1, W2, W3]


def test_nothing_weekly_is_offered_without_consent() -> None:
    """A due row is not offered once the user stopped sharing or the week is out."""
    outbox = queued(W1)
    assert next_due(outbox, CONSENTED.opt_out(at(10)), at(11)) is None
    assert next_wakeup(outbox, CONSENTED.opt_out(at(10))) is None
    never = ConsentHistory().opt_in(at(5), 1)  # after W1 began
    assert next_due(outbox, never, at(11)) is None


def test_opt_out_discards_unsent_rows() -> None:
    """Opting out discards pending and in-flight rows; a late answer changes nothing."""
    outbox = weekly_started(queued(W1, W2), W1, SERVER, at(16))
    outbox = weekly_finished(outbox, W1, AttemptResult.ACCEPTED, at(16), rng=RNG)
    outbox = weekly_started(outbox, W2, SERVER, at(17))
    outbox = opted_out(outbox)
    assert statuses(outbox) == [WeeklyStatus.SENT, WeeklyStatus.DISCARDED]
    after = weekly_finished(outbox, W2, AttemptResult.ACCEPTED, at(17), rng=RNG)
    assert statuses(after) == [WeeklyStatus.SENT, WeeklyStatus.DISCARDED]


def test_regenerated_id_discards_the_old_ids_rows() -> None:
    """Rows built with the old id would link old and new: they are discarded."""
    outbox = queued(W1)
    outbox = week_closed(outbox, W2, NEW_ID, b"{}", at(16))
    outbox = id_regenerated(outbox, OLD_ID)
    assert statuses(outbox) == [WeeklyStatus.DISCARDED, WeeklyStatus.PENDING]


def test_expiry_after_twelve_weeks() -> None:
    """Rows still unsent twelve weeks after their week end expire."""
    outbox = queued(W1)
    end_plus_expiry = at(9) + timedelta(weeks=12)
    assert statuses(expire(outbox, end_plus_expiry - timedelta(seconds=1))) == [
        WeeklyStatus.PENDING
    ]
    assert next_due(outbox, CONSENTED, end_plus_expiry) is None
    assert statuses(expire(outbox, end_plus_expiry)) == [WeeklyStatus.EXPIRED]


def test_restart_retries_in_flight_rows_with_the_same_key() -> None:
    """A crash mid-request leaves the row in flight; a restart sends it again."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    key = outbox.weekly[0].idempotency_key
    outbox = deletion_started(
        deletion_requested(outbox, {NEW_ID: SERVER}, at(9)), NEW_ID
    )
    outbox = restarted(outbox, at(10))
    assert statuses(outbox) == [WeeklyStatus.PENDING]
    assert outbox.weekly[0].idempotency_key == key
    assert outbox.deletions[0].status is DeletionStatus.PENDING
    assert outbox.deletions[0].due_at == at(10)


def test_deletion_requests() -> None:
    """One request per id, to where it submitted; sent first, at once."""
    outbox = queued(W1, installation_id=OLD_ID)
    outbox = week_closed(outbox, W2, NEW_ID, b"{}", at(16))
    outbox = deletion_requested(
        outbox, {OLD_ID: SERVER, NEW_ID: "https://other.example"}, at(17)
    )
    assert statuses(outbox) == [WeeklyStatus.DISCARDED, WeeklyStatus.DISCARDED]
    assert [(row.installation_id, row.endpoint) for row in outbox.deletions] == [
        (OLD_ID, SERVER),
        (NEW_ID, "https://other.example"),
    ]
    due = next_due(outbox, ConsentHistory(), at(17))  # even after opting out
    assert isinstance(due, DeletionDue)
    assert due.row.installation_id == OLD_ID
    again = deletion_requested(outbox, {OLD_ID: SERVER}, at(18))
    assert again.deletions == outbox.deletions


def test_deletion_schedule_and_acknowledgement() -> None:
    """1, 5 and 15 minutes, then hourly; never dropped; 2xx or 404 acknowledges."""
    outbox = deletion_requested(Outbox(), {OLD_ID: SERVER}, at(17))
    now = at(17)
    waits = []
    for result in (
        AttemptResult.TIMEOUT,
        AttemptResult.SERVER_ERROR,
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.RATE_LIMITED,
    ):
        outbox = deletion_started(outbox, OLD_ID)
        outbox = deletion_finished(outbox, OLD_ID, result, now)
        row = outbox.deletions[0]
        assert row.status is DeletionStatus.PENDING
        waits.append(row.due_at - now)
        now = row.due_at
    assert waits == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    assert next_wakeup(outbox, ConsentHistory()) == now
    outbox = endpoint_changed(outbox, now - timedelta(minutes=30))
    assert outbox.deletions[0].due_at == now - timedelta(minutes=30)
    for result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
        done = deletion_finished(deletion_started(outbox, OLD_ID), OLD_ID, result, now)
        assert done.deletions[0].status is DeletionStatus.ACKNOWLEDGED
        assert next_due(done, ConsentHistory(), now + timedelta(days=1)) is None


def test_local_deletion_keeps_waiting_deletion_requests() -> None:
    """Deleting local data forgets weekly rows but not unacknowledged requests."""
    outbox = deletion_requested(queued(W1), {OLD_ID: SERVER, NEW_ID: SERVER}, at(17))
    outbox = deletion_finished(
        deletion_started(outbox, NEW_ID), NEW_ID, AttemptResult.ACCEPTED, at(17)
    )
    outbox = locally_deleted(outbox)
    assert outbox.weekly == ()
    assert [row.installation_id for row in outbox.deletions] == [OLD_ID]


def test_endpoint_change_leaves_other_rows() -> None:
    """Only waiting deletion requests are moved forward."""
    outbox = deletion_requested(Outbox(), {OLD_ID: SERVER}, at(17))
    outbox = deletion_started(outbox, OLD_ID)
    assert endpoint_changed(outbox, at(18)) == outbox
