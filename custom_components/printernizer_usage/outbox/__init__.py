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

from .deletions import (
    deletion_finished,
    deletion_requested,
    deletion_started,
    deletions_queued,
    deletions_retried,
    forget_acknowledged,
    locally_deleted,
)
from .results import AttemptResult, classify_response, is_rejection
from .rows import (
    DeletionDue,
    DeletionRow,
    DeletionStatus,
    Outbox,
    WeeklyDue,
    WeeklyRow,
    WeeklyStatus,
    idempotency_key,
    possibly_sent_weeks,
    unsent_weeks,
    waiting_deletions,
)
from .schedule import (
    BACKOFF_JITTER,
    DELETION_BACKOFF,
    EXPIRY,
    FIRST_BACKOFF,
    MAX_BACKOFF,
    MAX_WEEKLY_WAIT,
    MIN_RATE_LIMIT_WAIT,
    WEEKLY_REQUEST_SPACING,
    next_due,
    next_submission_at,
    next_wakeup,
)
from .stopping import first_whole_week
from .weekly import (
    endpoint_changed,
    id_regenerated,
    opted_out,
    reconcile,
    restarted,
    send_now_requested,
    week_closed,
    weekly_finished,
    weekly_not_started,
    weekly_started,
    weeks_to_build,
)

__all__ = [
    "BACKOFF_JITTER",
    "DELETION_BACKOFF",
    "EXPIRY",
    "FIRST_BACKOFF",
    "MAX_BACKOFF",
    "MAX_WEEKLY_WAIT",
    "MIN_RATE_LIMIT_WAIT",
    "WEEKLY_REQUEST_SPACING",
    "AttemptResult",
    "DeletionDue",
    "DeletionRow",
    "DeletionStatus",
    "Outbox",
    "WeeklyDue",
    "WeeklyRow",
    "WeeklyStatus",
    "classify_response",
    "deletion_finished",
    "deletion_requested",
    "deletion_started",
    "deletions_queued",
    "deletions_retried",
    "endpoint_changed",
    "first_whole_week",
    "forget_acknowledged",
    "id_regenerated",
    "idempotency_key",
    "is_rejection",
    "locally_deleted",
    "next_due",
    "next_submission_at",
    "next_wakeup",
    "opted_out",
    "possibly_sent_weeks",
    "reconcile",
    "restarted",
    "send_now_requested",
    "unsent_weeks",
    "waiting_deletions",
    "week_closed",
    "weekly_finished",
    "weekly_not_started",
    "weekly_started",
    "weeks_to_build",
]
