"""The collection-server client over real HTTP: headers, verdicts, failures, URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
import re
from typing import Any, cast

import aiohttp
import pytest

from custom_components.printernizer_usage import submitter
from custom_components.printernizer_usage.outbox import AttemptResult, idempotency_key
from custom_components.printernizer_usage.payload import build_payload, serialise
from custom_components.printernizer_usage.submitter import (
    MAX_BODY_BYTES,
    USER_AGENT,
    Attempt,
    Endpoint,
    async_check_health,
    async_request_deletion,
    async_submit,
)

from .simulator.collection import SUBMISSIONS_PER_HOUR, CollectionSimulator
from .test_collection_simulator import mutate, sample
from .test_payload import SAMPLE

NOW = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
INSTALLATION_ID = SAMPLE.identity.installation_id
KEY = idempotency_key(INSTALLATION_ID, date(2026, 11, 16))
# A wrong key is refused with 401, a missing one with 403.
REFUSED_KEYS = [
    ("wrong-key", AttemptResult.UNAUTHORIZED, 401),
    ("", AttemptResult.FORBIDDEN, 403),
]
MANIFEST = (
    Path(__file__).parent.parent
    / "custom_components"
    / "printernizer_usage"
    / "manifest.json"
)


class CannedServer:
    """Answers every request on loopback with the same raw bytes, then hangs up.

    Raw bytes let a test send what the simulator never does: a Retry-After
    header, odd 422 bodies, huge bodies, or fewer bytes than announced.
    """

    def __init__(self) -> None:
        """Answer with nothing until a test sets `answer`."""
        self.answer = b""
        self.heads: list[str] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        self.heads.append(head)
        if length := re.search(r"(?im)^content-length:\s*(\d+)", head):
            await reader.readexactly(int(length[1]))
        writer.write(self.answer)
        await writer.drain()
        writer.close()


def http(status: int, body: bytes, *headers: str, length: int | None = None) -> bytes:
    """Return a raw HTTP/1.1 answer (announcing `length` bytes, if given)."""
    announced = len(body) if length is None else length
    lines = [
        f"HTTP/1.1 {status} Canned",
        f"Content-Length: {announced}",
        "Connection: close",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def detail(*loc: Any) -> bytes:
    """Return a FastAPI-shaped 422 body whose first error has this loc."""
    error = {"type": "x", "loc": list(loc), "msg": "x", "input": None}
    return json.dumps({"detail": [error]}).encode()


@pytest.fixture
def collection(socket_enabled: None) -> Iterator[CollectionSimulator]:
    """Serve the collection-server simulator on a clock the test controls."""
    simulator = CollectionSimulator(clock=lambda: NOW)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
async def canned(socket_enabled: None) -> AsyncIterator[CannedServer]:
    """Serve canned answers from the test's own loop."""
    server = CannedServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain client session."""
    async with aiohttp.ClientSession() as client:
        yield client


def endpoint(collection: CollectionSimulator, api_key: str | None = None) -> Endpoint:
    """Return the simulator's endpoint, with its key unless another is given."""
    return Endpoint(collection.url, collection.api_key if api_key is None else api_key)


def payload() -> bytes:
    """Return the sample week's payload as the integration sends it."""
    return serialise(build_payload(SAMPLE, 1))


# ----- submitting -----------------------------------------------------------------


async def test_accepted_with_every_header(
    collection: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """A valid week is stored; the server saw the key, idempotency key and agent."""
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.ACCEPTED, 200)
    [stored] = collection.submissions
    assert stored.payload == sample()
    assert stored.headers["X-API-Key"] == "test-api-key"
    assert stored.headers["Idempotency-Key"] == KEY
    assert stored.headers["User-Agent"] == USER_AGENT
    assert stored.headers["Content-Type"] == "application/json"
    assert collection.requests == [("POST", "/submit")]


@pytest.mark.parametrize(("api_key", "result", "status"), REFUSED_KEYS)
async def test_refused_key(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    api_key: str,
    result: AttemptResult,
    status: int,
) -> None:
    """A wrong key is 401, a missing one 403; neither stores anything."""
    attempt = await async_submit(session, endpoint(collection, api_key), payload(), KEY)
    assert attempt == Attempt(result, status)
    assert collection.submissions == []


