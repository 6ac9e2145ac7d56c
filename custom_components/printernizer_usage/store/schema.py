"""The schema: its version, the migrations, and what every file starts with."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Final

from .database import UPSERT_META, transaction

SCHEMA_VERSION: Final = 4

# Each entry holds the statements that migrate user_version N to N + 1.
_MIGRATIONS: Final = (
    (
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID""",
        # day: UTC days since 1970-01-01. dimension: '' or error_type/component.
        """CREATE TABLE day_bucket (
            day INTEGER NOT NULL,
            metric TEXT NOT NULL,
            dimension TEXT NOT NULL,
            count INTEGER NOT NULL CHECK (count >= 0),
            PRIMARY KEY (day, metric, dimension)
        ) WITHOUT ROWID""",
        # The last value observed in each UTC week (week_start: its Monday's day).
        """CREATE TABLE feature_flag_week (
            week_start INTEGER NOT NULL,
            flag TEXT NOT NULL,
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            PRIMARY KEY (week_start, flag)
        ) WITHOUT ROWID""",
        # Salted hashes of recently seen item ids, concatenated oldest first.
        """CREATE TABLE remembered_items (
            listing TEXT PRIMARY KEY,
            item_keys BLOB NOT NULL
        )""",
        """CREATE TABLE printer_in_error (
            printer_key BLOB PRIMARY KEY
        ) WITHOUT ROWID""",
    ),
    (
        # Every sharing decision, in the order made (times: ISO 8601, UTC).
        """CREATE TABLE consent_change (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            share INTEGER NOT NULL CHECK (share IN (0, 1)),
            policy_version INTEGER NOT NULL
        )""",
        # One row per week; body holds the exact bytes sent (or to be sent).
        """CREATE TABLE weekly_submission (
            period_start INTEGER PRIMARY KEY,
            installation_id TEXT NOT NULL,
            body BLOB NOT NULL,
            due_at TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            last_result TEXT,
            endpoints TEXT NOT NULL
        )""",
        """CREATE TABLE deletion_request (
            installation_id TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            due_at TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            last_result TEXT,
            PRIMARY KEY (installation_id, endpoint)
        ) WITHOUT ROWID""",
        # One row per request; hour: the attempt's time rounded down to the hour.
        # A row lives as long as the submission or deletion request it is about.
        """CREATE TABLE submission_log (
            seq INTEGER PRIMARY KEY,
            hour TEXT NOT NULL,
            period_start INTEGER,
            installation_id TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            result TEXT NOT NULL,
            http_status INTEGER
        )""",
    ),
    (
        # Whether a failed attempt may have reached the server. Rows from
        # before are taken to, once tried: nothing then told the failures apart.
        "ALTER TABLE weekly_submission ADD COLUMN may_be_held INTEGER NOT NULL "
        "DEFAULT 0 CHECK (may_be_held IN (0, 1))",
        "UPDATE weekly_submission SET may_be_held = 1 WHERE attempts > 0",
        # And a tried week that was stopped may be on a server: possibly sent.
        # A single refused attempt is the one case known to have kept nothing.
        "UPDATE weekly_submission SET status = 'possibly_sent' "
        "WHERE (status IN ('discarded', 'expired') AND attempts > 0) "
        "OR (status = 'rejected' AND attempts > 1)",
    ),
    (
        # Failed downloads are not observable (Printernizer never marks a file
        # as failed), so that list is no longer read: forget what it held.
        "DELETE FROM remembered_items WHERE listing = 'failed_files'",
        "DELETE FROM day_bucket "
        "WHERE metric = 'errors' AND dimension LIKE 'file_download_failed/%'",
        # A value that is no JSON list is dropped: the baselines are learned again.
        "DELETE FROM meta WHERE key = 'baselines' "
        "AND NOT (json_valid(value) AND json_type(value) = 'array')",
        "UPDATE meta SET value = (SELECT json_group_array(baseline.value) "
        "FROM json_each(meta.value) AS baseline "
        "WHERE baseline.value != 'failed_files') WHERE key = 'baselines'",
    ),
)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the file up to SCHEMA_VERSION, one migration per transaction."""
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    for target, script in enumerate(_MIGRATIONS[version:], start=version + 1):
        with transaction(db):
            for statement in script:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {target}")


def initialise(db: sqlite3.Connection, identity: dict[str, str]) -> None:
    """Create the salt the first time, and restore a recovered identity."""
    with transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)",
            (secrets.token_hex(32),),
        )
        db.executemany(UPSERT_META, identity.items())
