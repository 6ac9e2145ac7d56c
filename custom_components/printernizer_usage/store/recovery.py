"""Opening the file, and keeping what a damaged one still shows."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
import sqlite3
from typing import Any, Final
import uuid

from ..outbox import DeletionStatus
from .schema import SCHEMA_VERSION

# How long to wait for another process holding the file before giving up.
BUSY_TIMEOUT: Final = timedelta(seconds=10)

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


class CorruptFileError(Exception):
    """The file is not a readable SQLite database of ours."""


def is_corruption(err: sqlite3.Error) -> bool:
    """Tell whether SQLite found the file damaged (rather than busy or full)."""
    return getattr(err, "sqlite_errorcode", None) in _CORRUPTION_CODES


def connect(path: Path) -> sqlite3.Connection:
    """Open a file of ours, or raise CorruptFileError / StoreSchemaTooNewError."""
    connection = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT.total_seconds()
    )
    try:
        if connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise CorruptFileError
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
            raise CorruptFileError from err
        raise
    except BaseException:
        connection.close()
        raise
    return connection


def move_aside(path: Path, now: datetime) -> Path:
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


def read_identity(path: Path) -> dict[str, str]:
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


def read_targets(path: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
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
