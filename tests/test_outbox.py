"""The outbox state machine: every event, every result, every schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
import hashlib
import random

import pytest

from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.outbox import (
    AttemptResult,
    DeletionDue,
    DeletionRow,
    DeletionStatus,
    Outbox,
    WeeklyDue,
    WeeklyStatus,
    classify_response,
    deletion_finished,
    deletion_requested,
    deletion_started,
    deletions_queued,
    deletions_retried,
    endpoint_changed,
    first_whole_week,
    forget_acknowledged,
    id_regenerated,
    idempotency_key,
    is_rejection,
    locally_deleted,
    next_due,
    next_submission_at,
    next_wakeup,
    opted_out,
    possibly_sent_weeks,
    reconcile,
    restarted,
    send_now_requested,
    unsent_weeks,
    waiting_deletions,
    week_closed,
    weekly_finished,
    weekly_not_started,
    weekly_started,
    weeks_to_build,
)

OLD_ID = "6a1f7a6c-2c1e-4f59-9d1b-9a1d2f3e4b5c"
NEW_ID = "0f8b9c2d-7e6a-4b3c-8d1e-2f3a4b5c6d7e"
SERVER = "https://stats.example"
OTHER = "https://other.example"
W1 = date(2026, 11, 2)
W2 = date(2026, 11, 9)
W3 = date(2026, 11, 16)
W4 = date(2026, 11, 23)
CONSENTED = ConsentHistory().opt_in(datetime(2026, 10, 1, tzinfo=UTC), 1)
RNG = random.Random(7)


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a UTC moment in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def week_end(week: date) -> datetime:
    """Return the Monday midnight that ends a week."""
    return datetime(week.year, week.month, week.day, tzinfo=UTC) + timedelta(days=7)


def queued(*weeks: date, installation_id: str = OLD_ID) -> Outbox:
    """Return an outbox with a pending row per week, due at its end."""
    outbox = Outbox()
    for week in weeks:
        outbox = week_closed(outbox, week, installation_id, b"{}", week_end(week))
    return outbox


def sent(outbox: Outbox, week: date, endpoint: str, now: datetime) -> Outbox:
    """Send a week successfully."""
    outbox = weekly_started(outbox, week, endpoint, now)
    return weekly_finished(outbox, week, AttemptResult.ACCEPTED, now, rng=RNG)


def statuses(outbox: Outbox) -> list[WeeklyStatus]:
    """Return the weekly rows' statuses in order."""
    return [row.status for row in outbox.weekly]


def due(outbox: Outbox, now: datetime, history: ConsentHistory = CONSENTED) -> object:
    """Return what is due now, with an endpoint set."""
    return next_due(outbox, history, now, has_endpoint=True)


@pytest.mark.parametrize(
    ("status", "body", "result"),
    [
        (200, b'{"status":"success","submission_id":1}', AttemptResult.ACCEPTED),
        (201, b"{}", AttemptResult.ACCEPTED),
        (200, b"<html>cut off", AttemptResult.ACCEPTED),  # stored all the same
        (401, b'{"detail":"Invalid API key"}', AttemptResult.UNAUTHORIZED),
        (403, b'{"detail":"Not authenticated"}', AttemptResult.FORBIDDEN),
        (403, b"<html>proxy login</html>", AttemptResult.NON_JSON_BODY),
        (404, b'{"detail":"Not Found"}', AttemptResult.NOT_FOUND),
        (422, b'{"detail":[]}', AttemptResult.INVALID_PAYLOAD),
        (429, b'{"detail":"Rate limit exceeded."}', AttemptResult.RATE_LIMITED),
        (400, b"{}", AttemptResult.CLIENT_ERROR),
        (500, b"<html>", AttemptResult.SERVER_ERROR),
        (503, b"", AttemptResult.SERVER_ERROR),
        (301, b"", AttemptResult.REDIRECTED),
        (302, b"", AttemptResult.REDIRECTED),
        (307, b'{"detail":"moved"}', AttemptResult.REDIRECTED),
        (308, b"", AttemptResult.REDIRECTED),
    ],
)
def test_classify_response(status: int, body: bytes, result: AttemptResult) -> None:
    """Every answer maps to one result; any 2xx means the server stored it."""
    assert classify_response(status, body) is result


