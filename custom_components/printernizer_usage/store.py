"""Local statistics in one SQLite file per config entry.

Activity is kept as day buckets (UTC day, metric, dimension, count), never as
events, so the file grows with days and not with printing. Every method of
`LocalStatisticsStore` blocks; Home Assistant reaches it only through
`store_worker.StoreWorker`, which runs it on a thread of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
import json
import math
from pathlib import Path
import secrets
import sqlite3
from typing import Any, Final
import uuid

from . import randomness
from .collector import CollectorState, FailedPoll, PollOutcome
from .consent import ConsentChange, ConsentHistory
from .const import (
    ITEM_KEY_BYTES,
    MAX_REMEMBERED_ITEMS,
    ErrorType,
    FeatureFlag,
    Listing,
    Metric,
)
from .outbox import (
    AttemptResult,
    DeletionRow,
    DeletionStatus,
    Outbox,
    WeeklyRow,
    WeeklyStatus,
    locally_deleted,
    waiting_deletions,
)
from .payload import (
    NOT_YET_KNOWN,
    PLACEHOLDER_ID,
    InstallationIdentity,
    PayloadSource,
    PrinternizerFacts,
    WeekCounts,
    build_payload,
    serialise,
    week_start,
)

SCHEMA_VERSION: Final = 4
EXPORT_VERSION: Final = 1
_EPOCH: Final = date(1970, 1, 1)
# How long to wait for another process holding the file before giving up.
BUSY_TIMEOUT: Final = timedelta(seconds=10)

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

_UPSERT_BUCKET: Final = """
    INSERT INTO day_bucket (day, metric, dimension, count) VALUES (?, ?, ?, ?)
    ON CONFLICT (day, metric, dimension) DO UPDATE SET count = count + excluded.count
"""
_UPSERT_FLAG: Final = """
    INSERT INTO feature_flag_week (week_start, flag, enabled) VALUES (?, ?, ?)
    ON CONFLICT (week_start, flag) DO UPDATE SET enabled = excluded.enabled
"""
_UPSERT_REMEMBERED: Final = """
    INSERT INTO remembered_items (listing, item_keys) VALUES (?, ?)
    ON CONFLICT (listing) DO UPDATE SET item_keys = excluded.item_keys
"""
_UPSERT_META: Final = """
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""

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

# Identity kept across a corrupt file, so that a later deletion request can
# still name every id this installation used.
_IDENTITY_KEYS: Final = ("installation_id", "first_seen")
_CORRUPTION_CODES: Final = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class StoreSchemaTooNewError(Exception):
    """The file was written by a newer version of the integration."""

    def __init__(self, found: int) -> None:
        """Remember the schema version found in the file."""
        super().__init__(f"schema version {found} is newer than {SCHEMA_VERSION}")
        self.found = found


class _CorruptFileError(Exception):
    """The file is not a readable SQLite database of ours."""


def day_number(day: date) -> int:
    """Return the stored form of a UTC day."""
    return (day - _EPOCH).days


def day_from_number(number: int) -> date:
    """Return the UTC day a stored day number stands for."""
    return _EPOCH + timedelta(days=number)


@dataclass(frozen=True, slots=True)
class StatisticsView:
    """The numbers of one UTC week, as the sensors show them."""

    week_start: date
    jobs: int = 0
    files: int = 0
    uploads: int = 0
    uptime_hours: int = 0
    errors: dict[ErrorType, int] = field(default_factory=dict)
    printer_count: int | None = None

    @property
    def error_total(self) -> int:
        """Return all errors of the week."""
        return sum(self.errors.values())


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


