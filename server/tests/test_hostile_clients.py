"""What an attacker found, kept found: each case once broke or bent a promise."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from datetime import date, timedelta
import json

from fastapi import FastAPI
import httpx
import pytest

from printernizer_usage_server.server import uvicorn_config
from printernizer_usage_server.settings import Settings, SettingsError
from tests.conftest import CLIENT_ADDRESS, LogCapture, RunningServer, ServerFactory
from tests.databases import PostgresDatabase, until_a_lock_is_awaited
from tests.payloads import SAMPLE_ID, sample, week

MONDAY = date(2024, 11, 18)
# Bytes an attacker drips in, one a second, well past uvicorn's 5 s keep-alive
# and the 2 s deadline the test sets.
_DRIPS = 15


async def test_a_failing_request_says_and_logs_nothing_of_its_data(
    server: RunningServer, server_logs: LogCapture
) -> None:
    """A failure answers a bare 500 and logs its kind, never a value or a trace."""
    server.database.execute("DROP TABLE submission")

    response = await server.client.post("/submit", json=sample())

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    logs = server_logs.text()
    # The error's kind, as each engine's driver names a missing table.
    kind = (
        "OperationalError" if server.database.engine == "sqlite" else "ProgrammingError"
    )
    assert f"request failed route=/submit error={kind}" in logs
    assert SAMPLE_ID not in logs
    assert "Traceback" not in logs


async def test_weeks_sent_at_once_pass_the_hour_one_at_a_time(
    server: RunningServer,
) -> None:
    """Eight weeks of one installation at once: one is accepted, seven wait."""
    weeks = [week(MONDAY - timedelta(weeks=number)) for number in range(8)]

    answers = await asyncio.gather(
        *(server.client.post("/submit", json=payload) for payload in weeks)
    )

    assert sorted(answer.status_code for answer in answers) == [200] + [429] * 7
    assert server.query("SELECT COUNT(*) FROM submission") == [(1,)]


async def test_one_week_sent_at_once_is_stored_once(server: RunningServer) -> None:
    """Eight copies of one week at once: all accepted, under one id, one row."""
    answers = await asyncio.gather(
        *(server.client.post("/submit", json=week(MONDAY)) for _ in range(8))
    )

    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["submission_id"] for answer in answers}) == 1
    assert server.query("SELECT COUNT(*) FROM submission") == [(1,)]


async def test_a_number_no_float_holds_is_no_json(server: RunningServer) -> None:
    """1e400 would be infinity: refused as JSON, not failed on when answering."""
    body = json_text(sample()).replace('"job_count": 23', '"job_count": 1e400')

    response = await server.client.post(
        "/submit", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


async def test_an_input_no_answer_can_carry_is_not_echoed(
    server: RunningServer,
) -> None:
    """A lone surrogate is refused by its path; the answer leaves the input out."""
    body = json_text(sample()).replace('"DE"', '"\\ud800"')

    response = await server.client.post(
        "/submit", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "installation", "country_code"]
    assert error["input"] is None


async def test_a_trailing_slash_is_no_redirect(server: RunningServer) -> None:
    """No answer builds a Location from the client's Host header."""
    response = await server.client.delete(f"/installation/{SAMPLE_ID}/")

    assert response.status_code == 404
    assert "location" not in response.headers


