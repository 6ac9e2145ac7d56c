"""The SQLite store: migrations, persistence, recovery, refusal and removal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
import sqlite3
import uuid

import pytest

from custom_components.printernizer_usage.api import RuntimeFacts
from custom_components.printernizer_usage.collector import (
    FailedPoll,
    PollOutcome,
    error_dimension,
)
from custom_components.printernizer_usage.const import (
    MAX_REMEMBERED_ITEMS,
    DeploymentMode,
    ErrorType,
    FeatureFlag,
    Listing,
    Metric,
    PlatformFamily,
    PrinterType,
)
from custom_components.printernizer_usage.payload import (
    serialise,
)
from custom_components.printernizer_usage.store import (
    SCHEMA_VERSION,
    LocalStatisticsStore,
    StatisticsView,
    StoreSchemaTooNewError,
    day_number,
    delete_store_files,
    recovery as store_module,
)
from custom_components.printernizer_usage.week_payload import build_week_payload

from .simulator.collection import validate_submission

NOW = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)  # a Wednesday
BASELINE_ID = "6f0c2b1e9d8a4c7b"
RUNTIME = RuntimeFacts("3.12.1", PlatformFamily.LINUX, DeploymentMode.DOCKER)


FLEET = {PrinterType.BAMBU_LAB: 2, PrinterType.PRUSA: 1}


def poll_outcome(
    observed_at: datetime = NOW,
    *,
    increments: dict[tuple[Metric, str], int] | None = None,
    new_keys: dict[Listing, tuple[bytes, ...]] | None = None,
    flags: dict[FeatureFlag, bool] | None = None,
    printers_in_error: frozenset[bytes] | None = frozenset(),
    fleet: dict[PrinterType, int] | None = FLEET,
    runtime: RuntimeFacts | None = RUNTIME,
) -> PollOutcome:
    """Return the outcome of a poll that reached Printernizer."""
    return PollOutcome(
        observed_at=observed_at,
        increments=increments or {},
        errors=(),
        new_keys=new_keys or {},
        baselines=frozenset({Listing.JOBS}),
        printers_in_error=printers_in_error,
        uptime_hour=observed_at.replace(minute=0, second=0, microsecond=0),
        fleet=fleet,
        flags=flags or {FeatureFlag.LIBRARY: True},
        app_version="2.42.0",
        runtime=runtime,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Return where the test's store lives."""
    return tmp_path / ".storage" / "printernizer_usage" / "entry.db"


@pytest.fixture
def store(path: Path) -> Iterator[LocalStatisticsStore]:
    """Return a freshly created store."""
    opened, moved_aside = LocalStatisticsStore.open(path, NOW)
    assert moved_aside is None
    yield opened
    opened.close()


def test_a_version_three_file_forgets_the_failed_files_list(path: Path) -> None:
    """The list of failed files is no longer read; its remembered items go.

    Without the migration the collector state of such a file would not load.
    """
    store, _ = LocalStatisticsStore.open(path, NOW)
    store.record_poll(
        poll_outcome(
            increments={(Metric.JOBS, ""): 2}, new_keys={Listing.JOBS: (b"\x01" * 8,)}
        )
    )
    store._db.execute(
        "INSERT INTO remembered_items VALUES ('failed_files', ?)", (b"\x02" * 8,)
    )
    store._db.execute(
        "INSERT OR REPLACE INTO meta VALUES ('baselines', ?)",
        (json.dumps(["jobs", "failed_files"]),),
    )
    # One counted under the old code.
    store._db.execute(
        "INSERT INTO day_bucket VALUES "
        "(?, 'errors', 'file_download_failed/file_service', 1)",
        (day_number(NOW.date()),),
    )
    store._db.execute("PRAGMA user_version = 3")
    store.close()
    store, _ = LocalStatisticsStore.open(path, NOW)
    assert store._meta_json("baselines") == ["jobs"]
    assert set(store.load_collector_state("").seen) == {Listing.JOBS}
    view = store.statistics_view(NOW.date())
    assert (view.jobs, view.errors) == (2, {})
    store.close()


