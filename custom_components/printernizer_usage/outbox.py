"""When anything is sent: a pure state machine over weekly and deletion rows.

Weekly rows hold the exact bytes of one week's payload; they are created only
for weeks the consent rule allows, sent only while the user still shares, at
most one request per rolling hour, and never again after a success. Deletion
requests have their own faster schedule and are never dropped automatically.
Accepting a newer policy changes no row: a week's fields were fixed by the
consent in force at its start. Every function here returns a new Outbox;
persisting it is the store's job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
import hashlib
import json
import random
from typing import Final

from .consent import ConsentHistory, week_is_eligible
from .payload import WEEK, day_stamp, week_bounds

WEEKLY_REQUEST_SPACING: Final = timedelta(hours=1)
FIRST_BACKOFF: Final = timedelta(hours=1)
MAX_BACKOFF: Final = timedelta(hours=24)
BACKOFF_JITTER: Final = 0.10
MIN_RATE_LIMIT_WAIT: Final = timedelta(hours=1)
EXPIRY: Final = timedelta(weeks=12)
DELETION_BACKOFF: Final = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)


class WeeklyStatus(StrEnum):
    """Where a week's submission stands."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DISCARDED = "discarded"


class DeletionStatus(StrEnum):
    """Where a request to delete submitted data stands."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    ACKNOWLEDGED = "acknowledged"


class AttemptResult(StrEnum):
    """What one request to the collection server came back with."""

    ACCEPTED = "accepted"
    NOT_FOUND = "not_found"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    INVALID_PAYLOAD = "invalid_payload"
    CLIENT_ERROR = "client_error"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    NON_JSON_BODY = "non_json_body"


_REJECTIONS: Final = frozenset(
    {
        AttemptResult.NOT_FOUND,
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.INVALID_PAYLOAD,
        AttemptResult.CLIENT_ERROR,
    }
)


def classify_response(status: int, body: bytes) -> AttemptResult:
    """Classify an HTTP answer of the collection server."""
    if 200 <= status < 300:
        try:
            json.loads(body)
        except ValueError:
            return AttemptResult.NON_JSON_BODY
        return AttemptResult.ACCEPTED
    known = {
        401: AttemptResult.UNAUTHORIZED,
        403: AttemptResult.FORBIDDEN,
        404: AttemptResult.NOT_FOUND,
        422: AttemptResult.INVALID_PAYLOAD,
        429: AttemptResult.RATE_LIMITED,
    }
    if status in known:
        return known[status]
    if 400 <= status < 500:
        return AttemptResult.CLIENT_ERROR
    return AttemptResult.SERVER_ERROR


def idempotency_key(installation_id: str, period_start: date) -> str:
    """Return the key that lets a server recognise a repeated week."""
    text = f"{installation_id}{day_stamp(period_start)}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WeeklyRow:
    """One week's submission: the exact bytes, and where sending stands."""

    period_start: date
    installation_id: str
    body: bytes
    due_at: datetime
    status: WeeklyStatus = WeeklyStatus.PENDING
    attempts: int = 0
    last_result: AttemptResult | None = None
    # The collection server it was sent to, so a deletion request finds it.
    endpoint: str | None = None

    @property
    def idempotency_key(self) -> str:
        """Return the key sent with every attempt, retries after a crash included."""
        return idempotency_key(self.installation_id, self.period_start)


@dataclass(frozen=True, slots=True)
class DeletionRow:
    """A request to delete everything one installation id ever submitted."""

    installation_id: str
    endpoint: str
    due_at: datetime
    status: DeletionStatus = DeletionStatus.PENDING
    attempts: int = 0
    last_result: AttemptResult | None = None


@dataclass(frozen=True, slots=True)
class Outbox:
    """All rows, and when the last weekly request went out."""

    weekly: tuple[WeeklyRow, ...] = ()
    deletions: tuple[DeletionRow, ...] = ()
    last_weekly_request_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WeeklyDue:
    """A weekly row that may be sent now."""

    row: WeeklyRow


@dataclass(frozen=True, slots=True)
class DeletionDue:
    """A deletion request that may be sent now."""

    row: DeletionRow


def _with_weekly(
    outbox: Outbox, period_start: date, update: Callable[[WeeklyRow], WeeklyRow]
) -> Outbox:
    return replace(
        outbox,
        weekly=tuple(
            update(row) if row.period_start == period_start else row
            for row in outbox.weekly
        ),
    )