@pytest.mark.parametrize("api_key", [None, ""])
async def test_no_key_sends_no_header(
    collection: CollectionSimulator, session: aiohttp.ClientSession, api_key: str | None
) -> None:
    """Without a key (or with an empty one) no X-API-Key header goes out."""
    collection.api_key = None  # a server that takes anyone, so it keeps the headers
    attempt = await async_submit(
        session, Endpoint(collection.url, api_key), payload(), KEY
    )
    assert attempt.result is AttemptResult.ACCEPTED
    [stored] = collection.submissions
    assert "X-API-Key" not in stored.headers


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("usage_stats", "job_count"), 23.5, "usage_stats.job_count"),
        (("installation", "country_code"), None, "installation.country_code"),
        (("period", "start"), "2024-11-11", "period.start"),
        (("usage_stats",), ..., "usage_stats"),
        (
            ("usage_stats", "feature_usage"),
            {"library_enabled": "maybe"},
            "usage_stats.feature_usage.library_enabled",
        ),
        # A mapping key that is no plain name could be a value: the path stops there.
        (("error_summary",), {"disk full!": 1.5}, "error_summary"),
    ],
)
async def test_rejected_payload_names_the_field(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    path: tuple[str, ...],
    value: Any,
    field: str,
) -> None:
    """A 422 names the first rejected field's path, never its value."""
    body = json.dumps(mutate(path, value)).encode()
    attempt = await async_submit(session, endpoint(collection), body, KEY)
    assert attempt == Attempt(AttemptResult.INVALID_PAYLOAD, 422, rejected_field=field)
    assert "23.5" not in repr(attempt)
    assert "maybe" not in repr(attempt)
    assert "disk" not in repr(attempt)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            detail("body", "printer_fleet", "printer_types", 2),
            "printer_fleet.printer_types.2",
        ),
        (detail("query", "page"), "query.page"),
        (detail("body", "installation", INSTALLATION_ID), "installation"),
        (detail("body", "usage_stats", True), "usage_stats"),
        (detail("body", "usage_stats", 1.5), "usage_stats"),
        (detail("body", None, "job_count"), None),
        (detail("body"), None),
        (json.dumps({"detail": [{"loc": "body.usage_stats"}]}).encode(), None),
        (json.dumps({"detail": ["usage_stats"]}).encode(), None),
        (json.dumps({"detail": []}).encode(), None),
        (json.dumps({"detail": "Unprocessable"}).encode(), None),
        (json.dumps([{"loc": ["body", "usage_stats"]}]).encode(), None),
    ],
)
async def test_rejected_field_from_odd_bodies(
    canned: CannedServer,
    session: aiohttp.ClientSession,
    body: bytes,
    field: str | None,
) -> None:
    """Only index and name parts are kept; a body of another shape names nothing."""
    canned.answer = http(422, body, "Content-Type: application/json")
    attempt = await async_submit(session, Endpoint(canned.url, "k"), payload(), KEY)
    assert attempt == Attempt(AttemptResult.INVALID_PAYLOAD, 422, rejected_field=field)


async def test_rate_limited_without_retry_after(
    collection: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """Beyond the hourly allowance the server answers 429 and names no wait."""
    for _ in range(SUBMISSIONS_PER_HOUR):
        await async_submit(session, endpoint(collection), payload(), KEY)
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.RATE_LIMITED, 429, retry_after=None)
    assert len(collection.submissions) == SUBMISSIONS_PER_HOUR


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("Retry-After: 120", timedelta(seconds=120)),
        ("Retry-After:  7 ", timedelta(seconds=7)),
        ("Retry-After: 0", timedelta(0)),
        ("Retry-After: 99999999999999999999999999", timedelta(hours=24)),
        # More digits than Python turns into an int: still just "a long wait".
        ("Retry-After: " + "9" * 5000, timedelta(hours=24)),
        ("Retry-After: Wed, 21 Oct 2026 07:28:00 GMT", None),
        ("Retry-After: -5", None),
        ("Retry-After: 1.5", None),
        ("X-Other: 1", None),
    ],
)
async def test_retry_after_in_seconds(
    canned: CannedServer,
    session: aiohttp.ClientSession,
    header: str,
    wait: timedelta | None,
) -> None:
    """A Retry-After in seconds is read (capped at a day); any other is ignored."""
    canned.answer = http(429, b'{"detail": "Rate limit exceeded."}', header)
    attempt = await async_submit(session, Endpoint(canned.url, "k"), payload(), KEY)
    assert attempt == Attempt(AttemptResult.RATE_LIMITED, 429, retry_after=wait)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_html_server_errors(
    collection: CollectionSimulator, session: aiohttp.ClientSession, status: int
) -> None:
    """A proxy's HTML error page is a server error, to be retried."""
    collection.fail(f"html_{status}", "/submit")
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.SERVER_ERROR, status)


async def test_truncated_answer_still_counts_as_sent(
    collection: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """Any 2xx means stored, whatever its body."""
    collection.fail("truncated", "/submit")
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.ACCEPTED, 200)
    assert len(collection.submissions) == 1


