"""Deletion: where data went, and deleting what is kept locally."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
import sqlite3
from typing import Any, Final

from ..consent import ConsentHistory
from ..outbox import Outbox, locally_deleted, waiting_deletions
from .database import checkpoint, transaction
from .installation import current_installation_id
from .recovery import moved_aside_copies, read_identity, read_targets
from .schema import initialise
from .sharing_rows import deletion_rows, load_sharing, save_sharing, weekly_rows

# What local deletion reports, by name: how to count it, how to delete it.
_LOCAL_DATA: Final = {
    "day_buckets": ("SELECT COUNT(*) FROM day_bucket", "DELETE FROM day_bucket"),
    "feature_flag_weeks": (
        "SELECT COUNT(*) FROM feature_flag_week",
        "DELETE FROM feature_flag_week",
    ),
    "consent_decisions": (
        "SELECT COUNT(*) FROM consent_change",
        "DELETE FROM consent_change",
    ),
    "weekly_submissions": (
        "SELECT COUNT(*) FROM weekly_submission",
        "DELETE FROM weekly_submission",
    ),
    "log_entries": (
        "SELECT COUNT(*) FROM submission_log",
        "DELETE FROM submission_log",
    ),
}


def deletion_targets(
    db: sqlite3.Connection, path: Path, merged_copies: frozenset[str]
) -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[str]]:
    """Return where this file and its copies show data went."""
    outbox = Outbox(weekly=weekly_rows(db), deletions=deletion_rows(db))
    pairs = {
        (row.installation_id, endpoint)
        for row in outbox.weekly
        for endpoint in row.endpoints
    }
    requested = {
        (row.installation_id, row.endpoint) for row in waiting_deletions(outbox)
    }
    copies = moved_aside_copies(path)
    for copy in copies:
        if copy.name not in merged_copies:
            found, waiting = read_targets(copy)
            pairs |= found
            requested |= waiting
    return pairs | requested, requested, [copy.name for copy in copies]


def delete_local_statistics(
    db: sqlite3.Connection, path: Path, now: datetime
) -> dict[str, Any]:
    """Delete everything kept locally, except deletion requests still waiting."""
    record = load_sharing(db)
    outbox = locally_deleted(record.outbox, now)
    deleted = {
        name: db.execute(count).fetchone()[0]
        for name, (count, _) in _LOCAL_DATA.items()
    }
    copies = moved_aside_copies(path)
    ids = {current_installation_id(db)} | {
        read_identity(copy).get("installation_id") for copy in copies
    }
    deleted["installation_ids"] = len(ids - {None})
    deleted["damaged_copies"] = len(copies)
    with transaction(db):
        for _, delete in _LOCAL_DATA.values():
            db.execute(delete)
        db.execute("DELETE FROM remembered_items")
        db.execute("DELETE FROM printer_in_error")
        db.execute("DELETE FROM meta")
        initialise(db, {})
        save_sharing(db, ConsentHistory(), outbox)
    db.execute("VACUUM")
    checkpoint(db)
    for copy in copies:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return {
        "deleted": deleted,
        "kept_until_acknowledged": [
            {"installation_id": row.installation_id, "endpoint": row.endpoint}
            for row in outbox.deletions
        ],
    }