@pytest.mark.parametrize("baselines", ["not json", '["jobs"', '{"jobs": 1}', "null"])
def test_the_schema_four_migration_survives_odd_baselines(
    path: Path, baselines: str
) -> None:
    """A baselines value that is no JSON list is dropped: they are learned again."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store._db.execute(
        "INSERT OR REPLACE INTO meta VALUES ('baselines', ?)", (baselines,)
    )
    store._db.execute("PRAGMA user_version = 3")
    store.close()
    store, _ = LocalStatisticsStore.open(path, NOW)
    assert store._meta("baselines") is None
    store.close()


def test_an_error_type_no_longer_known_is_not_shown(
    store: LocalStatisticsStore,
) -> None:
    """A hand-edited or outdated error bucket is skipped, not a failed view."""
    store._db.execute(
        "INSERT INTO day_bucket VALUES (?, 'errors', 'made_up/x', 3)",
        (day_number(NOW.date()),),
    )
    view = store.statistics_view(NOW.date())
    assert view.errors == {}


def test_new_file_is_migrated(store: LocalStatisticsStore, path: Path) -> None:
    """A new file gets the current schema, WAL and secure delete."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"meta", "day_bucket", "feature_flag_week", "remembered_items"} <= tables
    db.close()
    assert store._db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_counts_add_up_within_the_utc_week(store: LocalStatisticsStore) -> None:
    """Buckets of the same day add up; the view covers Monday to Sunday UTC."""
    store.record_poll(poll_outcome(increments={(Metric.JOBS, ""): 2}))
    store.record_poll(poll_outcome(increments={(Metric.JOBS, ""): 3}))
    sunday = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    store.record_poll(poll_outcome(sunday, increments={(Metric.UPLOADS, ""): 1}))
    monday = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    next_week = store.record_poll(
        poll_outcome(monday, increments={(Metric.JOBS, ""): 4})
    )
    this_week = store.statistics_view(date(2026, 11, 23))
    assert this_week == StatisticsView(
        week_start=date(2026, 11, 23), jobs=5, uploads=1, printer_count=3
    )
    assert next_week.week_start == date(2026, 11, 30)
    assert next_week.jobs == 4
    assert next_week.uploads == 0


def test_failed_polls_count_errors(store: LocalStatisticsStore) -> None:
    """A failed poll adds one error of its type and changes nothing else."""
    view = store.record_poll(FailedPoll(NOW, ErrorType.CONNECTION_REFUSED))
    view = store.record_poll(FailedPoll(NOW, ErrorType.CONNECTION_REFUSED))
    view = store.record_poll(FailedPoll(NOW, ErrorType.RATE_LIMITED))
    assert view.errors == {
        ErrorType.CONNECTION_REFUSED: 2,
        ErrorType.RATE_LIMITED: 1,
    }
    assert view.error_total == 3
    assert view.printer_count is None
    buckets = store.export()["day_buckets"]
    assert {
        "day": "2026-11-25",
        "metric": "errors",
        "dimension": "connection_refused/printernizer_api",
        "count": 2,
    } in buckets


def test_reopen_keeps_counts_and_collector_state(path: Path) -> None:
    """Closing and opening again (a restart) loses nothing."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store.load_collector_state(BASELINE_ID)
    key = b"\xaa" * 8
    store.record_poll(
        poll_outcome(
            increments={(Metric.FILES, ""): 7},
            new_keys={Listing.JOBS: (b"\x01" * 8, b"\x02" * 8)},
            printers_in_error=frozenset({key}),
        )
    )
    before = store.load_collector_state(BASELINE_ID)
    store.close()
    store, _ = LocalStatisticsStore.open(path, NOW)
    state = store.load_collector_state(BASELINE_ID)
    assert state == before
    assert list(state.seen[Listing.JOBS]) == [b"\x01" * 8, b"\x02" * 8]
    assert state.baselines == {Listing.JOBS}
    assert state.printers_in_error == {key}
    assert state.last_uptime_hour == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert store.statistics_view(NOW.date()).files == 7
    store.close()


def test_the_day_each_list_was_read_survives_a_restart(path: Path) -> None:
    """A list that failed keeps the day of its last read; the others move on."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store.record_poll(poll_outcome(new_keys={Listing.JOBS: (), Listing.UPLOADS: ()}))
    later = NOW + timedelta(days=2)
    store.record_poll(poll_outcome(later, new_keys={Listing.UPLOADS: ()}))
    store.close()
    store, _ = LocalStatisticsStore.open(path, later)
    assert store.load_collector_state(BASELINE_ID).last_read == {
        Listing.JOBS: NOW.date(),
        Listing.UPLOADS: later.date(),
    }
    store.close()