def test_no_websocket_is_spoken() -> None:
    """An installed WebSocket library would log each upgrade's address and path."""
    assert uvicorn_config(FastAPI()).ws == "none"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_KEYS", " , "),
        ("RETENTION_DAYS", "1000000"),
        ("PURGE_INTERVAL_SECONDS", "1e-9"),
    ],
)
def test_settings_that_would_fail_open_or_later_are_refused(
    name: str, value: str
) -> None:
    """Keys that name no key, or values the service would trip over later."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_environ({f"PNZ_USAGE_{name}": value})


def json_text(payload: object) -> str:
    """Return a payload as the JSON text a client would send."""
    return json.dumps(payload)


@pytest.mark.sqlite_only
async def test_a_body_trickled_in_is_given_up_on(servers: ServerFactory) -> None:
    """A client that never sends the body it announced gets 408, not a held line."""
    server = await servers.start(body_timeout_seconds=0.05)
    url = httpx.URL(str(server.client.base_url))
    reader, writer = await asyncio.open_connection(
        url.host, url.port, local_addr=(CLIENT_ADDRESS, 0)
    )
    try:
        writer.write(
            b"POST /submit HTTP/1.1\r\nHost: stats\r\n"
            b"Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{"
        )
        await writer.drain()
        # The rest never comes; the server's own timer ends the wait.
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
    finally:
        writer.close()

    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == {"detail": "Request body not received in time"}


@pytest.mark.sqlite_only
async def test_a_request_head_that_never_ends_is_cut_off(
    servers: ServerFactory,
) -> None:
    """Half a head holds no connection: at the start, nor after an answer.

    uvicorn alone would keep such a connection open for good, so that many of
    them would use up the server's file descriptors.
    """
    # Long enough that the client's own bytes are in before it ends, even on
    # a machine that stalls now and then.
    server = await servers.start(head_timeout_seconds=2)
    url = httpx.URL(str(server.client.base_url))
    for first_request in (b"", b"GET /health HTTP/1.1\r\nHost: stats\r\n\r\n"):
        reader, writer = await asyncio.open_connection(
            url.host, url.port, local_addr=(CLIENT_ADDRESS, 0)
        )
        try:
            writer.write(first_request + b"POST /submit HTTP/1.1\r\nHost: st")
            await writer.drain()
            # The rest never comes; the server's own timer closes the line.
            received = await reader.read()
        finally:
            writer.close()
        if first_request:
            assert received.startswith(b"HTTP/1.1 200 ")
            assert received.count(b"HTTP/1.1") == 1
        else:
            assert received == b""


@pytest.mark.postgresql_only
async def test_a_request_the_database_holds_up_is_not_cut_off(
    servers: ServerFactory,
) -> None:
    """The deadline is for the head: a request waiting on the database runs on."""
    server = await servers.start(head_timeout_seconds=0.05)
    database = server.database
    assert isinstance(database, PostgresDatabase)
    holding = await database.cluster.connect(database.name)
    try:
        transaction = holding.transaction()
        await transaction.start()
        # Another submission of the same installation, not committed yet.
        await holding.execute(
            "INSERT INTO recent_acceptance VALUES ($1, now())", SAMPLE_ID
        )
        answer = asyncio.create_task(server.client.post("/submit", json=sample()))
        await until_a_lock_is_awaited(database)
        await asyncio.sleep(0.2)  # well past the head's deadline
        await transaction.rollback()
        response = await answer
    finally:
        await holding.close()

    assert response.status_code == 200


async def test_a_value_nested_near_the_parsers_limit_is_refused_plainly(
    server: RunningServer,
) -> None:
    """Near what the parser takes, where a 422 would quote it: a plain 422."""
    base = json.dumps(week(MONDAY))
    statuses = set()
    for depth in range(900, 1000, 4):
        nested = "[" * depth + "]" * depth
        response = await server.client.post(
            "/submit",
            content=base.replace('"DE"', nested),
            headers={"content-type": "application/json"},
        )
        statuses.add(response.status_code)
        [item] = response.json()["detail"]
        if item["loc"] != ["body"]:  # the body itself, where the parser gave up
            assert item["loc"] == ["body", "installation", "country_code"]
            assert item["input"] is None
    assert statuses == {422}


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Read until the other end closes the connection, or resets it."""
    with suppress(ConnectionResetError):
        while await reader.read(1024):
            pass


@pytest.mark.sqlite_only
async def test_a_body_left_unsent_after_the_answer_holds_no_connection(
    servers: ServerFactory,
) -> None:
    """Answered before its body was in, a connection ends at the deadline.

    Otherwise the rest of the body could come a byte at a time, each byte
    resetting uvicorn's keep-alive timer, for ever.
    """
    server = await servers.start(head_timeout_seconds=2, body_timeout_seconds=0.05)
    url = httpx.URL(str(server.client.base_url))
    heads = (
        b"GET /health HTTP/1.1\r\nHost: stats\r\nContent-Length: 100000\r\n\r\n{",
        b"POST /submit HTTP/1.1\r\nHost: stats\r\nContent-Length: 400\r\n\r\n{",
    )
    for head in heads:
        reader, writer = await asyncio.open_connection(
            url.host, url.port, local_addr=(CLIENT_ADDRESS, 0)
        )
        try:
            writer.write(head)
            await writer.drain()
            answer = await reader.readuntil(b"\r\n\r\n")
            # Then the attacker's drip: one byte of body a second, each within
            # uvicorn's keep-alive timeout (5 s), until the server hangs up
            # (with a reset, if a dripped byte is still unread then).
            closed = asyncio.create_task(_until_closed(reader))
            for _ in range(_DRIPS):
                done, _pending = await asyncio.wait({closed}, timeout=1)
                if done:
                    break
                writer.write(b" ")
        finally:
            writer.close()
        assert answer.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 408 "))
        assert closed.done(), "the connection outlived its answer"


async def test_keys_and_lists_no_answer_could_carry_or_check_quickly(
    server: RunningServer,
) -> None:
    """A key that is a lone surrogate, a list of thousands: plain 422s."""
    surrogate_key = '{"\\ud800": ' + "[" * 17 + "]" * 17 + "}"
    long_list = json.dumps(
        {**week(MONDAY), "printer_fleet": {"printer_types": list(range(1300))}}
    )
    answers = [
        await server.client.post(
            "/submit", content=body, headers={"content-type": "application/json"}
        )
        for body in (surrogate_key, long_list)
    ]
    assert [answer.status_code for answer in answers] == [422, 422]
    assert answers[0].json()["detail"][0]["loc"] == ["body", "?"]
    assert answers[1].json()["detail"][0]["loc"] == [
        "body",
        "printer_fleet",
        "printer_types",
    ]