def test_only_a_verdict_of_the_server_is_a_rejection() -> None:
    """A refusal (4xx with a JSON body, or a redirect) is final; failures are not."""
    rejections = {result for result in AttemptResult if is_rejection(result)}
    assert rejections == {
        AttemptResult.NOT_FOUND,
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.INVALID_PAYLOAD,
        AttemptResult.CLIENT_ERROR,
        AttemptResult.REDIRECTED,
    }


def test_idempotency_key() -> None:
    """The key is the hex SHA-256 of the id and the period start stamp."""
    expected = hashlib.sha256(f"{OLD_ID}2026-11-02T00:00:00Z".encode()).hexdigest()
    assert idempotency_key(OLD_ID, W1) == expected
    assert queued(W1).weekly[0].idempotency_key == expected


def test_one_row_per_week_ever() -> None:
    """Closing a week twice (after a restart, say) never adds a second row."""
    outbox = queued(W1)
    assert week_closed(outbox, W1, OLD_ID, b"other", at(20)) == outbox


def test_weeks_to_build() -> None:
    """Closed, eligible, unqueued weeks within the expiry, with an endpoint."""
    now = at(17, 12)
    consented = ConsentHistory().opt_in(at(1), 1)
    assert weeks_to_build(Outbox(), consented, now, has_endpoint=True) == [W1, W2]
    assert weeks_to_build(queued(W1), consented, now, has_endpoint=True) == [W2]
    assert weeks_to_build(Outbox(), consented, now, has_endpoint=False) == []
    late = ConsentHistory().opt_in(at(5), 1)
    assert weeks_to_build(Outbox(), late, now, has_endpoint=True) == [W2]
    stopped = consented.opt_out(at(17))
    assert weeks_to_build(Outbox(), stopped, now, has_endpoint=True) == []
    later = datetime(2027, 2, 10, tzinfo=UTC)
    assert weeks_to_build(Outbox(), consented, later, has_endpoint=True)[0] == W3


def test_no_week_below_the_floor() -> None:
    """After an opt-out, weeks that ended but were never built stay unbuilt."""
    outbox = opted_out(Outbox(), at(17, 12))
    assert outbox.build_from == W4
    again = ConsentHistory().opt_in(at(1), 1).opt_out(at(17, 12)).opt_in(at(17, 13), 1)
    assert weeks_to_build(outbox, again, at(24, 1), has_endpoint=True) == []
    assert weeks_to_build(outbox, again, at(30, 1), has_endpoint=True) == [
        date(2026, 11, 23)
    ]
    assert week_closed(outbox, W1, OLD_ID, b"{}", at(9)) == outbox
    assert opted_out(outbox, at(3)).build_from == W4  # the floor never sinks


def test_sending_a_week() -> None:
    """A due row is sent once; success is final and cannot be revived."""
    outbox = queued(W1)
    assert due(outbox, at(8, 23)) is None  # not yet due
    assert next_due(outbox, CONSENTED, at(9), has_endpoint=False) is None
    offered = due(outbox, at(9))
    assert isinstance(offered, WeeklyDue)
    assert offered.row.period_start == W1
    outbox = weekly_started(outbox, W1, SERVER, at(9))
    assert statuses(outbox) == [WeeklyStatus.IN_FLIGHT]
    assert outbox.weekly[0].endpoints == (SERVER,)
    assert due(outbox, at(9)) is None
    outbox = weekly_finished(outbox, W1, AttemptResult.ACCEPTED, at(9), rng=RNG)
    assert statuses(outbox) == [WeeklyStatus.SENT]
    assert due(outbox, at(30)) is None
    assert next_wakeup(outbox, CONSENTED, at(30), has_endpoint=True) is None
    assert weekly_started(outbox, W1, SERVER, at(30)) == outbox
    assert restarted(outbox, CONSENTED, SERVER, at(30)) == outbox
    assert weekly_started(outbox, W2, SERVER, at(30)) == outbox  # no such row


