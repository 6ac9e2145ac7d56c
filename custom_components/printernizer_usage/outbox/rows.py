"""The outbox's rows, their statuses, and the read-only queries over them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
import hashlib
from typing import Final

from ..payload import day_stamp
from .results import AttemptResult


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


UNSENT: Final = (WeeklyStatus.PENDING, WeeklyStatus.IN_FLIGHT)
WAITING: Final = (DeletionStatus.PENDING, DeletionStatus.IN_FLIGHT)


def unsent_weeks(outbox: Outbox) -> tuple[WeeklyRow, ...]:
    """Return the weekly rows still to be sent (one may be in flight)."""
    return tuple(row for row in outbox.weekly if row.status in UNSENT)


def possibly_sent_weeks(outbox: Outbox) -> tuple[WeeklyRow, ...]:
    """Return the weeks whose request was cut off after it began."""
    return tuple(
        row for row in outbox.weekly if row.status is WeeklyStatus.POSSIBLY_SENT
    )


def waiting_deletions(outbox: Outbox) -> tuple[DeletionRow, ...]:
    """Return the deletion requests the server has not acknowledged yet."""
    return tuple(row for row in outbox.deletions if row.status in WAITING)
