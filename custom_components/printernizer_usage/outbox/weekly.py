"""How weekly rows are queued, sent and settled.

A restart, a change of endpoint and reconciling with the clock also settle the
deletion requests they touch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
import random

from ..consent import ConsentHistory, week_is_eligible
from ..payload import WEEK, week_bounds, week_start
from .deletions import deletions_retried
from .results import NOTHING_KEPT, REJECTIONS, AttemptResult
from .rows import UNSENT, DeletionStatus, Outbox, WeeklyRow, WeeklyStatus
from .schedule import (
    BACKOFF_JITTER,
    DELETION_BACKOFF,
    FIRST_BACKOFF,
    MAX_BACKOFF,
    MAX_WEEKLY_WAIT,
    MIN_RATE_LIMIT_WAIT,
    is_expired,
)
from .stopping import stop_unsent, stopped_row


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
            and not is_expired(week, now)
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
    return stop_unsent(outbox, None, now)


def id_regenerated(outbox: Outbox, old_id: str | None, now: datetime) -> Outbox:
    """Discard unsent rows of the old id: sending them would link old and new.

    The next id's first week is the next whole one, with or without an old id.
    """
    return stop_unsent(outbox, set() if old_id is None else {old_id}, now)


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
    stopped = replace(
        outbox,
        weekly=tuple(
            stopped_row(row, WeeklyStatus.PENDING) if row.status in UNSENT else row
            for row in outbox.weekly
        ),
    )
    return deletions_retried(stopped, now)


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
            stopped_row(row, WeeklyStatus.EXPIRED)
            if row.status is WeeklyStatus.PENDING and is_expired(row.period_start, now)
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


# ----- sending --------------------------------------------------------------------


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
            if result in REJECTIONS and not row.may_be_held:
                return replace(row, status=WeeklyStatus.DISCARDED, last_result=result)
            return row
        if row.status is not WeeklyStatus.IN_FLIGHT:
            return row  # discarded while the request ran: it stays discarded
        if result is AttemptResult.ACCEPTED:
            status, due_at = WeeklyStatus.SENT, row.due_at
        elif result in REJECTIONS:
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
            may_be_held=row.may_be_held or result not in NOTHING_KEPT,
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
