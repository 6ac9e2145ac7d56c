"""The store of one config entry: its open file, and every operation on it."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from pathlib import Path
import sqlite3
from typing import Any

from ..collector import CollectorState, FailedPoll, PollOutcome
from ..consent import ConsentHistory
from ..outbox import Outbox
from ..payload import InstallationIdentity, PrinternizerFacts, WeekCounts
from . import (
    database,
    deletion,
    export,
    installation,
    polls,
    recovery,
    schema,
    sharing_rows,
    statistics,
)
from .sharing_rows import LoggedAttempt, SharingRecord
from .statistics import StatisticsView


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
            connection = recovery.connect(path)
        except recovery.CorruptFileError:
            moved_aside = recovery.move_aside(path, now)
            identity = recovery.read_identity(moved_aside)
            connection = recovery.connect(path)
        store = cls(connection, path)
        try:
            schema.migrate(connection)
            schema.initialise(connection, identity)
        except BaseException:
            # A busy file fails here, and setup retries: leave nothing open.
            connection.close()
            raise
        return store, moved_aside

    def _meta(self, key: str) -> str | None:
        """Return a meta value as stored, if there is one."""
        return database.meta_text(self._db, key)

    def _meta_json(self, key: str) -> Any:
        """Return a meta value that holds JSON."""
        return database.meta_json(self._db, key)

    def load_collector_state(self, baseline_id: str) -> CollectorState:
        """Return what the collector remembered, for the entry's baseline id.

        The entry gets a new random baseline id whenever it is pointed at
        another Printernizer; the baselines are then learned again, since items
        there are not new just because they were not seen before. (A random id
        rather than anything derived from the address keeps the address out of
        this file.)
        """
        return polls.load_collector_state(self._db, baseline_id)

    def record_poll(self, outcome: PollOutcome | FailedPoll) -> StatisticsView:
        """Save a poll in one transaction; return the view of its week."""
        return polls.record_poll(self._db, outcome)

    def statistics_view(self, today: date) -> StatisticsView:
        """Return the totals of the UTC week holding today."""
        return statistics.statistics_view(self._db, today)

    def week_counts(self, week: date) -> WeekCounts:
        """Return one UTC week's counts and flags, as a payload is built from."""
        return statistics.week_counts(self._db, week)

    def printernizer_facts(self) -> PrinternizerFacts:
        """Return what Printernizer last reported about itself and its fleet."""
        return statistics.printernizer_facts(self._db)

    def installation_identity(self, today: date) -> InstallationIdentity:
        """Return the installation identity, creating it when first needed.

        It is random (UUIDv4), tied to nothing on this machine, and made only
        when a week is built for it, so an installation that never shares
        never has one, and every id (the first, or one after a regeneration or
        a deletion) begins the same way: its first day is that of its first
        payload.
        """
        return installation.installation_identity(self._db, today)

    def stored_identity(self) -> InstallationIdentity | None:
        """Return the installation identity if one was made, creating none."""
        return installation.stored_identity(self._db)

    def current_installation_id(self) -> str | None:
        """Return the id in use, if one was made."""
        return installation.current_installation_id(self._db)

    def deletion_owed(self) -> bool:
        """Tell whether a deletion request still waits for the targets file."""
        return sharing_rows.deletion_owed(self._db)

    def owe_deletion(self, owed: bool) -> None:
        """Note, or clear, that a deletion request waits for the targets file."""
        sharing_rows.owe_deletion(self._db, owed)

    def send_offset(self) -> timedelta:
        """Return how long after each week's end the id sends; drawn if missing."""
        return installation.send_offset(self._db)

    def load_sharing(self) -> SharingRecord:
        """Return consent, outbox and schedule; draw the send offset the first time."""
        return sharing_rows.load_sharing(self._db)

    def clock_high_water(self) -> datetime | None:
        """Return the latest time a poll was recorded at."""
        return polls.clock_high_water(self._db)

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
        sharing_rows.save_sharing(
            self._db, history, outbox, attempt=attempt, retire_id=retire_id
        )

    def export(self) -> dict[str, Any]:
        """Return every statistic kept locally, in the documented export format.

        The salt and the hashes of seen ids are never part of it.
        """
        return export.export(self._db)

    def summary(self) -> dict[str, Any]:
        """Describe the file without any of its content, for diagnostics."""
        return export.summary(self._db, self.path)

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
        return deletion.deletion_targets(self._db, self.path, merged_copies)

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
        return deletion.delete_local_statistics(self._db, self.path, now)

    def checkpoint(self) -> None:
        """Move everything from the write-ahead log into the main file."""
        database.checkpoint(self._db)

    def close(self) -> None:
        """Checkpoint and close the file.

        A file too damaged to checkpoint is closed all the same; opening it
        again moves it aside.
        """
        with suppress(sqlite3.Error):
            self.checkpoint()
        self._db.close()