async def test_lost_answer_is_a_connection_error(
    collection: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """The server stored the week but the answer never came: retried later."""
    collection.fail("lost", "/submit")
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.CONNECTION_ERROR, None)
    assert len(collection.submissions) == 1


async def test_slow_answer_times_out(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answer slower than the timeout is a timeout."""
    monkeypatch.setattr(submitter, "REQUEST_TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    collection.fail("slow", "/submit", delay=1.0)
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.TIMEOUT, None)


async def test_refused_connection(
    collection: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """A server that does not listen is unreachable: nothing of the week left."""
    collection.refuse_connections()
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(AttemptResult.UNREACHABLE, None)


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        # A body over the cap is read no further and counts as not JSON ...
        (http(422, detail("body", "x") + b" " * MAX_BODY_BYTES), "non_json_body"),
        (http(401, b"{}" + b" " * MAX_BODY_BYTES), "non_json_body"),
        # ... while one just at the cap is still read ...
        (http(422, detail("body", "x").ljust(MAX_BODY_BYTES)), "invalid_payload"),
        # ... and a 2xx body is not read at all.
        (http(200, b"x" * (4 * MAX_BODY_BYTES)), "accepted"),
    ],
)
async def test_oversized_bodies(
    canned: CannedServer, session: aiohttp.ClientSession, answer: bytes, result: str
) -> None:
    """No more than the cap of a body is ever read."""
    canned.answer = answer
    attempt = await async_submit(session, Endpoint(canned.url, "k"), payload(), KEY)
    assert attempt.result == result


@pytest.mark.parametrize("status", [401, 422])
@pytest.mark.parametrize("nesting", ["[" * 60000, '{"a":' * 12000])
async def test_nesting_too_deep_to_parse_is_not_json(
    canned: CannedServer, session: aiohttp.ClientSession, status: int, nesting: str
) -> None:
    """Under the size cap but too deep for the parser: not the server's verdict."""
    canned.answer = http(status, nesting.encode())
    attempt = await async_submit(session, Endpoint(canned.url, "k"), payload(), KEY)
    assert attempt == Attempt(AttemptResult.NON_JSON_BODY, status)


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (422, AttemptResult.CONNECTION_ERROR),
        (200, AttemptResult.ACCEPTED),
    ],
)
async def test_body_cut_short(
    canned: CannedServer,
    session: aiohttp.ClientSession,
    status: int,
    result: AttemptResult,
) -> None:
    """A 4xx body cut off is a connection error; after a 2xx it does not matter."""
    canned.answer = http(status, b'{"detail": [', length=1000)
    attempt = await async_submit(session, Endpoint(canned.url, "k"), payload(), KEY)
    assert attempt.result is result


@pytest.mark.parametrize(
    ("status", "result"),
    [
        # Read up to the cap, then left: not JSON, so not a verdict.
        (422, AttemptResult.NON_JSON_BODY),
        (401, AttemptResult.NON_JSON_BODY),
        # Not read at all: stored is stored.
        (200, AttemptResult.ACCEPTED),
    ],
)
async def test_a_body_that_never_ends(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    status: int,
    result: AttemptResult,
) -> None:
    """An endless answer is cut off at once, well before the request's timeout.

    Without the cap the client would read on until its timeout and call the
    attempt timed out instead.
    """
    collection.fail("endless", "/submit", body=status)
    attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    assert attempt == Attempt(result, status)


