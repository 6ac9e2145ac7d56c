"""What the file hands out: the export, and a summary for diagnostics."""

from __future__ import annotations

import json
import math
from pathlib import Path
import sqlite3
from typing import Any, Final

from ..const import FeatureFlag
from .database import day_from_number, meta_json, meta_text
from .sharing_rows import deletion_rows, weekly_rows

EXPORT_VERSION: Final = 1


def export(db: sqlite3.Connection) -> dict[str, Any]:
    """Return every statistic kept locally, in the documented export format."""
    installation_id = meta_text(db, "installation_id")
    app_version = meta_text(db, "app_version")
    fleet = meta_json(db, "fleet")
    return {
        "export_version": EXPORT_VERSION,
        "installation": None
        if installation_id is None
        else {
            "installation_id": installation_id,
            "first_seen": meta_text(db, "first_seen"),
        },
        "printernizer": None
        if app_version is None
        else {"app_version": app_version, **(meta_json(db, "runtime") or {})},
        "printer_fleet": None
        if fleet is None
        else {"printer_count": sum(fleet.values()), "printer_type_counts": fleet},
        "day_buckets": [
            {
                "day": day_from_number(day).isoformat(),
                "metric": metric,
                "dimension": dimension,
                "count": count,
            }
            for day, metric, dimension, count in db.execute(
                "SELECT day, metric, dimension, count FROM day_bucket "
                "ORDER BY day, metric, dimension"
            )
        ],
        "feature_flags": [
            {
                "week_start": day_from_number(week).isoformat(),
                "flag": FeatureFlag(flag),
                "enabled": bool(enabled),
            }
            for week, flag, enabled in db.execute(
                "SELECT week_start, flag, enabled FROM feature_flag_week "
                "ORDER BY week_start, flag"
            )
        ],
        **_export_sharing(db),
    }


def _export_sharing(db: sqlite3.Connection) -> dict[str, Any]:
    """Return consent decisions, submissions with their payloads, and the log."""
    return {
        "consent_history": [
            {
                "at": at,
                "share_statistics": bool(share),
                "policy_version": version,
            }
            for at, share, version in db.execute(
                "SELECT at, share, policy_version FROM consent_change ORDER BY seq"
            )
        ],
        "weekly_submissions": [
            {
                "period_start": row.period_start.isoformat(),
                "installation_id": row.installation_id,
                "status": row.status,
                "attempts": row.attempts,
                "last_result": row.last_result,
                "due_at": row.due_at.isoformat(),
                "endpoints": list(row.endpoints),
                "may_be_held": row.may_be_held,
                "payload": json.loads(row.body),
            }
            for row in weekly_rows(db)
        ],
        "deletion_requests": [
            {
                "installation_id": row.installation_id,
                "endpoint": row.endpoint,
                "status": row.status,
                "attempts": row.attempts,
                "last_result": row.last_result,
                "due_at": row.due_at.isoformat(),
            }
            for row in deletion_rows(db)
        ],
        "submission_log": [
            {
                "hour": hour,
                "period_start": None
                if period_start is None
                else day_from_number(period_start).isoformat(),
                "installation_id": installation_id,
                "endpoint": endpoint,
                "result": result,
                "http_status": http_status,
            }
            for (
                hour,
                period_start,
                installation_id,
                endpoint,
                result,
                http_status,
            ) in db.execute(
                "SELECT hour, period_start, installation_id, endpoint, result, "
                "http_status FROM submission_log ORDER BY seq"
            )
        ],
    }


def summary(db: sqlite3.Connection, path: Path) -> dict[str, Any]:
    """Describe the file without any of its content, for diagnostics."""
    # Neither dates nor numbers of days or items: the first day would be
    # close to the id's first_seen, and the items remembered add up to
    # what the server was sent.
    (has_days,) = db.execute("SELECT EXISTS (SELECT 1 FROM day_bucket)").fetchone()
    return {
        "schema_version": db.execute("PRAGMA user_version").fetchone()[0],
        # Whole MiB: finer, the size would tell how long it has run.
        "file_size_mib": math.ceil(path.stat().st_size / 2**20),
        "has_statistics": bool(has_days),
        "remembered_items": {
            listing: bool(blob)
            for listing, blob in db.execute(
                "SELECT listing, item_keys FROM remembered_items ORDER BY listing"
            )
        },
        "baselines_learned": meta_json(db, "baselines") or [],
    }