@pytest.mark.parametrize(
    "result",
    [
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.INVALID_PAYLOAD,
        AttemptResult.CLIENT_ERROR,
        AttemptResult.NOT_FOUND,
        AttemptResult.REDIRECTED,
    ],
)
def test_rejections_are_final(result: AttemptResult) -> None:
    """401, 403, 422, other 4xx and 3xx reject the row; it is never retried."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    outbox = weekly_finished(outbox, W1, result, at(9), rng=RNG)
    assert statuses(outbox) == [WeeklyStatus.REJECTED]
    assert outbox.weekly[0].last_result is result
    assert due(outbox, at(30)) is None


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
    for _ in range(40):  # far beyond where doubling would overflow
        outbox = weekly_started(outbox, W1, SERVER, now)
        outbox = weekly_finished(outbox, W1, result, now, rng=RNG)
        row = outbox.weekly[0]
        assert row.status is WeeklyStatus.PENDING
        waits.append((row.due_at - now) / timedelta(hours=1))
        now = row.due_at
    for wait, base in zip(waits, [1, 2, 4, 8, 16] + [24] * 35, strict=True):
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
        (timedelta(days=30), timedelta(hours=24)),
    ],
)
def test_rate_limited_waits_at_least_an_hour(
    retry_after: timedelta | None, wait: timedelta
) -> None:
    """429 waits for Retry-After, never less than an hour nor more than a day."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    outbox = weekly_finished(
        outbox, W1, AttemptResult.RATE_LIMITED, at(9), rng=RNG, retry_after=retry_after
    )
    assert outbox.weekly[0].due_at == at(9) + wait


def test_one_weekly_request_per_rolling_hour() -> None:
    """Three overdue weeks go one per hour, oldest first."""
    outbox = queued(W3, W1, W2)
    now = at(24)
    order = []
    for _ in range(3):
        offered = due(outbox, now)
        assert isinstance(offered, WeeklyDue)
        week = offered.row.period_start
        outbox = sent(outbox, week, SERVER, now)
        order.append(week)
        assert due(outbox, now + timedelta(minutes=59)) is None
        assert next_wakeup(outbox, CONSENTED, now, has_endpoint=True) in (
            now + timedelta(hours=1),
            None,
        )
        now += timedelta(hours=1)
    assert order == [W1, W2, W3]


def test_nothing_weekly_is_offered_without_consent() -> None:
    """A due row is not offered once the user stopped sharing or the week is out."""
    outbox = queued(W1)
    stopped = CONSENTED.opt_out(at(10))
    assert due(outbox, at(11), stopped) is None
    assert next_wakeup(outbox, stopped, at(11), has_endpoint=True) is None
    never = ConsentHistory().opt_in(at(5), 1)  # after W1 began
    assert due(outbox, at(11), never) is None


def test_opt_out_discards_unsent_rows() -> None:
    """Opting out discards pending rows; one in flight is possibly sent, not unsent."""
    outbox = sent(queued(W1, W2, W3), W1, SERVER, at(16))
    outbox = weekly_started(outbox, W2, SERVER, at(17))
    outbox = opted_out(outbox, at(17))
    assert statuses(outbox) == [
        WeeklyStatus.SENT,
        WeeklyStatus.POSSIBLY_SENT,
        WeeklyStatus.DISCARDED,
    ]
    assert possibly_sent_weeks(outbox) == (outbox.weekly[1],)
    assert unsent_weeks(outbox) == ()
    stopped = ConsentHistory().opt_in(at(1), 1).opt_out(at(17))
    assert due(outbox, at(30), stopped) is None
    assert weekly_started(outbox, W2, SERVER, at(18)) == outbox
    assert restarted(outbox, stopped, SERVER, at(18)) == outbox
    # The server holds it, it is a deletion target like a week sent.
    targets = deletion_requested(outbox, at(18)).deletions
    assert [(row.installation_id, row.endpoint) for row in targets] == [
        (OLD_ID, SERVER)
    ]


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (AttemptResult.ACCEPTED, WeeklyStatus.SENT),
        (AttemptResult.UNAUTHORIZED, WeeklyStatus.DISCARDED),
        (AttemptResult.REDIRECTED, WeeklyStatus.DISCARDED),
        (AttemptResult.TIMEOUT, WeeklyStatus.POSSIBLY_SENT),
        (AttemptResult.SERVER_ERROR, WeeklyStatus.POSSIBLY_SENT),
    ],
)
def test_a_late_answer_settles_a_possibly_sent_week(
    result: AttemptResult, status: WeeklyStatus
) -> None:
    """Accepted means the server holds it; a refusal that it holds nothing."""
    outbox = opted_out(weekly_started(queued(W1), W1, SERVER, at(9)), at(9))
    settled = weekly_finished(outbox, W1, result, at(9), rng=RNG)
    assert statuses(settled) == [status]