@pytest.mark.parametrize(
    ("stored", "loaded"),
    [
        ("not json", {}),
        ('["jobs"]', {}),
        ('{"jobs": "yesterday", "uploads": 7, "files": null}', {}),
        (
            '{"jobs": "2026-11-24", "printers": "2026-11-24"}',
            {Listing.JOBS: date(2026, 11, 24)},
        ),
    ],
)
def test_a_hand_edited_read_day_is_dropped(
    store: LocalStatisticsStore, stored: str, loaded: dict[Listing, date]
) -> None:
    """Values the store never wrote are left out; the rest still loads."""
    store._db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_read_days', ?)",
        (stored,),
    )
    assert store.load_collector_state(BASELINE_ID).last_read == loaded


def test_another_server_learns_baselines_again(store: LocalStatisticsStore) -> None:
    """Pointing the entry at another Printernizer must not count its history."""
    store.load_collector_state(BASELINE_ID)
    store.record_poll(poll_outcome(printers_in_error=frozenset({b"\x01" * 8})))
    assert store.load_collector_state(BASELINE_ID).baselines == {Listing.JOBS}
    moved = store.load_collector_state("a1b2c3d4e5f60718")
    assert moved.baselines == set()
    assert moved.printers_in_error == frozenset()


def test_remembered_items_stay_bounded(store: LocalStatisticsStore) -> None:
    """The file keeps at most 5,000 item keys per list, the newest."""
    keys = tuple(index.to_bytes(8, "big") for index in range(MAX_REMEMBERED_ITEMS + 10))
    store.record_poll(poll_outcome(new_keys={Listing.UPLOADS: keys[:10]}))
    store.record_poll(poll_outcome(new_keys={Listing.UPLOADS: keys[10:]}))
    seen = store.load_collector_state(BASELINE_ID).seen[Listing.UPLOADS]
    assert list(seen) == list(keys[10:])


def test_parts_not_read_keep_what_was_known(store: LocalStatisticsStore) -> None:
    """A poll whose fleet, printers or runtime failed keeps the earlier values."""
    store.load_collector_state(BASELINE_ID)
    key = b"\x05" * 8
    store.record_poll(poll_outcome(printers_in_error=frozenset({key})))
    before = store.export()
    store.record_poll(poll_outcome(printers_in_error=None, fleet=None, runtime=None))
    after = store.export()
    assert after["printer_fleet"] == before["printer_fleet"]
    assert after["printernizer"] == before["printernizer"]
    assert store.load_collector_state(BASELINE_ID).printers_in_error == {key}


def test_feature_flags_keep_the_last_value_of_each_week(
    store: LocalStatisticsStore,
) -> None:
    """A flag observed several times in a week keeps the last value."""
    store.record_poll(poll_outcome(flags={FeatureFlag.TIMELAPSE: False}))
    store.record_poll(poll_outcome(flags={FeatureFlag.TIMELAPSE: True}))
    assert store.export()["feature_flags"] == [
        {"week_start": "2026-11-23", "flag": "timelapse_enabled", "enabled": True}
    ]


def test_export_holds_statistics_but_no_salt_or_hashes(
    store: LocalStatisticsStore,
) -> None:
    """The export is complete, and never contains the salt or seen-id hashes."""
    key = bytes(range(8))
    store.record_poll(
        poll_outcome(
            increments={(Metric.JOBS, ""): 1},
            new_keys={Listing.JOBS: (key,)},
            printers_in_error=frozenset({key}),
        )
    )
    export = store.export()
    assert export == {
        "export_version": 1,
        "installation": None,
        "printernizer": {
            "app_version": "2.42.0",
            "python_version": "3.12.1",
            "platform": "linux",
            "deployment_mode": "docker",
        },
        "printer_fleet": {
            "printer_count": 3,
            "printer_type_counts": {"bambu_lab": 2, "prusa": 1},
        },
        "day_buckets": [
            {"day": "2026-11-25", "metric": "jobs", "dimension": "", "count": 1},
        ],
        "feature_flags": [
            {"week_start": "2026-11-23", "flag": "library_enabled", "enabled": True}
        ],
        "consent_history": [],
        "weekly_submissions": [],
        "deletion_requests": [],
        "submission_log": [],
    }
    text = json.dumps(export)
    salt = store._meta("salt")
    assert salt is not None
    assert salt not in text
    assert key.hex() not in text


