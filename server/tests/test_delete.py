"""DELETE /installation/{id}: everything of that id goes before the answer."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import LogCapture, RunningServer
from tests.payloads import OTHER_ID, SAMPLE_ID, week

WEEKS = (date(2024, 11, 4), date(2024, 11, 11), date(2024, 11, 18))


async def _submit_weeks(server: RunningServer, installation_id: str) -> None:
    for start in WEEKS:
        response = await server.client.post(
            "/submit", json=week(start, installation_id=installation_id)
        )
        assert response.status_code == 200, response.text
        server.clock.advance(hours=1)


async def test_deletion_removes_every_trace_before_answering(
    server: RunningServer, server_logs: LogCapture
) -> None:
    """No row of the id is left at the 200, and no byte after the next run.

    On SQLite the bytes are gone at the 200 already; others' rows stay.
    """
    await _submit_weeks(server, SAMPLE_ID)
    await _submit_weeks(server, OTHER_ID)
    assert SAMPLE_ID.encode() in server.database_bytes()

    response = await server.client.delete(f"/installation/{SAMPLE_ID}")

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "success"
    assert answer["deleted_count"] == len(WEEKS)
    assert isinstance(answer["message"], str)
    assert server.query(
        "SELECT count(*) FROM submission WHERE installation_id = ?", SAMPLE_ID
    ) == [(0,)]
    if server.database.engine == "postgresql":
        # PostgreSQL keeps a deleted row's bytes until the next periodic run
        # rewrites the table (compaction.py); SQLite has overwritten them.
        await server.runtime.purger.run_once()
    # Read with the server still running.
    raw = server.database_bytes()
    assert SAMPLE_ID.encode() not in raw
    assert SAMPLE_ID.replace("-", "").encode() not in raw
    assert SAMPLE_ID not in server_logs.text()
    assert server.query("SELECT count(*) FROM submission") == [(len(WEEKS),)]
    assert OTHER_ID.encode() in raw


async def test_deletion_is_idempotent(server: RunningServer) -> None:
    """A repeat, or an id never seen, is a success with nothing deleted."""
    await _submit_weeks(server, SAMPLE_ID)
    first = await server.client.delete(f"/installation/{SAMPLE_ID}")
    again = await server.client.delete(f"/installation/{SAMPLE_ID}")
    unknown = await server.client.delete(f"/installation/{OTHER_ID}")

    assert first.json()["deleted_count"] == len(WEEKS)
    for response in (again, unknown):
        assert response.status_code == 200
        assert response.json()["status"] == "success"
        assert response.json()["deleted_count"] == 0


async def test_deletion_ends_the_hourly_limit_too(server: RunningServer) -> None:
    """The acceptance time goes with the installation: nothing of it is left."""
    response = await server.client.post("/submit", json=week(WEEKS[0]))
    assert response.status_code == 200
    await server.client.delete(f"/installation/{SAMPLE_ID}")

    assert server.query("SELECT count(*) FROM recent_acceptance") == [(0,)]
    again = await server.client.post("/submit", json=week(WEEKS[1]))
    assert again.status_code == 200


async def test_audit_line_has_the_day_and_count_only(
    server: RunningServer, server_logs: LogCapture
) -> None:
    """One audit line per deletion, without the id."""
    await _submit_weeks(server, SAMPLE_ID)
    day = server.clock.now.date().isoformat()

    await server.client.delete(f"/installation/{SAMPLE_ID}")
    await server.client.delete(f"/installation/{SAMPLE_ID}")

    audit = [
        line
        for line in server_logs.lines
        if line.startswith("printernizer_usage_server.audit")
    ]
    assert audit == [
        f"printernizer_usage_server.audit INFO deletion day={day} deleted=3",
        f"printernizer_usage_server.audit INFO deletion day={day} deleted=0",
    ]


@pytest.mark.parametrize(
    "installation_id",
    [
        SAMPLE_ID.upper(),
        "550e8400-e29b-11d4-a716-446655440000",  # version 1
        "550e8400e29b41d4a716446655440000",
        "not-an-id",
        f"{SAMPLE_ID}%0A",
    ],
)
async def test_id_must_be_a_uuid4(server: RunningServer, installation_id: str) -> None:
    """Anything but a lowercase UUIDv4 gets a 422 naming the path parameter."""
    response = await server.client.delete(f"/installation/{installation_id}")

    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["path", "installation_id"]
    assert item["type"] == "string_pattern_mismatch"