def failed(outbox: Outbox, week: date, result: AttemptResult, now: datetime) -> Outbox:
    """Make one attempt at a week that ends with `result`."""
    outbox = weekly_started(outbox, week, SERVER, now)
    return weekly_finished(outbox, week, result, now, rng=RNG)


# Failures after which the server may hold the week, and ones after which not.
MAY_BE_HELD = [
    AttemptResult.CONNECTION_ERROR,  # the answer lost after the server stored it
    AttemptResult.TIMEOUT,
    AttemptResult.SERVER_ERROR,  # a proxy's 502 after the server stored it
    AttemptResult.NON_JSON_BODY,
]
NOTHING_HELD = [AttemptResult.UNREACHABLE, AttemptResult.RATE_LIMITED]


@pytest.mark.parametrize("result", MAY_BE_HELD + NOTHING_HELD)
@pytest.mark.parametrize(
    "stop",
    [
        lambda outbox: opted_out(outbox, at(17)),
        lambda outbox: id_regenerated(outbox, OLD_ID, at(17)),
        lambda outbox: deletion_requested(outbox, at(17)),
        lambda outbox: reconcile(outbox, week_end(W1) + timedelta(weeks=12)),
    ],
    ids=["opt_out", "id_regenerated", "deletion_requested", "expiry"],
)
def test_a_week_a_failed_attempt_may_have_delivered_is_possibly_sent(
    result: AttemptResult, stop: Callable[[Outbox], Outbox]
) -> None:
    """Stopped after such a failure, it is possibly sent, never discarded or expired.

    Only a failure that proves nothing was kept (no connection, a 429) lets
    the row go as unsent.
    """
    outbox = failed(queued(W1), W1, result, at(16))
    assert statuses(outbox) == [WeeklyStatus.PENDING]
    [row] = stop(outbox).weekly
    if result in MAY_BE_HELD:
        assert row.status is WeeklyStatus.POSSIBLY_SENT
    else:
        assert row.status in (WeeklyStatus.DISCARDED, WeeklyStatus.EXPIRED)


def test_a_later_failure_does_not_undo_an_earlier_possible_delivery() -> None:
    """Lost answer, then no connection, then a refusal: the first may have arrived."""
    outbox = failed(queued(W1), W1, AttemptResult.CONNECTION_ERROR, at(16))
    outbox = failed(outbox, W1, AttemptResult.UNREACHABLE, at(17))
    assert statuses(opted_out(outbox, at(18))) == [WeeklyStatus.POSSIBLY_SENT]
    # Cut off in flight, then told "unauthorized" late: still possibly sent ...
    started = opted_out(weekly_started(outbox, W1, SERVER, at(18)), at(18))
    late = weekly_finished(started, W1, AttemptResult.UNAUTHORIZED, at(18), rng=RNG)
    assert statuses(late) == [WeeklyStatus.POSSIBLY_SENT]
    # ... and so after its request was taken back before it began ...
    assert statuses(weekly_not_started(started, W1)) == [WeeklyStatus.POSSIBLY_SENT]
    # ... or refused while still in flight: final, but not "held nowhere".
    refused = failed(outbox, W1, AttemptResult.UNAUTHORIZED, at(18))
    assert statuses(refused) == [WeeklyStatus.POSSIBLY_SENT]
    assert due(refused, at(30)) is None


def test_a_change_of_server_keeps_a_possibly_delivered_week_from_the_new_one() -> None:
    """Lost at the old server, it may be there: possibly sent, not sent again elsewhere.

    A week that never reached the old server goes to the new one.
    """
    outbox = failed(queued(W1, W2), W1, AttemptResult.CONNECTION_ERROR, at(16))
    outbox = failed(outbox, W2, AttemptResult.UNREACHABLE, at(17))
    switched = endpoint_changed(outbox, at(18))
    assert statuses(switched) == [WeeklyStatus.POSSIBLY_SENT, WeeklyStatus.PENDING]


