"""The collection-server simulator keeps to the documented submission protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
import json
from typing import Any

import aiohttp
import pytest

from custom_components.printernizer_usage.payload import build_payload, serialise

from .simulator.collection import CollectionSimulator, validate_submission
from .test_payload import SAMPLE

KEY = {"X-API-Key": "test-api-key", "Content-Type": "application/json"}
NOW = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)


@pytest.fixture
def server(socket_enabled: None) -> Iterator[CollectionSimulator]:
    """Serve the simulator with a clock the test controls."""
    simulator = CollectionSimulator(clock=lambda: NOW)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain client session."""
    async with aiohttp.ClientSession() as client:
        yield client


def sample() -> dict[str, Any]:
    """Return the sample payload as the integration builds it."""
    return json.loads(serialise(build_payload(SAMPLE, 1)))


async def post(
    session: aiohttp.ClientSession,
    server: CollectionSimulator,
    body: bytes,
    headers: dict[str, str] = KEY,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """POST a body to /submit; return status, JSON and the response."""
    async with session.post(
        f"{server.url}/submit", data=body, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None), response


async def test_accepts_the_integrations_payload(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """A built payload is accepted and stored with its headers."""
    status, body, _ = await post(session, server, serialise(build_payload(SAMPLE, 1)))
    assert status == 200
    assert body == {
        "status": "success",
        "submission_id": 1,
        "message": "Submission received",
    }
    [stored] = server.submissions_of(SAMPLE.identity.installation_id)
    assert stored.payload == sample()


async def test_duplicates_are_stored_and_ids_reused(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """The server does not drop repeats, and reuses ids after deletions."""
    for _ in range(2):
        await post(session, server, json.dumps(sample()).encode())
    assert len(server.submissions) == 2
    installation_id = SAMPLE.identity.installation_id
    async with session.delete(
        f"{server.url}/installation/{installation_id}", headers=KEY
    ) as response:
        assert response.status == 200
        assert (await response.json())["deleted_count"] == 2
    async with session.delete(
        f"{server.url}/installation/{installation_id}", headers=KEY
    ) as response:
        assert (await response.json())["deleted_count"] == 0  # idempotent
    _, body, _ = await post(session, server, json.dumps(sample()).encode())
    assert body["submission_id"] == 1


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ({"Content-Type": "application/json"}, 403, "Not authenticated"),
        ({"X-API-Key": ""}, 403, "Not authenticated"),
        ({"X-API-Key": "wrong"}, 401, "Invalid API key"),
    ],
)
async def test_api_key(
    server: CollectionSimulator,
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    status: int,
    detail: str,
) -> None:
    """No key or an empty one is 403, a wrong one 401, on both routes."""
    got, body, _ = await post(session, server, json.dumps(sample()).encode(), headers)
    assert (got, body) == (status, {"detail": detail})
    async with session.delete(
        f"{server.url}/installation/x", headers=headers
    ) as response:
        assert response.status == status


async def test_invalid_json_is_422_before_the_key(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """A body that is not JSON gets 422 even without a key."""
    status, body, _ = await post(session, server, b"{not json", {})
    assert status == 422
    assert body["detail"][0]["type"] == "json_invalid"


def mutate(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """Return the sample with one value replaced (or removed, for ...)."""
    payload = sample()
    node = payload
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("usage_stats",), ..., "missing"),
        (("installation", "country_code"), None, "string_type"),
        (("installation", "installation_id"), ..., "missing"),
        (("period", "start"), "2024-11-11", "datetime_parsing"),
        (("usage_stats", "job_count"), 23.5, "int_from_float"),
        (("usage_stats", "job_count"), -1, "greater_than_equal"),
        (("usage_stats", "job_count"), "many", "int_parsing"),
        (("usage_stats", "job_count"), None, "int_type"),
        (("printer_fleet", "printer_types"), "prusa", "list_type"),
        (
            ("usage_stats", "feature_usage"),
            {"library_enabled": "maybe"},
            "bool_parsing",
        ),
        (("error_summary",), {"server_error": 1.5}, "int_from_float"),
        (("error_summary",), [], "dict_type"),
        (("installation",), "x", "model_attributes_type"),
        (("installation", "python_version"), 3.11, "string_type"),
        (("installation", "first_seen"), "yesterday", "datetime_parsing"),
        (("period",), {"start": "2024-11-11T00:00:00Z"}, "missing"),
        (("period", "duration_days"), 7.5, "int_from_float"),
        (("submission_timestamp",), "2024-11-20", "datetime_parsing"),
    ],
)
async def test_validation_errors(
    server: CollectionSimulator,
    session: aiohttp.ClientSession,
    path: tuple[str, ...],
    value: Any,
    error: str,
) -> None:
    """Invalid payloads get FastAPI-shaped 422 bodies naming the field path."""
    status, body, _ = await post(
        session, server, json.dumps(mutate(path, value)).encode()
    )
    assert status == 422
    [first, *_] = body["detail"]
    assert first["type"] == error
    assert first["loc"][0] == "body"
    assert set(first) == {"type", "loc", "msg", "input"}
    assert server.submissions == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("installation", "deployment_mode"), "toaster"),
        (("installation", "country_code"), "de"),
        (("printer_fleet", "printer_type_counts"), {"makerbot": 3}),
    ],
)
async def test_what_only_schema_1_0_refuses(
    server: CollectionSimulator,
    session: aiohttp.ClientSession,
    path: tuple[str, ...],
    value: Any,
) -> None:
    """Upstream would take these; schema 1.0, which the simulator applies, does not."""
    payload = mutate(path, value)
    assert validate_submission(payload) == []

    status, body, _ = await post(session, server, json.dumps(payload).encode())

    assert status == 422
    assert {"type": "value_error", "loc": ["body", *path]} in [
        {"type": item["type"], "loc": item["loc"]} for item in body["detail"]
    ]
    assert server.submissions == []


