"""Sharing rows: consent decisions, the outbox and the submission log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
import json
import sqlite3

from ..consent import ConsentChange, ConsentHistory
from ..outbox import (
    AttemptResult,
    DeletionRow,
    DeletionStatus,
    Outbox,
    WeeklyRow,
    WeeklyStatus,
)
from . import installation
from .database import (
    UPSERT_META,
    day_from_number,
    day_number,
    meta_text,
    meta_time,
    transaction,
)
from .polls import clock_high_water


@dataclass(frozen=True, slots=True)
class LoggedAttempt:
    """One request to the collection server, as the submission log keeps it.

    A weekly attempt names its week; a deletion request has none.
    """

    at: datetime
    installation_id: str
    endpoint: str
    result: AttemptResult
    http_status: int | None
    period_start: date | None = None


@dataclass(frozen=True, slots=True)
class SharingRecord:
    """What sharing needs back after a restart."""

    history: ConsentHistory
    outbox: Outbox
    send_offset: timedelta
    # The latest time a poll was recorded at: a clock that went back since
    # must not date a consent before data it would then cover.
    clock_high_water: datetime | None
    last_accepted_at: datetime | None


def deletion_owed(db: sqlite3.Connection) -> bool:
    """Tell whether a deletion request still waits for the targets file."""
    return meta_text(db, "deletion_owed") is not None


def owe_deletion(db: sqlite3.Connection, owed: bool) -> None:
    """Note, or clear, that a deletion request waits for the targets file."""
    with transaction(db):
        if owed:
            db.execute(UPSERT_META, ("deletion_owed", "1"))
        else:
            db.execute("DELETE FROM meta WHERE key = 'deletion_owed'")


def load_sharing(db: sqlite3.Connection) -> SharingRecord:
    """Return consent, outbox and schedule; draw the send offset the first time."""
    send_offset = installation.send_offset(db)
    history = ConsentHistory(
        tuple(
            ConsentChange(datetime.fromisoformat(at), bool(share), version)
            for at, share, version in db.execute(
                "SELECT at, share, policy_version FROM consent_change ORDER BY seq"
            )
        )
    )
    build_from = meta_text(db, "build_from")
    outbox = Outbox(
        weekly=weekly_rows(db),
        deletions=deletion_rows(db),
        last_weekly_request_at=meta_time(db, "last_weekly_request_at"),
        build_from=None if build_from is None else date.fromisoformat(build_from),
    )
    last_accepted = db.execute(
        "SELECT MAX(hour) FROM submission_log "
        "WHERE period_start IS NOT NULL AND result = ?",
        (AttemptResult.ACCEPTED,),
    ).fetchone()[0]
    return SharingRecord(
        history=history,
        outbox=outbox,
        send_offset=send_offset,
        clock_high_water=clock_high_water(db),
        last_accepted_at=None
        if last_accepted is None
        else datetime.fromisoformat(last_accepted),
    )


def weekly_rows(db: sqlite3.Connection) -> tuple[WeeklyRow, ...]:
    """Return the weekly submissions, oldest week first."""
    rows = db.execute(
        "SELECT period_start, installation_id, body, due_at, status, attempts, "
        "last_result, endpoints, may_be_held FROM weekly_submission "
        "ORDER BY period_start"
    )
    return tuple(
        WeeklyRow(
            period_start=day_from_number(period_start),
            installation_id=installation_id,
            body=bytes(body),
            due_at=datetime.fromisoformat(due_at),
            status=WeeklyStatus(status),
            attempts=attempts,
            last_result=None if result is None else AttemptResult(result),
            endpoints=tuple(json.loads(endpoints)),
            may_be_held=bool(may_be_held),
        )
        for (
            period_start,
            installation_id,
            body,
            due_at,
            status,
            attempts,
            result,
            endpoints,
            may_be_held,
        ) in rows
    )


def deletion_rows(db: sqlite3.Connection) -> tuple[DeletionRow, ...]:
    """Return the deletion requests, by id and endpoint."""
    rows = db.execute(
        "SELECT installation_id, endpoint, due_at, status, attempts, last_result "
        "FROM deletion_request ORDER BY installation_id, endpoint"
    )
    return tuple(
        DeletionRow(
            installation_id=installation_id,
            endpoint=endpoint,
            due_at=datetime.fromisoformat(due_at),
            status=DeletionStatus(status),
            attempts=attempts,
            last_result=None if result is None else AttemptResult(result),
        )
        for installation_id, endpoint, due_at, status, attempts, result in rows
    )


def save_sharing(
    db: sqlite3.Connection,
    history: ConsentHistory,
    outbox: Outbox,
    attempt: LoggedAttempt | None = None,
    retire_id: bool = False,
) -> None:
    """Keep consent and outbox, and log an attempt, in one transaction."""
    with transaction(db):
        recorded = db.execute("SELECT COUNT(*) FROM consent_change").fetchone()[0]
        db.executemany(
            "INSERT INTO consent_change (at, share, policy_version) VALUES (?, ?, ?)",
            [
                (change.at.isoformat(), int(change.share), change.policy_version)
                for change in history.changes[recorded:]
            ],
        )
        db.execute("DELETE FROM weekly_submission")
        db.executemany(
            "INSERT INTO weekly_submission VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    day_number(row.period_start),
                    row.installation_id,
                    row.body,
                    row.due_at.isoformat(),
                    row.status,
                    row.attempts,
                    row.last_result,
                    json.dumps(row.endpoints),
                    int(row.may_be_held),
                )
                for row in outbox.weekly
            ],
        )
        db.execute("DELETE FROM deletion_request")
        db.executemany(
            "INSERT INTO deletion_request VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    row.installation_id,
                    row.endpoint,
                    row.due_at.isoformat(),
                    row.status,
                    row.attempts,
                    row.last_result,
                )
                for row in outbox.deletions
            ],
        )
        _save_optional_meta(
            db,
            {
                "last_weekly_request_at": None
                if outbox.last_weekly_request_at is None
                else outbox.last_weekly_request_at.isoformat(),
                "build_from": None
                if outbox.build_from is None
                else outbox.build_from.isoformat(),
            },
        )
        if attempt is not None:
            db.execute(
                "INSERT INTO submission_log (hour, period_start, installation_id, "
                "endpoint, result, http_status) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    attempt.at.replace(minute=0, second=0, microsecond=0).isoformat(),
                    None
                    if attempt.period_start is None
                    else day_number(attempt.period_start),
                    attempt.installation_id,
                    attempt.endpoint,
                    attempt.result,
                    attempt.http_status,
                ),
            )
        db.execute(
            "DELETE FROM submission_log WHERE CASE WHEN period_start IS NULL "
            "THEN (installation_id, endpoint) NOT IN "
            "(SELECT installation_id, endpoint FROM deletion_request) "
            "ELSE period_start NOT IN "
            "(SELECT period_start FROM weekly_submission) END"
        )
        if retire_id:
            # With the change that retires it, so no crash can keep it.
            # The next id is made when its first week is built, exactly
            # as an installation's first one is, and has its own offset.
            db.execute(
                "DELETE FROM meta WHERE key IN "
                "('installation_id', 'first_seen', 'send_offset_seconds')"
            )
            installation.send_offset(db)


def _save_optional_meta(db: sqlite3.Connection, values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            db.execute(UPSERT_META, (key, value))
