"""When anything is sent: a pure state machine over weekly and deletion rows.

Weekly rows hold the exact bytes of one week's payload. A week is queued only
after it has ended, only if the consent rule allows it, only while the user
shares and an endpoint is set, and only once; it is sent only while all of
that still holds, at most one request per rolling hour, and never again after
a success. Opting out, replacing the id, requesting deletion and deleting
local data discard every unsent row and move a floor below which no week is
ever built again. Deletion requests, one per id and endpoint it submitted to,
have their own faster schedule and are never dropped until acknowledged.

A row a crash left in flight is sent again with the same Idempotency-Key if
consent and the endpoint are what they were: a server that knows the key drops
the repeat; one that ignores it (as the documented server does) may then hold
that week twice, which the alternative, never retrying, would trade for losing
the week. A request cut off by an opt-out, an endpoint change, or a restart
under other consent or another endpoint may have reached its server: its row
is possibly sent, never taken for unsent, and stays a deletion target.

Accepting a newer policy changes no row: a week's fields were fixed by the
consent in force at its start. Every function returns a new Outbox; keeping
it is the store's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
import hashlib
import json
import random
from typing import Final

from .consent import ConsentHistory, week_is_eligible
from .payload import WEEK, day_stamp, week_bounds, week_start

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


class WeeklyStatus(StrEnum):
    """Where a week's submission stands."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    # Its request was cut off after it began: the server may hold the week.
    POSSIBLY_SENT = "possibly_sent"
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
    # Lost after the connection opened: the request may have arrived.
    CONNECTION_ERROR = "connection_error"
    # No connection could be opened (refused, name or TLS failure): nothing left.
    UNREACHABLE = "unreachable"
    NON_JSON_BODY = "non_json_body"
    # A 3xx: following it could carry the request elsewhere or to plain http.
    REDIRECTED = "redirected"


_REJECTIONS: Final = frozenset(
    {
        AttemptResult.NOT_FOUND,
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.INVALID_PAYLOAD,
        AttemptResult.CLIENT_ERROR,
        AttemptResult.REDIRECTED,
    }
)
# The server kept nothing of an attempt that ended so; any other failure may
# have come after it stored the week (an answer lost, a proxy's 502).
_NOTHING_KEPT: Final = _REJECTIONS | {
    AttemptResult.RATE_LIMITED,
    AttemptResult.UNREACHABLE,
}
_CLIENT_ERRORS: Final = {
    401: AttemptResult.UNAUTHORIZED,
    403: AttemptResult.FORBIDDEN,
    404: AttemptResult.NOT_FOUND,
    422: AttemptResult.INVALID_PAYLOAD,
}


def is_rejection(result: AttemptResult) -> bool:
    """Tell whether a result is the server's final refusal of a request."""
    return result in _REJECTIONS


def classify_response(status: int, body: bytes) -> AttemptResult:
    """Classify an HTTP answer of the collection server.

    Any 2xx means the server stored the submission, whatever its body. A 3xx
    is never followed (HTTPS-only and the key's confinement forbid it) and so
    is a refusal. A 4xx whose body is not JSON did not come from the collection
    server (a proxy page, say), so it is retried rather than taken as a verdict.
    """
    if 200 <= status < 300:
        return AttemptResult.ACCEPTED
    if 300 <= status < 400:
        return AttemptResult.REDIRECTED
    if status == 429:
        return AttemptResult.RATE_LIMITED
    if not 400 <= status < 500:
        return AttemptResult.SERVER_ERROR
    try:
        json.loads(body)
    except (ValueError, RecursionError):  # too deeply nested is not JSON to us
        return AttemptResult.NON_JSON_BODY
    return _CLIENT_ERRORS.get(status, AttemptResult.CLIENT_ERROR)


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
    # Every endpoint it was sent to (tried at least), so deletion goes there too.
    endpoints: tuple[str, ...] = ()
    # A failed attempt may have reached the server: stopping the row leaves
    # it possibly sent, never discarded or expired.
    may_be_held: bool = False

    @property
    def idempotency_key(self) -> str:
        """Return the key sent with every attempt, retries after a crash included."""
        return idempotency_key(self.installation_id, self.period_start)


