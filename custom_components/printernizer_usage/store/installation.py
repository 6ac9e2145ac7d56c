"""The installation's identity: its random id, first day and send offset."""

from __future__ import annotations

from datetime import date, timedelta
import sqlite3

from .. import randomness
from ..payload import InstallationIdentity
from .database import UPSERT_META, meta_text, transaction


def installation_identity(db: sqlite3.Connection, today: date) -> InstallationIdentity:
    """Return the installation identity, creating it when first needed."""
    with transaction(db):
        installation_id = meta_text(db, "installation_id")
        first_seen = meta_text(db, "first_seen")
        if installation_id is None or first_seen is None:
            installation_id = randomness.installation_id()
            first_seen = today.isoformat()
            db.executemany(
                UPSERT_META,
                [("installation_id", installation_id), ("first_seen", first_seen)],
            )
    return InstallationIdentity(installation_id, date.fromisoformat(first_seen))


def stored_identity(db: sqlite3.Connection) -> InstallationIdentity | None:
    """Return the installation identity if one was made, creating none."""
    installation_id = meta_text(db, "installation_id")
    first_seen = meta_text(db, "first_seen")
    if installation_id is None or first_seen is None:
        return None
    return InstallationIdentity(installation_id, date.fromisoformat(first_seen))


def current_installation_id(db: sqlite3.Connection) -> str | None:
    """Return the id in use, if one was made."""
    return meta_text(db, "installation_id")


def send_offset(db: sqlite3.Connection) -> timedelta:
    """Return how long after each week's end the id sends; drawn if missing."""
    with transaction(db):
        offset = meta_text(db, "send_offset_seconds")
        if offset is None:
            offset = str(int(randomness.send_offset().total_seconds()))
            db.execute(UPSERT_META, ("send_offset_seconds", offset))
    return timedelta(seconds=int(offset))