def _with_deletion(
    outbox: Outbox, installation_id: str, update: Callable[[DeletionRow], DeletionRow]
) -> Outbox:
    return replace(
        outbox,
        deletions=tuple(
            update(row) if row.installation_id == installation_id else row
            for row in outbox.deletions
        ),
    )


def _discard_weekly(outbox: Outbox, installation_ids: set[str] | None) -> Outbox:
    """Discard unsent weekly rows (of some ids, or all); they are never sent."""
    return replace(
        outbox,
        weekly=tuple(
            replace(row, status=WeeklyStatus.DISCARDED)
            if row.status in (WeeklyStatus.PENDING, WeeklyStatus.IN_FLIGHT)
            and (installation_ids is None or row.installation_id in installation_ids)
            else row
            for row in outbox.weekly
        ),
    )


# ----- events ---------------------------------------------------------------------


def week_closed(
    outbox: Outbox,
    period_start: date,
    installation_id: str,
    body: bytes,
    due_at: datetime,
) -> Outbox:
    """Queue a closed week's payload; a week gets one row, ever."""
    if any(row.period_start == period_start for row in outbox.weekly):
        return outbox
    row = WeeklyRow(period_start, installation_id, body, due_at)
    return replace(outbox, weekly=(*outbox.weekly, row))


def weeks_to_build(
    outbox: Outbox, history: ConsentHistory, first_week: date, now: datetime
) -> list[date]:
    """Return the closed weeks, from first_week on, that may be queued now.

    A week is built only once it has ended, only if the consent rule allows it
    and the user still shares, and only if it has no row yet (whatever became
    of it) and has not outlived the expiry.
    """
    if not history.sharing:
        return []
    known = {row.period_start for row in outbox.weekly}
    weeks: list[date] = []
    week = first_week
    while week_bounds(week)[1] <= now:
        if (
            week not in known
            and week_bounds(week)[1] + EXPIRY > now
            and week_is_eligible(history, week)
        ):
            weeks.append(week)
        week += WEEK
    return weeks


def opted_out(outbox: Outbox) -> Outbox:
    """Stop at once: every unsent weekly row is discarded."""
    return _discard_weekly(outbox, None)


def id_regenerated(outbox: Outbox, old_id: str) -> Outbox:
    """Discard unsent rows of the old id: sending them would link old and new."""
    return _discard_weekly(outbox, {old_id})


def deletion_requested(
    outbox: Outbox, submitted_to: Mapping[str, str], now: datetime
) -> Outbox:
    """Queue one deletion request per id that ever submitted, to where it went.

    Unsent weekly rows of those ids are discarded; an id that already has a
    request waiting keeps it.
    """
    waiting = {
        row.installation_id
        for row in outbox.deletions
        if row.status is not DeletionStatus.ACKNOWLEDGED
    }
    added = tuple(
        DeletionRow(installation_id, endpoint, due_at=now)
        for installation_id, endpoint in submitted_to.items()
        if installation_id not in waiting
    )
    outbox = _discard_weekly(outbox, set(submitted_to))
    return replace(outbox, deletions=(*outbox.deletions, *added))


def locally_deleted(outbox: Outbox) -> Outbox:
    """Forget every weekly row; keep deletion requests until acknowledged."""
    return replace(
        outbox,
        weekly=(),
        deletions=tuple(
            row
            for row in outbox.deletions
            if row.status is not DeletionStatus.ACKNOWLEDGED
        ),
    )


def restarted(outbox: Outbox, now: datetime) -> Outbox:
    """Rows a crash left in flight are retried at once, with the same key."""
    return replace(
        outbox,
        weekly=tuple(
            replace(row, status=WeeklyStatus.PENDING, due_at=now)
            if row.status is WeeklyStatus.IN_FLIGHT
            else row
            for row in outbox.weekly
        ),
        deletions=tuple(
            replace(row, status=DeletionStatus.PENDING, due_at=now)
            if row.status is DeletionStatus.IN_FLIGHT
            else row
            for row in outbox.deletions
        ),
    )


def endpoint_changed(outbox: Outbox, now: datetime) -> Outbox:
    """Retry waiting deletion requests at once after the endpoint settings changed."""
    return replace(
        outbox,
        deletions=tuple(
            replace(row, due_at=now) if row.status is DeletionStatus.PENDING else row
            for row in outbox.deletions
        ),
    )


def expire(outbox: Outbox, now: datetime) -> Outbox:
    """Weekly rows still unsent twelve weeks after their week are given up."""
    return replace(
        outbox,
        weekly=tuple(
            replace(row, status=WeeklyStatus.EXPIRED)
            if row.status is WeeklyStatus.PENDING
            and week_bounds(row.period_start)[1] + EXPIRY <= now
            else row
            for row in outbox.weekly
        ),
    )