@dataclass(frozen=True, slots=True)
class DeletionRow:
    """A request to delete what one installation id submitted to one endpoint."""

    installation_id: str
    endpoint: str
    due_at: datetime
    status: DeletionStatus = DeletionStatus.PENDING
    attempts: int = 0
    last_result: AttemptResult | None = None


@dataclass(frozen=True, slots=True)
class Outbox:
    """All rows, when the last weekly request went out, and the building floor."""

    weekly: tuple[WeeklyRow, ...] = ()
    deletions: tuple[DeletionRow, ...] = ()
    last_weekly_request_at: datetime | None = None
    # No week starting before this Monday is ever built (again).
    build_from: date | None = None


@dataclass(frozen=True, slots=True)
class WeeklyDue:
    """A weekly row that may be sent now."""

    row: WeeklyRow


@dataclass(frozen=True, slots=True)
class DeletionDue:
    """A deletion request that may be sent now."""

    row: DeletionRow


_UNSENT: Final = (WeeklyStatus.PENDING, WeeklyStatus.IN_FLIGHT)
_WAITING: Final = (DeletionStatus.PENDING, DeletionStatus.IN_FLIGHT)


def unsent_weeks(outbox: Outbox) -> tuple[WeeklyRow, ...]:
    """Return the weekly rows still to be sent (one may be in flight)."""
    return tuple(row for row in outbox.weekly if row.status in _UNSENT)


def possibly_sent_weeks(outbox: Outbox) -> tuple[WeeklyRow, ...]:
    """Return the weeks whose request was cut off after it began."""
    return tuple(
        row for row in outbox.weekly if row.status is WeeklyStatus.POSSIBLY_SENT
    )


def waiting_deletions(outbox: Outbox) -> tuple[DeletionRow, ...]:
    """Return the deletion requests the server has not acknowledged yet."""
    return tuple(row for row in outbox.deletions if row.status in _WAITING)


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
    outbox: Outbox,
    installation_id: str,
    endpoint: str,
    update: Callable[[DeletionRow], DeletionRow],
) -> Outbox:
    return replace(
        outbox,
        deletions=tuple(
            update(row)
            if (row.installation_id, row.endpoint) == (installation_id, endpoint)
            else row
            for row in outbox.deletions
        ),
    )


def _stop_unsent(
    outbox: Outbox, installation_ids: set[str] | None, now: datetime
) -> Outbox:
    """Discard unsent weekly rows (of some ids, or all) and raise the floor.

    A row in flight is cut off rather than discarded: it is possibly sent.
    The floor is the first week that begins from now on, so the week under
    way is never built either: an id made next starts with a whole week, as
    a fresh installation's first id does after consent. The floor also clears
    every week that has a row, so a clock that went back cannot lower it
    below a week that was sent (and whose row a deletion may later forget).
    """
    floor = max(
        [first_whole_week(now)] + [row.period_start + WEEK for row in outbox.weekly]
    )
    return replace(
        outbox,
        weekly=tuple(
            _cut_off(row)
            if row.status in _UNSENT
            and (installation_ids is None or row.installation_id in installation_ids)
            else row
            for row in outbox.weekly
        ),
        build_from=floor
        if outbox.build_from is None
        else max(outbox.build_from, floor),
    )


def first_whole_week(now: datetime) -> date:
    """Return the first week that begins at or after `now`."""
    week = week_start(now.date())
    return week if week_bounds(week)[0] == now else week + WEEK


def _cut_off(row: WeeklyRow) -> WeeklyRow:
    """Stop an unsent row: possibly sent if it may have arrived, else discarded."""
    return _stopped(row, WeeklyStatus.DISCARDED)


def _stopped(row: WeeklyRow, status: WeeklyStatus) -> WeeklyRow:
    """Stop a row with `status`, or as possibly sent if the server may hold it."""
    if row.status is WeeklyStatus.IN_FLIGHT or row.may_be_held:
        return replace(row, status=WeeklyStatus.POSSIBLY_SENT)
    return replace(row, status=status)


def _expired(week: date, now: datetime) -> bool:
    """Tell whether a week ended more than the expiry ago; it is never sent then."""
    return week_bounds(week)[1] + EXPIRY <= now


# ----- events ---------------------------------------------------------------------


