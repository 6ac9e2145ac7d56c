"""Accept, delete and purge weeks in the database, each in one transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
import math
from typing import TYPE_CHECKING, Any, Final, cast

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from printernizer_usage_server.models import RecentAcceptance, Submission

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult, Result
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from printernizer_usage_server.stored_fields import StoredFields

# The policy's limit: one submission per hour per installation.
RATE_WINDOW: Final = timedelta(hours=1)
# A client whose clock runs a little fast, or whose previous answer took a
# while, may come back a few seconds early; that is not abuse.
SKEW_TOLERANCE: Final = timedelta(seconds=60)
# What a deletion writes into the row it waits on; deleted in the same
# transaction, so never seen by anyone.
_LOCK_ROW_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Accepted:
    """The week is stored, now or before (`repeat`), under `submission_id`."""

    submission_id: int
    repeat: bool


@dataclass(frozen=True)
class RateLimited:
    """A new week came too soon after the last one; try again after the wait."""

    retry_after_seconds: int


async def submit(
    sessions: async_sessionmaker[AsyncSession], fields: StoredFields, now: datetime
) -> Accepted | RateLimited:
    """Store one week unless it is stored already or comes too soon after the last."""
    async with sessions.begin() as session:
        # A repeat is answered before the limit, so that a resend after a lost
        # answer always succeeds, with or without an Idempotency-Key.
        original = await _original(session, fields)
        if original is not None:
            return Accepted(submission_id=original, repeat=True)
        await _drop_stale_acceptances(session, now)
        if not await _claim_the_hour(session, fields.installation_id, now):
            # A week that another request stored meanwhile is still a repeat.
            original = await _original(session, fields)
            if original is not None:
                return Accepted(submission_id=original, repeat=True)
            return RateLimited(await _seconds_to_wait(session, fields, now))
        stored = await _store(session, fields)
        if stored is None:  # pragma: no cover - the claim above lets one copy in
            original = await _original(session, fields)
            return Accepted(submission_id=cast("int", original), repeat=True)
        return Accepted(submission_id=stored, repeat=False)


async def _store(session: AsyncSession, fields: StoredFields) -> int | None:
    """Insert the week; return its id, or None if the same week is there already.

    A conflict is skipped, not raised: PostgreSQL would write a refused insert,
    with the installation id and week, into its own server log.
    """
    statement = (
        _insert_for(session)(Submission)
        .values(**asdict(fields))
        .on_conflict_do_nothing(
            index_elements=[Submission.installation_id, Submission.period_start]
        )
        .returning(Submission.id)
    )
    stored: int | None = await session.scalar(statement)
    return stored


async def _original(session: AsyncSession, fields: StoredFields) -> int | None:
    """Return the id under which this installation's week is stored, if it is."""
    return await session.scalar(
        select(Submission.id).where(
            Submission.installation_id == fields.installation_id,
            Submission.period_start == fields.period_start,
        )
    )


async def _claim_the_hour(
    session: AsyncSession, installation_id: str, now: datetime
) -> bool:
    """Record this acceptance unless the last one is too recent; tell which.

    One statement decides and writes, so two requests at once cannot both
    pass (a read, then a write, could both see no recent acceptance).
    """
    statement = (
        _insert_for(session)(RecentAcceptance)
        .values(installation_id=installation_id, accepted_at=now)
        .on_conflict_do_update(
            index_elements=[RecentAcceptance.installation_id],
            set_={"accepted_at": now},
            where=RecentAcceptance.accepted_at <= now - (RATE_WINDOW - SKEW_TOLERANCE),
        )
        .returning(RecentAcceptance.installation_id)
    )
    return (await session.execute(statement)).first() is not None


def _insert_for(session: AsyncSession) -> Any:
    """Return the engine's INSERT, which knows ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


async def _seconds_to_wait(
    session: AsyncSession, fields: StoredFields, now: datetime
) -> int:
    last = await session.get(RecentAcceptance, fields.installation_id)
    accepted_at = now if last is None else _as_utc(last.accepted_at)
    # A last acceptance "in the future" (the clock went back) counts as now.
    elapsed = max(now - accepted_at, timedelta(0))
    wait = RATE_WINDOW - SKEW_TOLERANCE - elapsed
    return max(math.ceil(wait.total_seconds()), 1)


async def delete_installation(
    sessions: async_sessionmaker[AsyncSession], installation_id: str
) -> int:
    """Remove everything kept about an installation; return how many weeks went."""
    async with sessions.begin() as session:
        await _wait_for_weeks_being_stored(session, installation_id)
        deleted = await session.execute(
            delete(Submission).where(Submission.installation_id == installation_id)
        )
        await session.execute(
            delete(RecentAcceptance).where(
                RecentAcceptance.installation_id == installation_id
            )
        )
        return _row_count(deleted)


async def _wait_for_weeks_being_stored(
    session: AsyncSession, installation_id: str
) -> None:
    """Wait until no submission of the installation is still being stored.

    A submission claims the hour (its recent_acceptance row) before it stores
    its week, and holds that row until it commits. Writing the same row waits
    for such a submission, and the deletion's statements after it see its
    week: without this, PostgreSQL would answer a deletion while a week that
    arrived at the same moment stays stored. (SQLite lets one writer in at a
    time and needs no wait.) The row is deleted with the rest.
    """
    statement = (
        _insert_for(session)(RecentAcceptance)
        .values(installation_id=installation_id, accepted_at=_LOCK_ROW_TIME)
        .on_conflict_do_update(
            index_elements=[RecentAcceptance.installation_id],
            set_={"accepted_at": RecentAcceptance.accepted_at},
        )
    )
    await session.execute(statement)


async def purge(
    sessions: async_sessionmaker[AsyncSession], now: datetime, retention_days: int
) -> int:
    """Remove weeks that ended `retention_days` or more ago; return how many went."""
    # period_end is a midnight (UTC): the row goes once that moment plus the
    # retention has passed, i.e. when period_end <= the day of now - retention.
    last_day_to_drop = (now - timedelta(days=retention_days)).date()
    async with sessions.begin() as session:
        # Acceptance rows first, weeks second, as a deletion and a submission
        # lock them: the other order could deadlock with a deletion.
        await _drop_stale_acceptances(session, now)
        purged = await session.execute(
            delete(Submission).where(Submission.period_end <= last_day_to_drop)
        )
        return _row_count(purged)


async def _drop_stale_acceptances(session: AsyncSession, now: datetime) -> None:
    """Delete acceptance times older than the window: they limit nothing anymore."""
    await session.execute(
        delete(RecentAcceptance).where(
            RecentAcceptance.accepted_at <= now - RATE_WINDOW
        )
    )


def _row_count(result: Result[Any]) -> int:
    # A DELETE's result is a cursor result, which counts the rows it touched.
    return cast("CursorResult[Any]", result).rowcount


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back the stored UTC time without its zone.
    return moment.replace(tzinfo=moment.tzinfo or UTC)