def test_a_week_resent_after_a_restart_stays_possibly_held() -> None:
    """Left in flight by a crash and queued again: stopped, it is possibly sent."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(16))
    outbox = restarted(outbox, CONSENTED, SERVER, at(17))
    assert statuses(outbox) == [WeeklyStatus.PENDING]
    assert statuses(opted_out(outbox, at(17))) == [WeeklyStatus.POSSIBLY_SENT]


def test_a_request_that_never_began_is_not_possibly_sent() -> None:
    """Marked in flight, then stopped before its request: nothing left.

    Stopped by an opt-out, a new id or a deletion request, it is discarded;
    by a change of server alone, it waits for the new server.
    """
    started = weekly_started(queued(W1), W1, SERVER, at(9))
    assert statuses(weekly_not_started(started, W1)) == [WeeklyStatus.PENDING]
    cut_off = opted_out(started, at(9))
    assert statuses(weekly_not_started(cut_off, W1)) == [WeeklyStatus.DISCARDED]
    switched = endpoint_changed(started, at(9))
    assert statuses(weekly_not_started(switched, W1)) == [WeeklyStatus.PENDING]
    # A new id or a deletion request stops the week as an opt-out does.
    for stop in (
        id_regenerated(started, OLD_ID, at(9)),
        deletion_requested(started, at(9)),
    ):
        assert statuses(weekly_not_started(stop, W1)) == [WeeklyStatus.DISCARDED]
    assert weekly_not_started(queued(W1), W1) == queued(W1)
    discarded = opted_out(queued(W1), at(9))  # a late answer changes nothing
    late = weekly_finished(discarded, W1, AttemptResult.ACCEPTED, at(9), rng=RNG)
    assert late == discarded


def test_regenerated_id_discards_the_old_ids_rows() -> None:
    """Rows built with the old id would link old and new: they are discarded."""
    outbox = week_closed(queued(W1), W2, NEW_ID, b"{}", at(16))
    outbox = id_regenerated(outbox, OLD_ID, at(17))
    assert statuses(outbox) == [WeeklyStatus.DISCARDED, WeeklyStatus.PENDING]
    assert outbox.build_from == W4  # the new id's first week is a whole one
    assert id_regenerated(Outbox(), None, at(17)).build_from == W4


@pytest.mark.parametrize(
    ("now", "first"),
    [
        (at(16), W3),  # a week begins right now: it is whole
        (at(16, 0, 1), W4),
        (at(22, 23, 59), W4),
        (at(23), W4),
    ],
)
def test_first_whole_week(now: datetime, first: date) -> None:
    """A new id, like a new consent, starts with a week that begins from now on."""
    assert first_whole_week(now) == first


def test_reconcile_expires_old_rows() -> None:
    """Rows still unsent twelve weeks after their week end expire."""
    outbox = queued(W1)
    end_plus_expiry = week_end(W1) + timedelta(weeks=12)
    just_before = end_plus_expiry - timedelta(seconds=1)
    assert statuses(reconcile(outbox, just_before)) == [WeeklyStatus.PENDING]
    assert due(outbox, end_plus_expiry) is None
    assert next_wakeup(outbox, CONSENTED, end_plus_expiry, has_endpoint=True) is None
    assert statuses(reconcile(outbox, end_plus_expiry)) == [WeeklyStatus.EXPIRED]


def test_reconcile_after_the_clock_ran_ahead() -> None:
    """Times left in the future by a clock that ran ahead are pulled back."""
    ahead = at(9) + timedelta(days=365)
    weekly = week_closed(queued(W1), W2, OLD_ID, b"{}", ahead + timedelta(hours=2))
    weekly = weekly_started(weekly, W1, SERVER, ahead)
    weekly = weekly_finished(weekly, W1, AttemptResult.TIMEOUT, ahead, rng=RNG)
    deletions = deletion_requested(sent(queued(W1), W1, SERVER, at(9)), ahead)
    deletions = deletion_started(deletions, OLD_ID, SERVER)
    deletions = deletion_finished(
        deletions, OLD_ID, SERVER, AttemptResult.TIMEOUT, ahead
    )
    now = at(24)  # the clock is right again
    fixed = reconcile(weekly, now)
    assert fixed.last_weekly_request_at == now
    assert [row.due_at for row in fixed.weekly] == [now + timedelta(hours=24)] * 2
    assert reconcile(deletions, now).deletions[0].due_at == now + timedelta(hours=1)
    assert reconcile(queued(W1), now) == queued(W1)


def test_a_week_is_not_sent_before_it_ends() -> None:
    """After the clock went back, a queued week waits until it has ended again."""
    outbox = queued(W1)
    assert due(outbox, at(8)) is None
    assert next_wakeup(outbox, CONSENTED, at(8), has_endpoint=True) == week_end(W1)


def test_restart_retries_in_flight_rows_with_the_same_key() -> None:
    """A crash mid-request leaves the row in flight; a restart sends it again."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    key = outbox.weekly[0].idempotency_key
    outbox = deletion_requested(outbox, at(9))
    outbox = deletion_started(outbox, OLD_ID, SERVER)
    outbox = restarted(outbox, CONSENTED, SERVER, at(10))
    assert statuses(outbox) == [WeeklyStatus.POSSIBLY_SENT]  # and to be deleted
    assert outbox.deletions[0].status is DeletionStatus.PENDING
    assert outbox.deletions[0].due_at == at(10)
    in_flight = weekly_started(queued(W1), W1, SERVER, at(9))
    crashed = restarted(in_flight, CONSENTED, SERVER, at(10))
    assert statuses(crashed) == [WeeklyStatus.PENDING]
    assert crashed.weekly[0].idempotency_key == key
    assert crashed.weekly[0].due_at == at(10)