async def test_a_held_back_answer_times_out_and_the_week_is_kept(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server stored the week and never answers: a timeout, retried later.

    The server never answers, so the outcome is the same on any machine.
    """
    monkeypatch.setattr(submitter, "REQUEST_TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    collection.fail("stall", "/submit")
    try:
        attempt = await async_submit(session, endpoint(collection), payload(), KEY)
    finally:
        collection.release_stalled()
    assert attempt == Attempt(AttemptResult.TIMEOUT, None)
    [submission] = collection.submissions
    assert submission.answer_lost


# ----- deleting -------------------------------------------------------------------


async def test_deletion_deletes_and_repeats(
    collection: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """Deleting removes every submission of the id; a repeat is fine too."""
    for _ in range(2):
        await async_submit(session, endpoint(collection), payload(), KEY)
    first = await async_request_deletion(session, endpoint(collection), INSTALLATION_ID)
    assert first == Attempt(AttemptResult.ACCEPTED, 200)
    assert collection.submissions_of(INSTALLATION_ID) == []
    again = await async_request_deletion(session, endpoint(collection), INSTALLATION_ID)
    assert again == Attempt(AttemptResult.ACCEPTED, 200)
    assert collection.deletions == [INSTALLATION_ID, INSTALLATION_ID]
    assert collection.requests[-1] == ("DELETE", f"/installation/{INSTALLATION_ID}")


@pytest.mark.parametrize(("api_key", "result", "status"), REFUSED_KEYS)
async def test_deletion_refused_key(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    api_key: str,
    result: AttemptResult,
    status: int,
) -> None:
    """Deletion has the same key rules as submitting."""
    attempt = await async_request_deletion(
        session, endpoint(collection, api_key), INSTALLATION_ID
    )
    assert attempt == Attempt(result, status)
    assert collection.deletions == []


@pytest.mark.parametrize("odd", ["a/b?c#d e%", "..", "é"])
async def test_deletion_quotes_the_id(
    collection: CollectionSimulator, session: aiohttp.ClientSession, odd: str
) -> None:
    """An id is one path segment, whatever characters it holds."""
    attempt = await async_request_deletion(session, endpoint(collection), odd)
    assert attempt.result is AttemptResult.ACCEPTED
    assert collection.deletions == [odd]


async def test_deletion_headers_and_not_found(
    canned: CannedServer, session: aiohttp.ClientSession
) -> None:
    """A deletion carries key and agent but no body headers; 404 is its own result."""
    canned.answer = http(404, b'{"detail": "Not Found"}')
    attempt = await async_request_deletion(
        session, Endpoint(f"{canned.url}/base/", "secret"), "abc"
    )
    assert attempt == Attempt(AttemptResult.NOT_FOUND, 404)
    [head] = canned.heads
    assert head.startswith("DELETE /base/installation/abc HTTP/1.1\r\n")
    assert "X-API-Key: secret\r\n" in head
    assert f"User-Agent: {USER_AGENT}\r\n" in head
    assert "content-type" not in head.lower()
    assert "idempotency-key" not in head.lower()


# ----- health ---------------------------------------------------------------------


async def test_health(
    collection: CollectionSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Healthy on a 2xx; not on an error page, a timeout or a refused connection."""
    healthy = AttemptResult.ACCEPTED
    assert await async_check_health(session, collection.url + "/") is healthy
    collection.fail("html_503", "/health")
    assert await async_check_health(session, collection.url) is not healthy
    monkeypatch.setattr(submitter, "REQUEST_TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    collection.fail("slow", "/health", delay=1.0)
    assert await async_check_health(session, collection.url) is not healthy
    collection.refuse_connections()
    assert await async_check_health(session, collection.url) is not healthy


# ----- redirects ------------------------------------------------------------------

REDIRECTS = [301, 302, 303, 307, 308]


@pytest.mark.parametrize("status", REDIRECTS)
async def test_a_redirect_is_a_refusal_and_never_followed(
    collection: CollectionSimulator,
    elsewhere: CollectionSimulator,
    session: aiohttp.ClientSession,
    status: int,
) -> None:
    """A 3xx sends nothing on: not the week, not the key, not a health check."""
    collection.fail(f"redirect_{status}", times=3, body=elsewhere.url)
    submitted = await async_submit(session, endpoint(collection), payload(), KEY)
    deleted = await async_request_deletion(
        session, endpoint(collection), INSTALLATION_ID
    )
    health = await async_check_health(session, collection.url)
    assert submitted == Attempt(AttemptResult.REDIRECTED, status)
    assert deleted == Attempt(AttemptResult.REDIRECTED, status)
    assert health is AttemptResult.REDIRECTED
    assert elsewhere.requests == []
    assert collection.submissions == []
    assert collection.deletions == []


# ----- configuration --------------------------------------------------------------


def test_user_agent_names_the_manifest_version() -> None:
    """The agent string carries the version HACS and Home Assistant show."""
    version = json.loads(MANIFEST.read_text(encoding="utf-8"))["version"]
    assert f"printernizer_usage/{version}" == USER_AGENT


class NoNetwork:
    """Stands in for aiohttp's session where nothing may be sent at all."""

    def request(self, *args: object, **kwargs: object) -> None:
        """Fail the test: a request was about to be made."""
        pytest.fail(f"a request was made: {args}")


@pytest.mark.parametrize(
    "url",
    ["http://stats.example.org", "ftp://stats.example.org", "http://10.0.0.5:8090"],
)
async def test_no_request_to_an_address_the_forms_would_refuse(url: str) -> None:
    """An address from a hand-edited file gets nothing, not even the id in a path."""
    session = cast("aiohttp.ClientSession", NoNetwork())
    deleted = await async_request_deletion(session, Endpoint(url, "k"), INSTALLATION_ID)
    submitted = await async_submit(session, Endpoint(url, "k"), payload(), KEY)
    health = await async_check_health(session, url)
    assert deleted == submitted == Attempt(AttemptResult.UNREACHABLE, None)
    assert health is AttemptResult.UNREACHABLE