def test_lax_values_and_every_error_reported() -> None:
    """Like pydantic's lax mode, "23", 23.0 and "yes" pass; all errors are listed."""
    payload = sample()
    payload["usage_stats"]["job_count"] = "23"
    payload["usage_stats"]["file_count"] = 18.0
    payload["usage_stats"]["feature_usage"]["library_enabled"] = "yes"
    assert validate_submission(payload) == []
    del payload["period"]
    payload["installation"]["country_code"] = None
    payload["usage_stats"]["upload_count"] = -5
    kinds = sorted(error["type"] for error in validate_submission(payload))
    assert kinds == ["greater_than_equal", "missing", "string_type"]


def test_unknown_fields_and_optional_ones() -> None:
    """Extra keys are ignored; first_seen, python_version and others are optional."""
    payload = sample()
    payload["extra"] = {"anything": 1}
    del payload["installation"]["first_seen"]
    payload["installation"]["python_version"] = None
    del payload["error_summary"]
    assert validate_submission(payload) == []
    assert validate_submission([]) != []


async def test_ten_per_installation_per_hour(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """The eleventh submission of an hour is 429, without Retry-After."""
    body = json.dumps(sample()).encode()
    for _ in range(10):
        assert (await post(session, server, body))[0] == 200
    status, detail, response = await post(session, server, body)
    assert status == 429
    assert detail["detail"].startswith("Rate limit exceeded")
    assert "Retry-After" not in response.headers


async def test_deleting_does_not_reset_the_hourly_limit(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """The allowance is per hour of arrivals, whatever was deleted since."""
    body = json.dumps(sample()).encode()
    for _ in range(10):
        await post(session, server, body)
    async with session.delete(
        f"{server.url}/installation/{SAMPLE.identity.installation_id}", headers=KEY
    ):
        pass
    assert (await post(session, server, body))[0] == 429


async def test_health(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """GET /health answers."""
    async with session.get(f"{server.url}/health") as response:
        assert await response.json() == {"status": "healthy"}


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_html_errors(
    server: CollectionSimulator, session: aiohttp.ClientSession, status: int
) -> None:
    """A proxy in front of the server can answer with HTML."""
    server.fail(f"html_{status}")
    async with session.post(
        f"{server.url}/submit", data=b"{}", headers=KEY
    ) as response:
        assert response.status == status
        assert "text/html" in response.headers["Content-Type"]


async def test_truncated_and_lost_answers(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """A cut-off body, and an answer lost after the submission was stored."""
    server.fail("truncated")
    async with session.post(
        f"{server.url}/submit", data=json.dumps(sample()), headers=KEY
    ) as response:
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.read())
    server.fail("lost")
    with pytest.raises(aiohttp.ClientError):
        await post(session, server, json.dumps(sample()).encode())
    # Both were stored, though the client never heard of the second.
    assert len(server.submissions) == 2


async def test_slow_and_refused(
    server: CollectionSimulator, session: aiohttp.ClientSession
) -> None:
    """Slow answers time out; a stopped server refuses connections."""
    server.fail("slow", delay=1.0)
    with pytest.raises(TimeoutError):
        async with session.get(
            f"{server.url}/health", timeout=aiohttp.ClientTimeout(total=0.2)
        ):
            pass
    server.refuse_connections()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.get(f"{server.url}/health"):
            pass
    server.accept_connections()
    async with session.get(f"{server.url}/health") as response:
        assert response.status == 200