@pytest.mark.parametrize(
    ("history", "endpoint"),
    [
        (CONSENTED.opt_out(at(9, 12)), SERVER),  # opted out while it was down
        (CONSENTED, OTHER),  # another server now
        (CONSENTED, None),  # no server now
        (ConsentHistory().opt_in(at(5), 1), SERVER),  # consent does not cover it
    ],
)
def test_a_restart_under_other_settings_keeps_the_week_possibly_sent(
    history: ConsentHistory, endpoint: str | None
) -> None:
    """Only unchanged consent and endpoint resend a week the crash left in flight."""
    in_flight = weekly_started(queued(W1), W1, SERVER, at(9))
    settled = restarted(in_flight, history, endpoint, at(10))
    assert statuses(settled) == [WeeklyStatus.POSSIBLY_SENT]


def test_a_restart_looks_at_the_endpoint_of_the_last_attempt() -> None:
    """Tried at one server, then another, then the first again: the first counts."""
    outbox = queued(W1)
    for endpoint in (SERVER, OTHER):
        outbox = weekly_started(outbox, W1, endpoint, at(9))
        outbox = weekly_finished(outbox, W1, AttemptResult.TIMEOUT, at(9), rng=RNG)
    outbox = weekly_started(outbox, W1, SERVER, at(12))
    assert outbox.weekly[0].endpoints == (OTHER, SERVER)
    assert statuses(restarted(outbox, CONSENTED, SERVER, at(13))) == [
        WeeklyStatus.PENDING
    ]
    assert statuses(restarted(outbox, CONSENTED, OTHER, at(13))) == [
        WeeklyStatus.POSSIBLY_SENT
    ]


def test_deletion_requests_go_to_every_endpoint_used() -> None:
    """One request per id and endpoint a week went to; sent first, even opted out."""
    outbox = sent(queued(W1), W1, SERVER, at(9))
    outbox = week_closed(outbox, W2, NEW_ID, b"{}", at(16))
    outbox = weekly_started(outbox, W2, OTHER, at(16))  # its answer never came
    outbox = week_closed(outbox, W3, NEW_ID, b"{}", at(23))  # never tried
    outbox = deletion_requested(outbox, at(17))
    assert statuses(outbox) == [
        WeeklyStatus.SENT,
        WeeklyStatus.POSSIBLY_SENT,  # cut off in flight
        WeeklyStatus.DISCARDED,
    ]
    assert [(row.installation_id, row.endpoint) for row in outbox.deletions] == [
        (NEW_ID, OTHER),
        (OLD_ID, SERVER),
    ]
    offered = due(outbox, at(17), ConsentHistory())
    assert isinstance(offered, DeletionDue)
    assert deletion_requested(outbox, at(18)).deletions == outbox.deletions