# ----- sending --------------------------------------------------------------------


def _weekly_allowed_at(outbox: Outbox, row: WeeklyRow) -> datetime:
    """Return when a row may go: when due, and an hour after the last request."""
    last = outbox.last_weekly_request_at
    if last is None:
        return row.due_at
    return max(row.due_at, last + WEEKLY_REQUEST_SPACING)


def next_due(
    outbox: Outbox, history: ConsentHistory, now: datetime
) -> WeeklyDue | DeletionDue | None:
    """Return what may be sent now: deletion requests first, then one week.

    A weekly row is offered only while the user shares and its week is still
    allowed by the consent rule; this is checked again before every request.
    """
    for deletion in outbox.deletions:
        if deletion.status is DeletionStatus.PENDING and deletion.due_at <= now:
            return DeletionDue(deletion)
    if not history.sharing:
        return None
    for row in sorted(outbox.weekly, key=lambda row: row.period_start):
        if (
            row.status is WeeklyStatus.PENDING
            and _weekly_allowed_at(outbox, row) <= now
            and week_bounds(row.period_start)[1] + EXPIRY > now
            and week_is_eligible(history, row.period_start)
        ):
            return WeeklyDue(row)
    return None


def next_wakeup(outbox: Outbox, history: ConsentHistory) -> datetime | None:
    """Return when something next becomes due (for the one timer), if ever."""
    times = [
        row.due_at for row in outbox.deletions if row.status is DeletionStatus.PENDING
    ]
    if history.sharing:
        times += [
            _weekly_allowed_at(outbox, row)
            for row in outbox.weekly
            if row.status is WeeklyStatus.PENDING
        ]
    return min(times, default=None)


def weekly_started(
    outbox: Outbox, period_start: date, endpoint: str, now: datetime
) -> Outbox:
    """Mark a week as being sent (so a crash leaves evidence) and count the request."""
    outbox = _with_weekly(
        outbox,
        period_start,
        lambda row: replace(
            row,
            status=WeeklyStatus.IN_FLIGHT,
            attempts=row.attempts + 1,
            endpoint=endpoint,
        ),
    )
    return replace(outbox, last_weekly_request_at=now)


def weekly_finished(
    outbox: Outbox,
    period_start: date,
    result: AttemptResult,
    now: datetime,
    *,
    rng: random.Random,
    retry_after: timedelta | None = None,
) -> Outbox:
    """Record a weekly attempt's result and when to try again, if ever."""

    def update(row: WeeklyRow) -> WeeklyRow:
        if row.status is not WeeklyStatus.IN_FLIGHT:
            return row  # discarded by an opt-out while the request ran
        if result is AttemptResult.ACCEPTED:
            status, due_at = WeeklyStatus.SENT, row.due_at
        elif result in _REJECTIONS:
            status, due_at = WeeklyStatus.REJECTED, row.due_at
        elif result is AttemptResult.RATE_LIMITED:
            wait = max(MIN_RATE_LIMIT_WAIT, retry_after or timedelta(0))
            status, due_at = WeeklyStatus.PENDING, now + wait
        else:
            backoff = min(FIRST_BACKOFF * 2 ** (row.attempts - 1), MAX_BACKOFF)
            jitter = rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
            status, due_at = WeeklyStatus.PENDING, now + backoff * jitter
        return replace(row, status=status, due_at=due_at, last_result=result)

    return _with_weekly(outbox, period_start, update)


def deletion_started(outbox: Outbox, installation_id: str) -> Outbox:
    """Mark a deletion request as being sent."""
    return _with_deletion(
        outbox,
        installation_id,
        lambda row: replace(
            row, status=DeletionStatus.IN_FLIGHT, attempts=row.attempts + 1
        ),
    )


def deletion_finished(
    outbox: Outbox, installation_id: str, result: AttemptResult, now: datetime
) -> Outbox:
    """Record a deletion attempt: acknowledged on 2xx or 404, else retried.

    A refused key (401/403) keeps the request too: the user is told, and a
    change of the endpoint settings retries it at once.
    """

    def update(row: DeletionRow) -> DeletionRow:
        if result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
            return replace(row, status=DeletionStatus.ACKNOWLEDGED, last_result=result)
        step = DELETION_BACKOFF[min(row.attempts, len(DELETION_BACKOFF)) - 1]
        return replace(
            row, status=DeletionStatus.PENDING, due_at=now + step, last_result=result
        )

    return _with_deletion(outbox, installation_id, update)