class LocalStatisticsStore:
    """The SQLite file of one config entry."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        """Wrap an open, migrated connection."""
        self._db = connection
        self.path = path

    @classmethod
    def open(
        cls, path: Path, now: datetime
    ) -> tuple[LocalStatisticsStore, Path | None]:
        """Open or create the file; return the store and any moved-aside copy.

        A corrupt file is moved aside and replaced by a fresh one that keeps the
        installation identity when it can still be read. A file from a newer
        schema is left untouched and StoreSchemaTooNewError is raised.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        moved_aside: Path | None = None
        identity: dict[str, str] = {}
        try:
            connection = _connect(path)
        except _CorruptFileError:
            moved_aside = _move_aside(path, now)
            identity = _read_identity(moved_aside)
            connection = _connect(path)
        store = cls(connection, path)
        try:
            store._migrate()
            store._initialise(identity)
        except BaseException:
            # A busy file fails here, and setup retries: leave nothing open.
            connection.close()
            raise
        return store, moved_aside

    def _migrate(self) -> None:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        for target, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                for statement in script:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    def _initialise(self, identity: dict[str, str]) -> None:
        """Create the salt the first time, and restore a recovered identity."""
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)",
                (secrets.token_hex(32),),
            )
            self._db.executemany(_UPSERT_META, identity.items())

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._db.in_transaction:
            # Part of a larger transaction, which commits or rolls back all.
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def _meta_time(self, key: str) -> datetime | None:
        value = self._meta(key)
        return None if value is None else datetime.fromisoformat(value)

    def _meta_json(self, key: str) -> Any:
        value = self._meta(key)
        return None if value is None else json.loads(value)

    def load_collector_state(self, baseline_id: str) -> CollectorState:
        """Return what the collector remembered, for the entry's baseline id.

        The entry gets a new random baseline id whenever it is pointed at
        another Printernizer; the baselines are then learned again, since items
        there are not new just because they were not seen before. (A random id
        rather than anything derived from the address keeps the address out of
        this file.)
        """
        salt_hex = self._meta("salt")
        if salt_hex is None:  # pragma: no cover - _initialise always writes it
            msg = "store has no salt"
            raise RuntimeError(msg)
        if self._meta("baseline_id") != baseline_id:
            with self._transaction():
                self._db.execute("DELETE FROM meta WHERE key = 'baselines'")
                self._db.execute("DELETE FROM printer_in_error")
                self._db.execute(_UPSERT_META, ("baseline_id", baseline_id))
        seen: dict[Listing, OrderedDict[bytes, None]] = {}
        for listing, blob in self._db.execute(
            "SELECT listing, item_keys FROM remembered_items"
        ):
            seen[Listing(listing)] = OrderedDict.fromkeys(
                blob[offset : offset + ITEM_KEY_BYTES]
                for offset in range(0, len(blob), ITEM_KEY_BYTES)
            )
        last_hour = self._meta("last_uptime_hour")
        return CollectorState(
            salt=bytes.fromhex(salt_hex),
            seen=seen,
            baselines=set(self._meta_json("baselines") or ()),
            printers_in_error=frozenset(
                row[0]
                for row in self._db.execute("SELECT printer_key FROM printer_in_error")
            ),
            last_uptime_hour=None
            if last_hour is None
            else datetime.fromisoformat(last_hour),
            last_read=self._last_read_days(),
        )

    def _last_read_days(self) -> dict[Listing, date]:
        """Return the day each list was last read; a value not written here is dropped.

        Without it the next poll reads from the last poll's day instead: it
        can miss what that list's own day would have found, never count twice.
        """
        try:
            stored = self._meta_json("last_read_days")
        except ValueError:
            stored = None
        days: dict[Listing, date] = {}
        for listing, day in (stored if isinstance(stored, dict) else {}).items():
            with suppress(TypeError, ValueError):
                days[Listing(listing)] = date.fromisoformat(day)
        return days

    def record_poll(self, outcome: PollOutcome | FailedPoll) -> StatisticsView:
        """Save a poll in one transaction; return the view of its week."""
        today = outcome.observed_at.date()
        with self._transaction():
            self._db.executemany(
                _UPSERT_BUCKET,
                [
                    (day_number(today), metric, dimension, count)
                    for (metric, dimension), count in outcome.increments.items()
                ],
            )
            if isinstance(outcome, PollOutcome):
                self._save_observations(outcome)
            high_water = self.clock_high_water()
            if high_water is None or outcome.observed_at > high_water:
                self._db.execute(
                    _UPSERT_META, ("clock_high_water", outcome.observed_at.isoformat())
                )
        return self.statistics_view(today)

    def _save_observations(self, outcome: PollOutcome) -> None:
        keep = MAX_REMEMBERED_ITEMS * ITEM_KEY_BYTES
        for listing, keys in outcome.new_keys.items():
            if not keys:
                continue
            row = self._db.execute(
                "SELECT item_keys FROM remembered_items WHERE listing = ?", (listing,)
            ).fetchone()
            blob = (b"" if row is None else row[0]) + b"".join(keys)
            self._db.execute(_UPSERT_REMEMBERED, (listing, blob[-keep:]))
        if outcome.printers_in_error is not None:
            self._db.execute("DELETE FROM printer_in_error")
            self._db.executemany(
                "INSERT INTO printer_in_error (printer_key) VALUES (?)",
                [(key,) for key in outcome.printers_in_error],
            )
        week = day_number(week_start(outcome.observed_at.date()))
        self._db.executemany(
            _UPSERT_FLAG,
            [(week, flag, int(enabled)) for flag, enabled in outcome.flags.items()],
        )
        baselines = set(self._meta_json("baselines") or ()) | outcome.baselines
        # The day each list was last read: it decides how far the next poll
        # reads, also after a restart. Written once a day at most.
        last_read = self._last_read_days()
        read_now = last_read | dict.fromkeys(
            outcome.new_keys, outcome.observed_at.date()
        )
        if read_now != last_read:
            days = {listing: day.isoformat() for listing, day in read_now.items()}
            self._db.execute(
                _UPSERT_META, ("last_read_days", json.dumps(days, sort_keys=True))
            )
        meta = {
            "baselines": json.dumps(sorted(baselines)),
            "last_uptime_hour": outcome.uptime_hour.isoformat(),
            "app_version": outcome.app_version,
        }
        if outcome.fleet is not None:
            meta["fleet"] = json.dumps(dict(sorted(outcome.fleet.items())))
        if (runtime := outcome.runtime) is not None:
            meta["runtime"] = json.dumps(
                {
                    "python_version": runtime.python_version,
                    "platform": runtime.platform,
                    "deployment_mode": runtime.deployment_mode,
                }
            )
        self._db.executemany(_UPSERT_META, meta.items())

    def statistics_view(self, today: date) -> StatisticsView:
        """Return the totals of the UTC week holding today."""
        start = week_start(today)
        totals = dict.fromkeys(Metric, 0)
        errors: dict[ErrorType, int] = {}
        for metric, dimension, count in self._db.execute(
            "SELECT metric, dimension, SUM(count) FROM day_bucket "
            "WHERE day >= ? AND day < ? GROUP BY metric, dimension",
            (day_number(start), day_number(start) + 7),
        ):
            if metric == Metric.ERRORS:
                try:
                    errors[ErrorType(dimension.partition("/")[0])] = count
                except ValueError:
                    continue  # a type no longer counted (or a hand edit)
            totals[Metric(metric)] += count
        fleet = self._meta_json("fleet")
        return StatisticsView(
            week_start=start,
            jobs=totals[Metric.JOBS],
            files=totals[Metric.FILES],
            uploads=totals[Metric.UPLOADS],
            uptime_hours=totals[Metric.UPTIME_HOURS],
            errors=errors,
            printer_count=None if fleet is None else sum(fleet.values()),
        )

    def week_counts(self, week: date) -> WeekCounts:
        """Return one UTC week's counts and flags, as a payload is built from."""
        view = self.statistics_view(week)
        flags = {
            str(flag): bool(enabled)
            for flag, enabled in self._db.execute(
                "SELECT flag, enabled FROM feature_flag_week WHERE week_start = ?",
                (day_number(week),),
            )
        }
        return WeekCounts(
            jobs=view.jobs,
            files=view.files,
            uploads=view.uploads,
            uptime_hours=view.uptime_hours,
            errors={str(error): count for error, count in view.errors.items()},
            feature_flags=flags,
        )

    def printernizer_facts(self) -> PrinternizerFacts:
        """Return what Printernizer last reported about itself and its fleet."""
        runtime = self._meta_json("runtime") or {}
        return PrinternizerFacts(
            app_version=self._meta("app_version"),
            python_version=runtime.get("python_version"),
            platform=runtime.get("platform"),
            deployment_mode=runtime.get("deployment_mode"),
            fleet=self._meta_json("fleet") or {},
        )

    def installation_identity(self, today: date) -> InstallationIdentity:
        """Return the installation identity, creating it when first needed.

        It is random (UUIDv4), tied to nothing on this machine, and made only
        when a week is built for it, so an installation that never shares
        never has one, and every id (the first, or one after a regeneration or
        a deletion) begins the same way: its first day is that of its first
        payload.
        """
        with self._transaction():
            installation_id = self._meta("installation_id")
            first_seen = self._meta("first_seen")
            if installation_id is None or first_seen is None:
                installation_id = randomness.installation_id()
                first_seen = today.isoformat()
                self._db.executemany(
                    _UPSERT_META,
                    [("installation_id", installation_id), ("first_seen", first_seen)],
                )
        return InstallationIdentity(installation_id, date.fromisoformat(first_seen))

    def build_week_payload(
        self, week: date, policy_version: int, time_zone: str, today: date
    ) -> tuple[str, bytes]:
        """Return the installation id and the exact bytes of one week's payload."""
        identity = self.installation_identity(today)
        source = self._payload_source(week, identity, time_zone, today)
        return identity.installation_id, serialise(
            build_payload(source, policy_version)
        )

    def preview_week_payload(
        self, week: date, policy_version: int, time_zone: str, today: date
    ) -> dict[str, Any]:
        """Return a week's payload as it would be built today, creating no id.

        Without an id yet, the id and its first day read NOT_YET_KNOWN.
        """
        installation_id = self._meta("installation_id")
        first_seen = self._meta("first_seen")
        if installation_id is None or first_seen is None:
            identity = InstallationIdentity(PLACEHOLDER_ID, today)
        else:
            identity = InstallationIdentity(
                installation_id, date.fromisoformat(first_seen)
            )
        payload = build_payload(
            self._payload_source(week, identity, time_zone, today), policy_version
        )
        if installation_id is None and "installation" in payload:
            payload["installation"]["installation_id"] = NOT_YET_KNOWN
            payload["installation"]["first_seen"] = NOT_YET_KNOWN
        return payload

    def _payload_source(
        self, week: date, identity: InstallationIdentity, time_zone: str, today: date
    ) -> PayloadSource:
        return PayloadSource(
            week_start=week,
            counts=self.week_counts(week),
            identity=identity,
            printernizer=self.printernizer_facts(),
            time_zone=time_zone,
            submitted_on=today,
        )

    def current_installation_id(self) -> str | None:
        """Return the id in use, if one was made."""
        return self._meta("installation_id")

    def deletion_owed(self) -> bool:
        """Tell whether a deletion request still waits for the targets file."""
        return self._meta("deletion_owed") is not None

    def owe_deletion(self, owed: bool) -> None:
        """Note, or clear, that a deletion request waits for the targets file."""
        with self._transaction():
            if owed:
                self._db.execute(_UPSERT_META, ("deletion_owed", "1"))
            else:
                self._db.execute("DELETE FROM meta WHERE key = 'deletion_owed'")

    def send_offset(self) -> timedelta:
        """Return how long after each week's end the id sends; drawn if missing."""
        with self._transaction():
            offset = self._meta("send_offset_seconds")
            if offset is None:
                offset = str(int(randomness.send_offset().total_seconds()))
                self._db.execute(_UPSERT_META, ("send_offset_seconds", offset))
        return timedelta(seconds=int(offset))

    def load_sharing(self) -> SharingRecord:
        """Return consent, outbox and schedule; draw the send offset the first time."""
        send_offset = self.send_offset()
        history = ConsentHistory(
            tuple(
                ConsentChange(datetime.fromisoformat(at), bool(share), version)
                for at, share, version in self._db.execute(
                    "SELECT at, share, policy_version FROM consent_change ORDER BY seq"
                )
            )
        )
        build_from = self._meta("build_from")
        outbox = Outbox(
            weekly=self._weekly_rows(),
            deletions=self._deletion_rows(),
            last_weekly_request_at=self._meta_time("last_weekly_request_at"),
            build_from=None if build_from is None else date.fromisoformat(build_from),
        )
        last_accepted = self._db.execute(
            "SELECT MAX(hour) FROM submission_log "
            "WHERE period_start IS NOT NULL AND result = ?",
            (AttemptResult.ACCEPTED,),
        ).fetchone()[0]
        return SharingRecord(
            history=history,
            outbox=outbox,
            send_offset=send_offset,
            clock_high_water=self.clock_high_water(),
            last_accepted_at=None
            if last_accepted is None
            else datetime.fromisoformat(last_accepted),
        )

    def _weekly_rows(self) -> tuple[WeeklyRow, ...]:
        rows = self._db.execute(
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

    def _deletion_rows(self) -> tuple[DeletionRow, ...]:
        rows = self._db.execute(
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

    def clock_high_water(self) -> datetime | None:
        """Return the latest time a poll was recorded at."""
        return self._meta_time("clock_high_water")

    def save_sharing(
        self,
        history: ConsentHistory,
        outbox: Outbox,
        attempt: LoggedAttempt | None = None,
        retire_id: bool = False,
    ) -> None:
        """Keep consent and outbox, and log an attempt, in one transaction.

        Consent decisions are only ever added. With `retire_id` (a new id was
        asked for, or deletion), the id and its send offset go in the same
        transaction. Log rows leave with the submission or deletion request
        they are about.
        """
        with self._transaction():
            recorded = self._db.execute(
                "SELECT COUNT(*) FROM consent_change"
            ).fetchone()[0]
            self._db.executemany(
                "INSERT INTO consent_change (at, share, policy_version) "
                "VALUES (?, ?, ?)",
                [
                    (change.at.isoformat(), int(change.share), change.policy_version)
                    for change in history.changes[recorded:]
                ],
            )
            self._db.execute("DELETE FROM weekly_submission")
            self._db.executemany(
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
            self._db.execute("DELETE FROM deletion_request")
            self._db.executemany(
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
            self._save_optional_meta(
                {
                    "last_weekly_request_at": None
                    if outbox.last_weekly_request_at is None
                    else outbox.last_weekly_request_at.isoformat(),
                    "build_from": None
                    if outbox.build_from is None
                    else outbox.build_from.isoformat(),
                }
            )
            if attempt is not None:
                self._db.execute(
                    "INSERT INTO submission_log (hour, period_start, installation_id, "
                    "endpoint, result, http_status) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        attempt.at.replace(
                            minute=0, second=0, microsecond=0
                        ).isoformat(),
                        None
                        if attempt.period_start is None
                        else day_number(attempt.period_start),
                        attempt.installation_id,
                        attempt.endpoint,
                        attempt.result,
                        attempt.http_status,
                    ),
                )
            self._db.execute(
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
                self._db.execute(
                    "DELETE FROM meta WHERE key IN "
                    "('installation_id', 'first_seen', 'send_offset_seconds')"
                )
                self.send_offset()

    def _save_optional_meta(self, values: dict[str, str | None]) -> None:
        for key, value in values.items():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute(_UPSERT_META, (key, value))

    def export(self) -> dict[str, Any]:
        """Return every statistic kept locally, in the documented export format.

        The salt and the hashes of seen ids are never part of it.
        """
        installation_id = self._meta("installation_id")
        app_version = self._meta("app_version")
        fleet = self._meta_json("fleet")
        return {
            "export_version": EXPORT_VERSION,
            "installation": None
            if installation_id is None
            else {
                "installation_id": installation_id,
                "first_seen": self._meta("first_seen"),
            },
            "printernizer": None
            if app_version is None
            else {"app_version": app_version, **(self._meta_json("runtime") or {})},
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
                for day, metric, dimension, count in self._db.execute(
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
                for week, flag, enabled in self._db.execute(
                    "SELECT week_start, flag, enabled FROM feature_flag_week "
                    "ORDER BY week_start, flag"
                )
            ],
            **self._export_sharing(),
        }

    def _export_sharing(self) -> dict[str, Any]:
        """Return consent decisions, submissions with their payloads, and the log."""
        return {
            "consent_history": [
                {
                    "at": at,
                    "share_statistics": bool(share),
                    "policy_version": version,
                }
                for at, share, version in self._db.execute(
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
                for row in self._weekly_rows()
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
                for row in self._deletion_rows()
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
                ) in self._db.execute(
                    "SELECT hour, period_start, installation_id, endpoint, result, "
                    "http_status FROM submission_log ORDER BY seq"
                )
            ],
        }

    def summary(self) -> dict[str, Any]:
        """Describe the file without any of its content, for diagnostics."""
        # Neither dates nor numbers of days or items: the first day would be
        # close to the id's first_seen, and the items remembered add up to
        # what the server was sent.
        (has_days,) = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM day_bucket)"
        ).fetchone()
        return {
            "schema_version": self._db.execute("PRAGMA user_version").fetchone()[0],
            # Whole MiB: finer, the size would tell how long it has run.
            "file_size_mib": math.ceil(self.path.stat().st_size / 2**20),
            "has_statistics": bool(has_days),
            "remembered_items": {
                listing: bool(blob)
                for listing, blob in self._db.execute(
                    "SELECT listing, item_keys FROM remembered_items ORDER BY listing"
                )
            },
            "baselines_learned": self._meta_json("baselines") or [],
        }

    def deletion_targets(
        self, merged_copies: frozenset[str]
    ) -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[str]]:
        """Return where this file and its copies show data went.

        That is every (id, server) pair a week was sent (or tried) to, the
        pairs whose deletion request still waits, and the names of all
        moved-aside copies there are; copies named in `merged_copies` were
        read before and are skipped (a pair confirmed deleted since would
        come back from them).
        """
        outbox = Outbox(weekly=self._weekly_rows(), deletions=self._deletion_rows())
        pairs = {
            (row.installation_id, endpoint)
            for row in outbox.weekly
            for endpoint in row.endpoints
        }
        requested = {
            (row.installation_id, row.endpoint) for row in waiting_deletions(outbox)
        }
        copies = moved_aside_copies(self.path)
        for copy in copies:
            if copy.name not in merged_copies:
                found, waiting = _read_targets(copy)
                pairs |= found
                requested |= waiting
        return pairs | requested, requested, [copy.name for copy in copies]

    def delete_local_statistics(self, now: datetime) -> dict[str, Any]:
        """Delete everything kept locally, except deletion requests still waiting.

        Counts, flags, remembered hashes and their salt, the fleet and version
        facts, consent decisions, the installation id, weekly submissions and
        the log all go; a new salt is made for what is collected from now on.
        The file is then vacuumed and its log truncated, so that (with secure
        delete on) nothing deleted lingers in it. Copies of a damaged file
        moved aside earlier are deleted too. Returns what was deleted and what
        is kept until acknowledged.
        """
        record = self.load_sharing()
        outbox = locally_deleted(record.outbox, now)
        deleted = {
            name: self._db.execute(count).fetchone()[0]
            for name, (count, _) in _LOCAL_DATA.items()
        }
        copies = moved_aside_copies(self.path)
        ids = {self.current_installation_id()} | {
            _read_identity(copy).get("installation_id") for copy in copies
        }
        deleted["installation_ids"] = len(ids - {None})
        deleted["damaged_copies"] = len(copies)
        with self._transaction():
            for _, delete in _LOCAL_DATA.values():
                self._db.execute(delete)
            self._db.execute("DELETE FROM remembered_items")
            self._db.execute("DELETE FROM printer_in_error")
            self._db.execute("DELETE FROM meta")
            self._initialise({})
            self.save_sharing(ConsentHistory(), outbox)
        self._db.execute("VACUUM")
        self.checkpoint()
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

    def checkpoint(self) -> None:
        """Move everything from the write-ahead log into the main file."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Checkpoint and close the file.

        A file too damaged to checkpoint is closed all the same; opening it
        again moves it aside.
        """
        with suppress(sqlite3.Error):
            self.checkpoint()
        self._db.close()