def test_a_week_tried_at_two_endpoints() -> None:
    """A week that went to two servers gets a request at each; both must confirm."""
    outbox = weekly_started(queued(W1), W1, SERVER, at(9))
    outbox = weekly_finished(outbox, W1, AttemptResult.TIMEOUT, at(9), rng=RNG)
    outbox = sent(outbox, W1, OTHER, at(11))
    assert outbox.weekly[0].endpoints == (SERVER, OTHER)
    outbox = sent(week_closed(outbox, W2, NEW_ID, b"{}", at(16)), W2, SERVER, at(16))
    outbox = deletion_requested(outbox, at(17))
    assert [(row.installation_id, row.endpoint) for row in outbox.deletions] == [
        (NEW_ID, SERVER),
        (OLD_ID, OTHER),
        (OLD_ID, SERVER),
    ]
    for endpoint, remaining in ((SERVER, (OTHER,)), (OTHER, None)):
        outbox = deletion_started(outbox, OLD_ID, endpoint)
        outbox = deletion_finished(
            outbox, OLD_ID, endpoint, AttemptResult.ACCEPTED, at(17)
        )
        old_rows = [row for row in outbox.weekly if row.installation_id == OLD_ID]
        assert (old_rows[0].endpoints if old_rows else None) == remaining
    assert [row.installation_id for row in outbox.weekly] == [NEW_ID]


def test_deletions_queued_adds_only_what_is_not_waiting() -> None:
    """A pair with a request waiting keeps it; others get one, due now."""
    outbox = deletion_requested(sent(queued(W1), W1, SERVER, at(9)), at(17))
    again = deletions_queued(outbox, [(OLD_ID, SERVER), (NEW_ID, SERVER)], at(18))
    assert again.deletions[0] == outbox.deletions[0]
    assert again.deletions[1:] == (DeletionRow(NEW_ID, SERVER, due_at=at(18)),)
    assert again.weekly == outbox.weekly


def test_deletion_schedule_and_acknowledgement() -> None:
    """1, 5 and 15 minutes, then hourly; never dropped; 2xx or 404 acknowledges."""
    outbox = deletion_requested(sent(queued(W1), W1, SERVER, at(9)), at(17))
    now = at(17)
    waits = []
    for result in (
        AttemptResult.TIMEOUT,
        AttemptResult.SERVER_ERROR,
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.RATE_LIMITED,
    ):
        outbox = deletion_started(outbox, OLD_ID, SERVER)
        outbox = deletion_finished(outbox, OLD_ID, SERVER, result, now)
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
    assert next_wakeup(outbox, ConsentHistory(), now, has_endpoint=False) == now
    earlier = now - timedelta(minutes=30)
    assert endpoint_changed(outbox, earlier).deletions[0].due_at == earlier
    for result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
        started = deletion_started(outbox, OLD_ID, SERVER)
        done = deletion_finished(started, OLD_ID, SERVER, result, now)
        assert done.deletions[0].status is DeletionStatus.ACKNOWLEDGED
        assert done.weekly == ()  # the local copies of what it sent are gone
        assert due(done, now + timedelta(days=1)) is None
        assert deletion_started(done, OLD_ID, SERVER) == done
        assert forget_acknowledged(done).deletions == ()
    assert deletion_finished(outbox, OLD_ID, SERVER, AttemptResult.ACCEPTED, now) == (
        outbox
    )  # nothing was in flight


def test_local_deletion_keeps_waiting_deletion_requests() -> None:
    """Deleting local data forgets weekly rows but not unacknowledged requests."""
    outbox = sent(queued(W1), W1, SERVER, at(9))
    outbox = deletion_requested(outbox, at(17))
    outbox = deletion_started(outbox, OLD_ID, SERVER)
    outbox = locally_deleted(outbox, at(18))
    assert outbox.weekly == ()
    assert [row.status for row in outbox.deletions] == [DeletionStatus.IN_FLIGHT]
    assert outbox.build_from == W4
    acknowledged = deletion_finished(
        outbox, OLD_ID, SERVER, AttemptResult.ACCEPTED, at(18)
    )
    assert locally_deleted(acknowledged, at(18)).deletions == ()


def test_endpoint_change_leaves_other_rows() -> None:
    """Only waiting deletion requests are moved forward."""
    outbox = deletion_requested(sent(queued(W1), W1, SERVER, at(9)), at(17))
    outbox = deletion_started(outbox, OLD_ID, SERVER)
    assert endpoint_changed(outbox, at(18)) == outbox