def weeks_to_build(
    outbox: Outbox, history: ConsentHistory, now: datetime, *, has_endpoint: bool
) -> list[date]:
    """Return the closed weeks that may be queued now.

    Nothing is queued while the user does not share or no endpoint is set. A
    week qualifies once it has ended, if the consent rule allows it, if it is
    not below the floor, has no row yet (whatever became of it) and has not
    outlived the expiry.
    """
    if not history.sharing or not has_endpoint:
        return []
    first_consent = next(change.at for change in history.changes if change.share)
    week = week_start(first_consent.date())
    if outbox.build_from is not None:
        week = max(week, outbox.build_from)
    known = {row.period_start for row in outbox.weekly}
    weeks: list[date] = []
    while week_bounds(week)[1] <= now:
        if (
            week not in known
            and not _expired(week, now)
            and week_is_eligible(history, week)
        ):
            weeks.append(week)
        week += WEEK
    return weeks


def week_closed(
    outbox: Outbox,
    period_start: date,
    installation_id: str,
    body: bytes,
    due_at: datetime,
) -> Outbox:
    """Queue a closed week's payload; a week gets one row, and none below the floor."""
    if any(row.period_start == period_start for row in outbox.weekly) or (
        outbox.build_from is not None and period_start < outbox.build_from
    ):
        return outbox
    row = WeeklyRow(period_start, installation_id, body, due_at)
    return replace(outbox, weekly=(*outbox.weekly, row))


def opted_out(outbox: Outbox, now: datetime) -> Outbox:
    """Stop at once: every unsent weekly row is discarded, no older week is built."""
    return _stop_unsent(outbox, None, now)


def id_regenerated(outbox: Outbox, old_id: str | None, now: datetime) -> Outbox:
    """Discard unsent rows of the old id: sending them would link old and new.

    The next id's first week is the next whole one, with or without an old id.
    """
    return _stop_unsent(outbox, set() if old_id is None else {old_id}, now)


def deletion_requested(
    outbox: Outbox, now: datetime, known: Iterable[tuple[str, str]] = ()
) -> Outbox:
    """Queue a deletion request for every id and endpoint a week was sent to.

    A week counts as sent to an endpoint once a request for it was made there,
    whatever came back; `known` adds (id, endpoint) pairs kept elsewhere, whose
    rows this outbox may have lost. Every unsent weekly row is discarded too
    (the next submissions start afresh, under a new id); a pair that already
    has a request waiting keeps it.
    """
    targets = {
        (row.installation_id, endpoint)
        for row in outbox.weekly
        for endpoint in row.endpoints
    } | set(known)
    return deletions_queued(_stop_unsent(outbox, None, now), targets, now)


def deletions_queued(
    outbox: Outbox, pairs: Iterable[tuple[str, str]], now: datetime
) -> Outbox:
    """Queue a deletion request, due now, for each (id, endpoint) without one waiting.

    Also how requests a damaged file lost are queued again.
    """
    waiting = {
        (row.installation_id, row.endpoint)
        for row in outbox.deletions
        if row.status in _WAITING
    }
    added = tuple(
        DeletionRow(installation_id, endpoint, due_at=now)
        for installation_id, endpoint in sorted(set(pairs) - waiting)
    )
    return replace(outbox, deletions=(*outbox.deletions, *added))


def locally_deleted(outbox: Outbox, now: datetime) -> Outbox:
    """Forget every weekly row; keep deletion requests until acknowledged."""
    outbox = _stop_unsent(outbox, None, now)
    return replace(
        outbox,
        weekly=(),
        deletions=waiting_deletions(outbox),
    )


def restarted(
    outbox: Outbox, history: ConsentHistory, endpoint: str | None, now: datetime
) -> Outbox:
    """Settle what a crash or a stop left in flight.

    A week is tried again at once, with the same key, if the user still shares,
    consent still covers it and the endpoint is the one it went to; otherwise
    it is possibly sent. Deletion requests are simply tried again.
    """

    def settle(row: WeeklyRow) -> WeeklyRow:
        if row.status is not WeeklyStatus.IN_FLIGHT:
            return row
        if (
            history.sharing
            and week_is_eligible(history, row.period_start)
            and row.endpoints[-1:] == (endpoint,)
        ):
            return replace(
                row, status=WeeklyStatus.PENDING, due_at=now, may_be_held=True
            )
        return replace(row, status=WeeklyStatus.POSSIBLY_SENT)

    return replace(
        outbox,
        weekly=tuple(settle(row) for row in outbox.weekly),
        deletions=tuple(
            replace(row, status=DeletionStatus.PENDING, due_at=now)
            if row.status is DeletionStatus.IN_FLIGHT
            else row
            for row in outbox.deletions
        ),
    )