def is_corruption(err: sqlite3.Error) -> bool:
    """Tell whether SQLite found the file damaged (rather than busy or full)."""
    return getattr(err, "sqlite_errorcode", None) in _CORRUPTION_CODES


def _connect(path: Path) -> sqlite3.Connection:
    """Open a file of ours, or raise _CorruptFileError / StoreSchemaTooNewError."""
    connection = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT.total_seconds()
    )
    try:
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise _CorruptFileError
        found: int = connection.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise StoreSchemaTooNewError(found)
        connection.execute("PRAGMA journal_mode = WAL")
        # Deleted rows are overwritten, so deleted statistics do not linger.
        connection.execute("PRAGMA secure_delete = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as err:
        connection.close()
        if is_corruption(err):
            raise _CorruptFileError from err
        raise
    except BaseException:
        connection.close()
        raise
    return connection


def _move_aside(path: Path, now: datetime) -> Path:
    """Rename a corrupt file and its journal files; return the new name.

    A name never repeats: an earlier copy of the same second is neither
    replaced nor taken for this one (each copy is read for deletion targets
    once, by name).
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved = path.with_name(f"{path.name}.corrupt-{stamp}")
    count = 1
    while moved.exists():
        count += 1
        moved = path.with_name(f"{path.name}.corrupt-{stamp}-{count}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{moved}{suffix}")
    return moved


def _read_damaged(path: Path, query: str, *parameters: str) -> list[tuple[Any, ...]]:
    """Return a query's rows from a damaged file, or none if they cannot be read."""
    try:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            return connection.execute(query, parameters).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []


def _read_identity(path: Path) -> dict[str, str]:
    """Read the installation identity from a damaged file, if it still can be."""
    rows = _read_damaged(
        path, "SELECT key, value FROM meta WHERE key IN (?, ?)", *_IDENTITY_KEYS
    )
    identity = {str(key): str(value) for key, value in rows}
    try:
        valid = uuid.UUID(identity["installation_id"]).version == 4
        date.fromisoformat(identity["first_seen"][:10])
    except (KeyError, ValueError):
        return {}
    return identity if valid else {}


def _read_targets(path: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Read what a damaged file shows: pairs weeks went to, and requests waiting."""
    pairs: set[tuple[str, str]] = set()
    for installation_id, endpoints in _read_damaged(
        path, "SELECT installation_id, endpoints FROM weekly_submission"
    ):
        try:
            listed = json.loads(endpoints)
        except (TypeError, ValueError, RecursionError):
            continue
        if isinstance(listed, list):
            pairs.update((installation_id, endpoint) for endpoint in listed)
    requested = set(
        _read_damaged(
            path,
            "SELECT installation_id, endpoint FROM deletion_request "
            "WHERE status IN (?, ?)",
            DeletionStatus.PENDING,
            DeletionStatus.IN_FLIGHT,
        )
    )

    def texts(found: set[Any]) -> set[tuple[str, str]]:
        return {pair for pair in found if all(isinstance(part, str) for part in pair)}

    return texts(pairs | requested), texts(requested)


def moved_aside_copies(path: Path) -> list[Path]:
    """Return the copies of a damaged store file that were moved aside."""
    return sorted(
        candidate
        for candidate in path.parent.glob(f"{path.name}.corrupt-*")
        if not candidate.name.endswith(("-wal", "-shm"))
    )


def delete_store_files(path: Path) -> None:
    """Delete a store file with its journal files and moved-aside copies."""
    for candidate in path.parent.glob(f"{path.name}*"):
        candidate.unlink(missing_ok=True)
    with suppress(OSError):  # other entries still keep their files there
        path.parent.rmdir()