def test_a_changed_key_retries_waiting_deletions_and_nothing_else() -> None:
    """Waiting requests are due at once; one in flight, and the weeks, are left."""
    outbox = deletion_requested(sent(queued(W1), W1, SERVER, at(9)), at(17))
    refused = deletion_finished(
        deletion_started(outbox, OLD_ID, SERVER),
        OLD_ID,
        SERVER,
        AttemptResult.UNAUTHORIZED,
        at(17),
    )
    assert refused.deletions[0].due_at > at(17)
    retried = deletions_retried(refused, at(17))
    assert retried.deletions[0].due_at == at(17)
    assert retried.weekly == refused.weekly
    in_flight = deletion_started(refused, OLD_ID, SERVER)
    assert deletions_retried(in_flight, at(18)) == in_flight


def test_an_endpoint_change_cuts_off_the_week_in_flight() -> None:
    """Its request went to the server left behind: possibly sent there, not resent."""
    outbox = weekly_started(queued(W1, W2), W1, SERVER, at(16))
    outbox = endpoint_changed(outbox, at(16))
    assert statuses(outbox) == [WeeklyStatus.POSSIBLY_SENT, WeeklyStatus.PENDING]
    assert outbox.weekly[0].endpoints == (SERVER,)
    assert due(outbox, at(30)) == WeeklyDue(outbox.weekly[1])


def test_a_forgotten_week_is_never_built_again() -> None:
    """A clock that went back at the deletion request cannot reopen a sent week.

    Acknowledging the deletion forgets the week's row; the floor must still
    sit above it, or the week would be built and sent again under a new id.
    """
    outbox = sent(queued(W2), W2, SERVER, at(16, 1))
    outbox = deletion_requested(outbox, at(15))  # the clock is a day behind
    assert outbox.build_from == W3
    outbox = deletion_started(outbox, OLD_ID, SERVER)
    outbox = deletion_finished(outbox, OLD_ID, SERVER, AttemptResult.ACCEPTED, at(16))
    assert outbox.weekly == ()
    later = at(24)
    assert weeks_to_build(outbox, CONSENTED, later, has_endpoint=True) == [W3]


def test_next_submission_shown_to_the_user() -> None:
    """The queued week's time, else the first covered week's end plus the offset."""
    offset = timedelta(hours=7, minutes=30)
    mid_week_consent = ConsentHistory().opt_in(at(18, 15), 1)  # a Wednesday

    def planned(outbox: Outbox, history: ConsentHistory, now: datetime) -> object:
        return next_submission_at(outbox, history, now, offset, has_endpoint=True)

    assert (
        planned(Outbox(), mid_week_consent, at(19))
        == week_end(date(2026, 11, 23)) + offset
    )
    assert planned(Outbox(), CONSENTED, at(19)) == week_end(W3) + offset
    outbox = queued(W2)
    assert planned(outbox, CONSENTED, at(19)) == week_end(W2)
    assert planned(outbox, ConsentHistory(), at(19)) is None
    assert (
        next_submission_at(outbox, CONSENTED, at(19), offset, has_endpoint=False)
        is None
    )


def test_send_now_keeps_the_hourly_limit() -> None:
    """Asking to send now makes pending weeks due, never two within an hour."""
    outbox = Outbox()
    for week in (W1, W2):
        outbox = week_closed(outbox, week, OLD_ID, b"{}", at(20))
    assert due(outbox, at(18)) is None
    outbox = send_now_requested(outbox, at(18))
    offered = due(outbox, at(18))
    assert isinstance(offered, WeeklyDue)
    assert offered.row.period_start == W1
    outbox = sent(outbox, W1, SERVER, at(18))
    assert due(outbox, at(18, 0, 30)) is None  # the hour is not over
    assert send_now_requested(outbox, at(18, 0, 30)).weekly[0] == outbox.weekly[0]


def test_unsent_weeks_and_waiting_deletions() -> None:
    """What the sensors count: rows still to go, requests not yet confirmed."""
    outbox = weekly_started(queued(W1, W2), W1, SERVER, at(9))
    outbox = sent(outbox, W2, SERVER, at(16))
    outbox = week_closed(outbox, W3, OLD_ID, b"{}", at(23))
    assert [row.period_start for row in unsent_weeks(outbox)] == [W1, W3]
    outbox = deletion_requested(outbox, at(17))
    assert [row.endpoint for row in waiting_deletions(outbox)] == [SERVER]
    outbox = deletion_started(outbox, OLD_ID, SERVER)
    assert len(waiting_deletions(outbox)) == 1
    done = deletion_finished(outbox, OLD_ID, SERVER, AttemptResult.ACCEPTED, at(17))
    assert waiting_deletions(done) == ()