def endpoint_changed(outbox: Outbox, now: datetime) -> Outbox:
    """Cut off a week in flight; retry waiting deletion requests at once.

    The week's request went to the endpoint left behind and is cancelled, so
    it is possibly sent there; it does not go to the new one. Nor does a week
    an earlier attempt may have delivered there: one server holds it, at most.
    """
    return replace(
        outbox,
        weekly=tuple(
            _stopped(row, WeeklyStatus.PENDING) if row.status in _UNSENT else row
            for row in outbox.weekly
        ),
        deletions=tuple(
            replace(row, due_at=now) if row.status is DeletionStatus.PENDING else row
            for row in outbox.deletions
        ),
    )


def send_now_requested(outbox: Outbox, now: datetime) -> Outbox:
    """Make every pending week due at once, as the user asked.

    Consent, expiry and the one request per rolling hour still apply.
    """
    return replace(
        outbox,
        weekly=tuple(
            replace(row, due_at=now) if row.status is WeeklyStatus.PENDING else row
            for row in outbox.weekly
        ),
    )


def reconcile(outbox: Outbox, now: datetime) -> Outbox:
    """Bring the rows in line with the clock before scheduling.

    Weekly rows unsent twelve weeks after their week expire. Times a clock
    that ran ahead left in the future are pulled back to the longest wait
    they could have had, so a corrected clock does not stall sending.
    """
    last = outbox.last_weekly_request_at
    return replace(
        outbox,
        weekly=tuple(
            _stopped(row, WeeklyStatus.EXPIRED)
            if row.status is WeeklyStatus.PENDING and _expired(row.period_start, now)
            else replace(row, due_at=now + MAX_WEEKLY_WAIT)
            if row.status is WeeklyStatus.PENDING and row.due_at > now + MAX_WEEKLY_WAIT
            else row
            for row in outbox.weekly
        ),
        deletions=tuple(
            replace(row, due_at=now + DELETION_BACKOFF[-1])
            if row.status is DeletionStatus.PENDING
            and row.due_at > now + DELETION_BACKOFF[-1]
            else row
            for row in outbox.deletions
        ),
        last_weekly_request_at=None if last is None else min(last, now),
    )


def forget_acknowledged(outbox: Outbox) -> Outbox:
    """Drop acknowledged deletion requests, once their outcome was reported."""
    return replace(
        outbox,
        deletions=waiting_deletions(outbox),
    )


# ----- sending --------------------------------------------------------------------


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
            and not _expired(row.period_start, now)
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


