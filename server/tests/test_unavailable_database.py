"""A database that is busy or briefly gone: a retryable answer, then service again."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import RunningServer
from tests.databases import PostgresDatabase, SqliteDatabase
from tests.payloads import sample


@pytest.mark.sqlite_only
async def test_a_database_locked_elsewhere_answers_503_with_retry_after(
    server: RunningServer,
) -> None:
    """Another process holds the file's lock past the wait: 503, try again later."""
    assert isinstance(server.database, SqliteDatabase)
    blocker = sqlite3.connect(server.database.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        refused = await server.client.post("/submit", json=sample())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "60"
    assert refused.json() == {"detail": "Service temporarily unavailable"}
    retried = await server.client.post("/submit", json=sample())
    assert retried.status_code == 200


@pytest.mark.postgresql_only
async def test_connections_the_database_dropped_are_replaced_unnoticed(
    server: RunningServer,
) -> None:
    """After PostgreSQL ends the service's connections (a restart), requests pass."""
    assert isinstance(server.database, PostgresDatabase)
    first = await server.client.post("/submit", json=sample())
    ended = server.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    assert ended, "the service held a pooled connection"

    again = await server.client.post("/submit", json=sample())

    assert first.status_code == again.status_code == 200
    assert again.json()["submission_id"] == first.json()["submission_id"]