def test_summary_describes_without_content(store: LocalStatisticsStore) -> None:
    """Diagnostics get sizes and counts, not values."""
    store.record_poll(
        poll_outcome(
            increments={(Metric.JOBS, ""): 1}, new_keys={Listing.JOBS: (b"\x01" * 8,)}
        )
    )
    summary = store.summary()
    assert summary["schema_version"] == SCHEMA_VERSION
    assert summary["remembered_items"] == {"jobs": True}
    assert summary["has_statistics"] is True
    assert summary["file_size_mib"] == 1
    # No date: the first one would be close to the id's first_seen.
    assert "2026-11-25" not in str(summary)


def test_installation_identity_is_created_lazily(path: Path) -> None:
    """No id until one is asked for; then a UUIDv4 that stays across restarts."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    assert store.export()["installation"] is None
    identity = store.installation_identity(date(2026, 11, 2))
    assert uuid.UUID(identity.installation_id).version == 4
    assert identity.first_seen == date(2026, 11, 2)
    assert store.installation_identity(date(2026, 11, 30)) == identity
    store.close()
    store, _ = LocalStatisticsStore.open(path, NOW)
    assert store.installation_identity(NOW.date()) == identity
    assert store.export()["installation"] == {
        "installation_id": identity.installation_id,
        "first_seen": "2026-11-02",
    }
    store.close()


def test_corrupt_file_is_moved_aside_keeping_the_identity(path: Path) -> None:
    """A damaged file is replaced, and the ids it held are carried over."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    identity = store.installation_identity(date(2026, 11, 2))
    for day in range(2000):
        store._db.execute("INSERT INTO day_bucket VALUES (?, 'jobs', '', 1)", (day,))
    store.close()
    data = bytearray(path.read_bytes())
    data[-8192:] = b"\xff" * 8192  # damage the last pages, where buckets live
    path.write_bytes(bytes(data))

    store, moved_aside = LocalStatisticsStore.open(path, NOW)
    assert moved_aside == path.with_name("entry.db.corrupt-20261125T100500Z")
    assert moved_aside.exists()
    assert store.installation_identity(NOW.date()) == identity
    assert store.export()["day_buckets"] == []
    store.record_poll(poll_outcome(increments={(Metric.JOBS, ""): 1}))
    store.close()


def test_two_damaged_files_in_one_second_keep_two_copies(path: Path) -> None:
    """The second copy of the same second gets a name of its own."""
    names = []
    path.parent.mkdir(parents=True, exist_ok=True)
    for content in (b"first damage" * 100, b"second damage" * 100):
        path.write_bytes(content)
        store, moved_aside = LocalStatisticsStore.open(path, NOW)
        store.close()
        assert moved_aside is not None
        assert moved_aside.read_bytes() == content
        names.append(moved_aside.name)
    assert names == [
        "entry.db.corrupt-20261125T100500Z",
        "entry.db.corrupt-20261125T100500Z-2",
    ]


@pytest.mark.parametrize(
    "content", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\x00" * 50]
)
def test_unreadable_file_is_replaced(path: Path, content: bytes) -> None:
    """A file that is not a database at all is moved aside; nothing to recover."""
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    Path(f"{path}-wal").write_bytes(b"junk")
    store, moved_aside = LocalStatisticsStore.open(path, NOW)
    assert moved_aside is not None
    assert moved_aside.read_bytes() == content
    assert store.export()["installation"] is None
    store.close()


def test_identity_is_recovered_only_when_valid(path: Path) -> None:
    """Unreadable or malformed ids are not carried into the fresh file."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store._db.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("installation_id", "not-a-uuid"), ("first_seen", "2026-11-02")],
    )
    for day in range(2000):
        store._db.execute("INSERT INTO day_bucket VALUES (?, 'jobs', '', 1)", (day,))
    store.close()
    data = bytearray(path.read_bytes())
    data[-8192:] = b"\x00" * 8192
    path.write_bytes(bytes(data))
    store, moved_aside = LocalStatisticsStore.open(path, NOW)
    assert moved_aside is not None
    assert store.export()["installation"] is None
    store.close()


def test_newer_schema_is_never_touched(path: Path) -> None:
    """A file from a newer version is refused and left exactly as it was."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store._db.execute("PRAGMA user_version = 99")
    store.close()
    before = path.read_bytes()
    with pytest.raises(StoreSchemaTooNewError) as caught:
        LocalStatisticsStore.open(path, NOW)
    assert caught.value.found == 99
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["entry.db"]


