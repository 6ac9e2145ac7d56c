"""How deletion requests are queued, sent and acknowledged."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from .results import AttemptResult
from .rows import (
    WAITING,
    DeletionRow,
    DeletionStatus,
    Outbox,
    WeeklyRow,
    waiting_deletions,
)
from .schedule import DELETION_BACKOFF
from .stopping import stop_unsent


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


# ----- events ---------------------------------------------------------------------


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
    return deletions_queued(stop_unsent(outbox, None, now), targets, now)


def deletions_queued(
    outbox: Outbox, pairs: Iterable[tuple[str, str]], now: datetime
) -> Outbox:
    """Queue a deletion request, due now, for each (id, endpoint) without one waiting.

    Also how requests a damaged file lost are queued again.
    """
    waiting = {
        (row.installation_id, row.endpoint)
        for row in outbox.deletions
        if row.status in WAITING
    }
    added = tuple(
        DeletionRow(installation_id, endpoint, due_at=now)
        for installation_id, endpoint in sorted(set(pairs) - waiting)
    )
    return replace(outbox, deletions=(*outbox.deletions, *added))


def locally_deleted(outbox: Outbox, now: datetime) -> Outbox:
    """Forget every weekly row; keep deletion requests until acknowledged."""
    outbox = stop_unsent(outbox, None, now)
    return replace(
        outbox,
        weekly=(),
        deletions=waiting_deletions(outbox),
    )


def deletions_retried(outbox: Outbox, now: datetime) -> Outbox:
    """Make every waiting deletion request due at once: its server or key changed."""
    return replace(
        outbox,
        deletions=tuple(
            replace(row, due_at=now) if row.status is DeletionStatus.PENDING else row
            for row in outbox.deletions
        ),
    )


def forget_acknowledged(outbox: Outbox) -> Outbox:
    """Drop acknowledged deletion requests, once their outcome was reported."""
    return replace(
        outbox,
        deletions=waiting_deletions(outbox),
    )


# ----- sending --------------------------------------------------------------------


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