def weekly_started(
    outbox: Outbox, period_start: date, endpoint: str, now: datetime
) -> Outbox:
    """Mark a pending week as being sent (so a crash leaves evidence).

    Only a pending row can start; anything else is returned unchanged, so a
    row discarded or sent meanwhile can never be revived.
    """
    rows = [row for row in outbox.weekly if row.period_start == period_start]
    if not rows or rows[0].status is not WeeklyStatus.PENDING:
        return outbox
    outbox = _with_weekly(
        outbox,
        period_start,
        lambda row: replace(
            row,
            status=WeeklyStatus.IN_FLIGHT,
            attempts=row.attempts + 1,
            # The endpoint of this attempt goes last, where a restart looks.
            endpoints=(*(e for e in row.endpoints if e != endpoint), endpoint),
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
    """Record a weekly attempt's result and when to try again, if ever.

    An answer that still arrives for a row cut off meanwhile settles what the
    server holds: accepted means sent, a refusal means nothing was kept (unless
    an earlier attempt may have been).
    """

    def update(row: WeeklyRow) -> WeeklyRow:
        if row.status is WeeklyStatus.POSSIBLY_SENT:
            if result is AttemptResult.ACCEPTED:
                return replace(row, status=WeeklyStatus.SENT, last_result=result)
            if result in _REJECTIONS and not row.may_be_held:
                return replace(row, status=WeeklyStatus.DISCARDED, last_result=result)
            return row
        if row.status is not WeeklyStatus.IN_FLIGHT:
            return row  # discarded while the request ran: it stays discarded
        if result is AttemptResult.ACCEPTED:
            status, due_at = WeeklyStatus.SENT, row.due_at
        elif result in _REJECTIONS:
            # Final; possibly sent still if an earlier attempt may have arrived.
            status = (
                WeeklyStatus.POSSIBLY_SENT if row.may_be_held else WeeklyStatus.REJECTED
            )
            due_at = row.due_at
        elif result is AttemptResult.RATE_LIMITED:
            wait = max(MIN_RATE_LIMIT_WAIT, retry_after or timedelta(0))
            status, due_at = WeeklyStatus.PENDING, now + min(wait, MAX_WEEKLY_WAIT)
        else:
            doublings = min(row.attempts - 1, 5)  # 1 h ... 32 h, capped at 24 h
            backoff = min(FIRST_BACKOFF * 2**doublings, MAX_BACKOFF)
            jitter = rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
            status, due_at = WeeklyStatus.PENDING, now + backoff * jitter
        return replace(
            row,
            status=status,
            due_at=due_at,
            last_result=result,
            may_be_held=row.may_be_held or result not in _NOTHING_KEPT,
        )

    return _with_weekly(outbox, period_start, update)


def weekly_not_started(outbox: Outbox, period_start: date) -> Outbox:
    """Take back a week marked in flight whose request never began.

    Nothing left the machine this time. Still in flight, or cut off by a
    change of server alone, it is pending again (for the new server). Cut off
    by a stop (opt-out, new id, deletion request: each raises the floor past
    it), it is discarded. Either way, if an earlier attempt may have reached
    a server, it stays possibly sent.
    """
    floor = outbox.build_from

    def update(row: WeeklyRow) -> WeeklyRow:
        if row.status is WeeklyStatus.IN_FLIGHT:
            return replace(row, status=WeeklyStatus.PENDING)
        if row.status is not WeeklyStatus.POSSIBLY_SENT or row.may_be_held:
            return row
        if floor is None or row.period_start >= floor:
            return replace(row, status=WeeklyStatus.PENDING)
        return replace(row, status=WeeklyStatus.DISCARDED)

    return _with_weekly(outbox, period_start, update)


def deletion_started(outbox: Outbox, installation_id: str, endpoint: str) -> Outbox:
    """Mark a pending deletion request as being sent; nothing else can start."""
    return _with_deletion(
        outbox,
        installation_id,
        endpoint,
        lambda row: (
            replace(row, status=DeletionStatus.IN_FLIGHT, attempts=row.attempts + 1)
            if row.status is DeletionStatus.PENDING
            else row
        ),
    )


def deletion_finished(
    outbox: Outbox,
    installation_id: str,
    endpoint: str,
    result: AttemptResult,
    now: datetime,
) -> Outbox:
    """Record a deletion attempt: acknowledged on 2xx or 404, else retried.

    On acknowledgement, the local copies of what that id sent there are
    forgotten too (a week also sent elsewhere waits for that request). A
    refused key (401/403) keeps the request: the user is told, and a change of
    the endpoint settings retries it at once.
    """
    rows = [
        row
        for row in outbox.deletions
        if (row.installation_id, row.endpoint) == (installation_id, endpoint)
        and row.status is DeletionStatus.IN_FLIGHT
    ]
    if not rows:
        return outbox
    if result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
        outbox = replace(
            outbox,
            weekly=tuple(
                kept
                for row in outbox.weekly
                if (kept := _without_endpoint(row, installation_id, endpoint))
            ),
        )
        status, due_at = DeletionStatus.ACKNOWLEDGED, now
    else:
        step = DELETION_BACKOFF[min(rows[0].attempts, len(DELETION_BACKOFF)) - 1]
        status, due_at = DeletionStatus.PENDING, now + step
    return _with_deletion(
        outbox,
        installation_id,
        endpoint,
        lambda row: (
            replace(row, status=status, due_at=due_at, last_result=result)
            if row.status is DeletionStatus.IN_FLIGHT
            else row
        ),
    )


def _without_endpoint(
    row: WeeklyRow, installation_id: str, endpoint: str
) -> WeeklyRow | None:
    """Forget that a row went to an endpoint; drop it once it went nowhere else."""
    if row.installation_id != installation_id or endpoint not in row.endpoints:
        return row
    rest = tuple(other for other in row.endpoints if other != endpoint)
    return replace(row, endpoints=rest) if rest else None


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
