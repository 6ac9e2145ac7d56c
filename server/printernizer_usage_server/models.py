"""The database tables, as SQLAlchemy declarative models."""

from __future__ import annotations

from datetime import date, datetime
import secrets
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Fixed constraint names, so that the hand-written migrations can name them.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQL NULL for an absent map, rather than the JSON text "null".
_JSON_MAP: Final = JSON(none_as_null=True)


# Every id is exact in any JSON reader (JavaScript's numbers included).
MAX_SUBMISSION_ID: Final = 2**53 - 1
SUBMISSION_ID_TYPE: Final = BigInteger().with_variant(Integer(), "sqlite")


def new_submission_id() -> int:
    """Return a random submission id from 1 to MAX_SUBMISSION_ID.

    Two weeks drawing the same id is as likely as one in a billion at ten
    million stored weeks; the second would fail once and be sent again.
    """
    return secrets.randbelow(MAX_SUBMISSION_ID) + 1


class Base(DeclarativeBase):
    """The declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Submission(Base):
    """One accepted week of one installation."""

    # No time of arrival is kept: with one, the rows of an id that its user
    # replaced and of the new id could be linked by when they came in.

    __tablename__ = "submission"
    __table_args__: Any = (UniqueConstraint("installation_id", "period_start"),)

    # Drawn at random, not counted up: counted ids would tell in which order
    # the weeks arrived, and so, beside any time-stamped log line, when. On
    # SQLite an INTEGER key is the row's rowid itself, so no hidden rowid
    # counts up beside it.
    id: Mapped[int] = mapped_column(
        SUBMISSION_ID_TYPE,
        primary_key=True,
        autoincrement=False,
        default=new_submission_id,
    )
    installation_id: Mapped[str] = mapped_column(String(36), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    # The purge selects by it.
    period_end: Mapped[date] = mapped_column(Date, index=True)
    app_version: Mapped[str] = mapped_column(String(20))
    python_version: Mapped[str | None] = mapped_column(String(20))
    platform: Mapped[str] = mapped_column(String(16))
    deployment_mode: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str] = mapped_column(String(2))
    printer_count: Mapped[int] = mapped_column(Integer)
    printer_type_counts: Mapped[dict[str, int] | None] = mapped_column(_JSON_MAP)
    job_count: Mapped[int] = mapped_column(Integer)
    file_count: Mapped[int] = mapped_column(Integer)
    upload_count: Mapped[int] = mapped_column(Integer)
    uptime_hours: Mapped[int] = mapped_column(Integer)
    feature_usage: Mapped[dict[str, bool] | None] = mapped_column(_JSON_MAP)
    error_summary: Mapped[dict[str, int] | None] = mapped_column(_JSON_MAP)


class RecentAcceptance(Base):
    """When an installation's last week was accepted, for the hourly limit."""

    # A row outlives its hour only until the next submission or purge drops
    # it, and goes with the installation's deletion.

    __tablename__ = "recent_acceptance"

    installation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