def test_unopenable_path_is_an_error_not_corruption(path: Path) -> None:
    """A path that cannot be opened is reported, never moved aside as corrupt."""
    path.mkdir(parents=True)
    with pytest.raises(sqlite3.OperationalError):
        LocalStatisticsStore.open(path, NOW)
    assert path.is_dir()
    assert list(path.parent.iterdir()) == [path]


def test_removal_deletes_every_file(path: Path) -> None:
    """The file, its journals and moved-aside copies all go with the entry."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store.record_poll(poll_outcome())
    assert Path(f"{path}-wal").exists()
    Path(f"{path}.corrupt-20261101T000000Z").write_bytes(b"old")
    Path(f"{path}.corrupt-20261101T000000Z-wal").write_bytes(b"old")
    other = path.with_name("other-entry.db")
    other.write_bytes(b"another entry's file")
    delete_store_files(path)
    assert list(path.parent.iterdir()) == [other]
    store.close()
    delete_store_files(path)
    other.unlink()
    delete_store_files(path)
    assert not path.parent.exists()


def test_checkpoint_empties_the_write_ahead_log(store: LocalStatisticsStore) -> None:
    """Before a backup, everything is in the main file."""
    store.record_poll(poll_outcome(increments={(Metric.JOBS, ""): 1}))
    wal = Path(f"{store.path}-wal")
    assert wal.stat().st_size > 0
    store.checkpoint()
    assert wal.stat().st_size == 0


def test_errors_view_splits_dimensions(store: LocalStatisticsStore) -> None:
    """Errors are shown per type, whatever their component."""
    dimension = error_dimension(ErrorType.PRINTER_ERROR)
    view = store.record_poll(poll_outcome(increments={(Metric.ERRORS, dimension): 2}))
    assert view.errors == {ErrorType.PRINTER_ERROR: 2}


def test_inconsistent_file_is_replaced(path: Path) -> None:
    """A file that opens but fails its check is treated as damaged."""
    store, _ = LocalStatisticsStore.open(path, NOW)
    store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE probe (x)")
    db.execute("INSERT INTO probe VALUES (NULL)")
    db.execute("PRAGMA writable_schema = ON")
    db.execute(
        "UPDATE sqlite_master SET sql = 'CREATE TABLE probe (x NOT NULL)' "
        "WHERE name = 'probe'"
    )
    db.close()
    store, moved_aside = LocalStatisticsStore.open(path, NOW)
    assert moved_aside is not None
    store.close()


def test_locked_file_is_an_error_not_corruption(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file another process holds is reported, and left where it is."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", timedelta(milliseconds=50))
    path.parent.mkdir(parents=True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(sqlite3.OperationalError):
        LocalStatisticsStore.open(path, NOW)
    holder.execute("ROLLBACK")
    holder.close()
    assert sorted(p.name for p in path.parent.iterdir()) == ["entry.db"]


def test_a_payload_from_stored_statistics(store: LocalStatisticsStore) -> None:
    """What the store keeps for a week builds a payload the server accepts."""
    store.load_collector_state(BASELINE_ID)
    errors = (Metric.ERRORS, error_dimension(ErrorType.SERVER_ERROR))
    store.record_poll(
        poll_outcome(
            increments={(Metric.JOBS, ""): 4, (Metric.UPTIME_HOURS, ""): 1, errors: 2},
            flags={FeatureFlag.LIBRARY: True, FeatureFlag.TIMELAPSE: False},
        )
    )
    week = date(2026, 11, 23)
    identity = store.installation_identity(date(2026, 11, 1))
    installation_id, body = build_week_payload(
        store, week, 1, "Europe/Berlin", date(2026, 12, 1)
    )
    assert installation_id == identity.installation_id
    payload = json.loads(body)
    assert validate_submission(payload) == []
    assert body == serialise(payload)
    assert payload["submission_timestamp"] == "2026-12-01T00:00:00Z"
    assert payload["installation"]["country_code"] == "DE"
    assert payload["usage_stats"] == {
        "job_count": 4,
        "file_count": 0,
        "upload_count": 0,
        "uptime_hours": 1,
        "feature_usage": {"library_enabled": True, "timelapse_enabled": False},
    }
    assert payload["error_summary"] == {"server_error": 2}
    assert payload["printer_fleet"]["printer_type_counts"] == {
        "bambu_lab": 2,
        "prusa": 1,
    }
    assert payload["installation"]["deployment_mode"] == "docker"
    empty_week = store.week_counts(date(2026, 11, 30))
    assert (empty_week.jobs, empty_week.feature_flags) == (0, {})
