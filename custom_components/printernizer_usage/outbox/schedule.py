"""When rows are due: spacing, back-off, expiry and what may be sent next."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

from ..consent import ConsentHistory, week_is_eligible
from ..payload import WEEK, week_bounds, week_start
from .rows import (
    DeletionDue,
    DeletionStatus,
    Outbox,
    WeeklyDue,
    WeeklyRow,
    WeeklyStatus,
)

WEEKLY_REQUEST_SPACING: Final = timedelta(hours=1)
FIRST_BACKOFF: Final = timedelta(hours=1)
MAX_BACKOFF: Final = timedelta(hours=24)
BACKOFF_JITTER: Final = 0.10
MIN_RATE_LIMIT_WAIT: Final = timedelta(hours=1)
# No pending weekly row waits longer than this once scheduled (send offset,
# back-off, Retry-After); a later due time means the clock had run ahead.
MAX_WEEKLY_WAIT: Final = timedelta(hours=24)
EXPIRY: Final = timedelta(weeks=12)
DELETION_BACKOFF: Final = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)


def is_expired(week: date, now: datetime) -> bool:
    """Tell whether a week ended more than the expiry ago; it is never sent then."""
    return week_bounds(week)[1] + EXPIRY <= now


def _weekly_ready_at(outbox: Outbox, row: WeeklyRow) -> datetime:
    """Return when a row may go: due, its week over, an hour after the last request."""
    ready = max(row.due_at, week_bounds(row.period_start)[1])
    last = outbox.last_weekly_request_at
    return ready if last is None else max(ready, last + WEEKLY_REQUEST_SPACING)


def _sendable_weeks(
    outbox: Outbox, history: ConsentHistory, now: datetime, has_endpoint: bool
) -> list[WeeklyRow]:
    """Return pending rows that may still go, oldest week first."""
    if not history.sharing or not has_endpoint:
        return []
    return sorted(
        (
            row
            for row in outbox.weekly
            if row.status is WeeklyStatus.PENDING
            and not is_expired(row.period_start, now)
            and week_is_eligible(history, row.period_start)
        ),
        key=lambda row: row.period_start,
    )


def next_due(
    outbox: Outbox, history: ConsentHistory, now: datetime, *, has_endpoint: bool
) -> WeeklyDue | DeletionDue | None:
    """Return what may be sent now: deletion requests first, then one week.

    A weekly row is offered only while the user shares, an endpoint is set and
    its week is still allowed by the consent rule, so that is checked again
    before every request.
    """
    for deletion in outbox.deletions:
        if deletion.status is DeletionStatus.PENDING and deletion.due_at <= now:
            return DeletionDue(deletion)
    for row in _sendable_weeks(outbox, history, now, has_endpoint):
        if _weekly_ready_at(outbox, row) <= now:
            return WeeklyDue(row)
    return None


def next_wakeup(
    outbox: Outbox, history: ConsentHistory, now: datetime, *, has_endpoint: bool
) -> datetime | None:
    """Return when something next becomes due (for the one timer), if ever."""
    times = [
        row.due_at for row in outbox.deletions if row.status is DeletionStatus.PENDING
    ]
    times += [
        _weekly_ready_at(outbox, row)
        for row in _sendable_weeks(outbox, history, now, has_endpoint)
    ]
    return min(times, default=None)


def next_submission_at(
    outbox: Outbox,
    history: ConsentHistory,
    now: datetime,
    send_offset: timedelta,
    *,
    has_endpoint: bool,
) -> datetime | None:
    """Return when the next weekly submission is planned, for the user to see.

    A queued week goes when it is ready. Otherwise the first week that consent
    covers from now on goes its send offset after it ends. Nothing is planned
    while the user does not share or no endpoint is set.
    """
    if not history.sharing or not has_endpoint:
        return None
    queued = [
        _weekly_ready_at(outbox, row)
        for row in _sendable_weeks(outbox, history, now, has_endpoint)
    ]
    if queued:
        return min(queued)
    week = week_start(now.date())
    if not week_is_eligible(history, week):
        week += WEEK
    return week_bounds(week)[1] + send_offset
