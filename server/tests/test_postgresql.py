"""What PostgreSQL alone could keep of a deleted installation, and does not."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from tests.conftest import RunningServer, ServerFactory
from tests.databases import PostgresDatabase, until_a_lock_is_awaited
from tests.payloads import SAMPLE_ID, week

pytestmark = pytest.mark.postgresql_only

MONDAY = date(2024, 11, 18)
OTHER_IDS = [f"{number:08x}-1111-4222-8333-444455556666" for number in range(12)]


# What a row of the weeks table holds, but its installation id.
_WEEK_COLUMNS = (
    "period_start, period_end, app_version, python_version, platform, "
    "deployment_mode, country_code, printer_count, printer_type_counts, job_count, "
    "file_count, upload_count, uptime_hours, feature_usage, error_summary"
)


def _postgres(server: RunningServer) -> PostgresDatabase:
    assert isinstance(server.database, PostgresDatabase)
    return server.database


async def test_planner_statistics_hold_no_ids_or_times(server: RunningServer) -> None:
    """ANALYZE samples no id or acceptance time, so a deleted id is in no file.

    Without the statistics target of 0, the id of an installation with more
    weeks than the others is one of pg_statistic's most common values.
    """
    for number in range(4):
        for installation_id in [SAMPLE_ID, *OTHER_IDS[: 2 * number]]:
            response = await server.client.post(
                "/submit",
                json=week(
                    MONDAY - timedelta(weeks=number), installation_id=installation_id
                ),
            )
            assert response.status_code == 200, response.text
        server.clock.advance(hours=1)
    server.database.execute("ANALYZE")

    samples = server.query(
        "SELECT attname, most_common_vals::text, histogram_bounds::text FROM pg_stats "
        "WHERE tablename IN ('submission', 'recent_acceptance') "
        "AND attname IN ('installation_id', 'accepted_at')"
    )
    assert samples == []
    period_samples = server.query(
        "SELECT count(*) FROM pg_stats "
        "WHERE tablename = 'submission' AND attname = 'period_start'"
    )
    assert period_samples == [(1,)], "ANALYZE ran and sampled other columns"

    await server.client.delete(f"/installation/{SAMPLE_ID}")
    await server.runtime.purger.run_once()

    assert SAMPLE_ID.encode() not in server.database_bytes()


async def test_requests_at_once_leave_no_id_in_the_servers_log(
    server: RunningServer,
) -> None:
    """Copies and rivals at once: no refused write puts the id in PostgreSQL's log."""
    copies = [week(MONDAY) for _ in range(6)]
    rivals = [week(MONDAY - timedelta(weeks=number)) for number in range(1, 7)]

    answers = await asyncio.gather(
        *(server.client.post("/submit", json=payload) for payload in copies + rivals)
    )

    # Whichever week wins the hour, one row is new and the rest wait or repeat.
    assert {answer.status_code for answer in answers} <= {200, 429}
    assert server.query("SELECT count(*) FROM submission") == [(1,)]
    assert SAMPLE_ID not in _postgres(server).cluster.server_log()


def _file_of(server: RunningServer, table: str) -> int:
    """Return the number of the file that holds `table`; a rewrite changes it."""
    ((number,),) = server.query(
        "SELECT relfilenode FROM pg_class WHERE relname = ?", table
    )
    assert isinstance(number, int)
    return number


async def test_the_weeks_table_is_rewritten_only_after_deletions(
    server: RunningServer,
) -> None:
    """Every run rewrites the small acceptance table; the large one when owed."""
    response = await server.client.post("/submit", json=week(MONDAY))
    assert response.status_code == 200
    weeks_file = _file_of(server, "submission")
    acceptance_file = _file_of(server, "recent_acceptance")

    await server.runtime.purger.run_once()

    assert _file_of(server, "submission") == weeks_file
    assert _file_of(server, "recent_acceptance") != acceptance_file

    nothing = await server.client.delete(f"/installation/{OTHER_IDS[0]}")
    assert nothing.json()["deleted_count"] == 0
    await server.runtime.purger.run_once()

    assert _file_of(server, "submission") == weeks_file

    await server.client.delete(f"/installation/{SAMPLE_ID}")
    await server.runtime.purger.run_once()

    assert _file_of(server, "submission") != weeks_file


async def test_a_deletion_waits_for_a_week_being_stored(server: RunningServer) -> None:
    """A week stored while its installation's deletion runs goes with it.

    The test plays a submission that has claimed its hour and inserted its
    week but not committed yet, then asks for the deletion. Without the wait,
    PostgreSQL's deletion sees no week, answers, and the week commits after.
    """
    database = _postgres(server)
    response = await server.client.post("/submit", json=week(MONDAY, OTHER_IDS[0]))
    assert response.status_code == 200, response.text
    storing = await database.cluster.connect(database.name)
    try:
        transaction = storing.transaction()
        await transaction.start()
        await storing.execute(
            "INSERT INTO recent_acceptance VALUES ($1, now())", SAMPLE_ID
        )
        await storing.execute(
            f"INSERT INTO submission (id, installation_id, {_WEEK_COLUMNS}) "  # noqa: S608 - our own column names
            f"SELECT 4242, $1, {_WEEK_COLUMNS} FROM submission",
            SAMPLE_ID,
        )
        deletion = asyncio.create_task(
            server.client.delete(f"/installation/{SAMPLE_ID}")
        )
        # The deletion either waits on the held row or (without the wait) ends.
        await until_a_lock_is_awaited(database, given_up=deletion.done)
        await transaction.commit()
        answer = await deletion
    finally:
        await storing.close()

    assert answer.json()["deleted_count"] == 1
    assert server.query(
        "SELECT count(*) FROM submission WHERE installation_id = ?", SAMPLE_ID
    ) == [(0,)]
    assert server.query("SELECT count(*) FROM recent_acceptance") == [(1,)]


async def test_a_deletion_and_the_purge_never_deadlock(servers: ServerFactory) -> None:
    """Both lock an installation's acceptance time before its weeks.

    The installation has a week just past the retention and an acceptance
    time over an hour old, as right after a retention boundary; a held lock
    on its week lines the purge and the deletion up behind each other.
    """
    server = await servers.start(retention_days=1)
    database = _postgres(server)
    monday = server.clock.now.date() - timedelta(days=7)
    response = await server.client.post("/submit", json=week(monday, SAMPLE_ID))
    assert response.status_code == 200, response.text
    server.clock.advance(days=1, hours=2)
    holding = await database.cluster.connect(database.name)
    try:
        transaction = holding.transaction()
        await transaction.start()
        await holding.execute(
            "SELECT 1 FROM submission WHERE installation_id = $1 FOR UPDATE", SAMPLE_ID
        )
        purge = asyncio.create_task(server.runtime.purger.run_once())
        await until_a_lock_is_awaited(database, given_up=purge.done)
        deletion = asyncio.create_task(
            server.client.delete(f"/installation/{SAMPLE_ID}")
        )
        await until_a_lock_is_awaited(database, given_up=deletion.done, waiting=2)
        await transaction.commit()
        answer = await deletion
        purged = await purge
    finally:
        await holding.close()

    assert answer.status_code == 200, answer.text
    assert purged + answer.json()["deleted_count"] == 1
    assert server.query("SELECT count(*) FROM submission") == [(0,)]
