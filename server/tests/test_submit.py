"""POST /submit: accepted weeks, what is stored, and every refusal's shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
import json
from typing import Any

import pytest

from tests.conftest import RunningServer, ServerFactory
from tests.payloads import SAMPLE_ID, sample, week

STORED_COLUMNS = (
    "installation_id, period_start, period_end, app_version, python_version, "
    "platform, deployment_mode, country_code, printer_count, printer_type_counts, "
    "job_count, file_count, upload_count, uptime_hours, feature_usage, error_summary"
)


async def test_policy_sample_is_accepted_and_stored(server: RunningServer) -> None:
    """The privacy policy's own sample is a valid week, kept field by field."""
    response = await server.client.post("/submit", json=sample())

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "success"
    assert isinstance(answer["submission_id"], int)
    assert isinstance(answer["message"], str)
    rows = server.query(f"SELECT id, {STORED_COLUMNS} FROM submission")  # noqa: S608
    assert len(rows) == 1
    ((row_id, *stored),) = rows
    assert row_id == answer["submission_id"]
    assert stored == [
        SAMPLE_ID,
        "2024-11-14",
        "2024-11-21",
        "2.7.0",
        "3.11.0",
        "linux",
        "homeassistant",
        "DE",
        3,
        json.dumps({"bambu_lab": 2, "prusa": 1}),
        23,
        18,
        5,
        168,
        json.dumps(sample()["usage_stats"]["feature_usage"]),
        json.dumps({"connection_timeout": 2, "file_download_failed": 1}),
    ]


async def test_optional_fields_may_be_absent_or_null(server: RunningServer) -> None:
    """Only the required fields: the maps are stored as SQL NULL."""
    payload = sample()
    for key in ("schema_version", "submission_timestamp", "error_summary"):
        del payload[key]
    del payload["installation"]["first_seen"]
    payload["installation"]["python_version"] = None
    del payload["period"]["duration_days"]
    payload["printer_fleet"] = {"printer_count": 0}
    del payload["usage_stats"]["feature_usage"]

    response = await server.client.post("/submit", json=payload)

    assert response.status_code == 200
    assert server.query(
        "SELECT python_version, printer_type_counts, feature_usage, error_summary "
        "FROM submission"
    ) == [(None, None, None, None)]


async def test_null_error_summary_and_integral_floats(server: RunningServer) -> None:
    """error_summary may be null; 3.0 is an integer to JSON Schema, stored as 3."""
    payload = sample()
    payload["error_summary"] = None
    payload["usage_stats"]["job_count"] = 23.0

    response = await server.client.post("/submit", json=payload)

    assert response.status_code == 200
    assert server.query("SELECT job_count, error_summary FROM submission") == [
        (23, None)
    ]


async def test_unknown_and_unkept_fields_never_reach_the_database(
    server: RunningServer,
) -> None:
    """Unknown keys are accepted, not stored; nor are first_seen and the timestamp."""
    payload = sample()
    payload["zz_unknown_top"] = "marker-top-5b1e07"
    payload["installation"]["nickname"] = "marker-installation-9c2f11"
    payload["usage_stats"]["extra"] = {"deep": "marker-nested-44d0aa"}
    payload["installation"]["first_seen"] = "2019-03-07T13:57:41Z"
    payload["submission_timestamp"] = "2024-11-20T09:41:27+00:00"

    response = await server.client.post("/submit", json=payload)

    assert response.status_code == 200
    raw = server.database_bytes()
    for marker in (
        b"marker-top-5b1e07",
        b"marker-installation-9c2f11",
        b"marker-nested-44d0aa",
        b"zz_unknown_top",
        b"nickname",
        b"2019-03-07",
        b"13:57:41",
        b"09:41:27",
    ):
        assert marker not in raw


DROP = object()  # a value meaning "remove the field"


def _change(payload: dict[str, Any], path: str, value: object) -> None:
    """Set the dotted `path` of a payload to `value`, or remove it for DROP."""
    *parents, last = path.split(".")
    target = payload
    for part in parents:
        target = target[part]
    if value is DROP:
        del target[last]
    else:
        target[last] = value


def _case(path: str, value: object, kind: str, loc: str | None = None) -> Any:
    """One invalid payload: `path` set to `value`; the 422 names `loc` (or `path`)."""
    return pytest.param(
        path, value, (loc or path).split("."), kind, id=f"{path}-{kind}"
    )


INVALID = [
    _case("installation.country_code", None, "string_type"),
    _case("installation.country_code", "DE\n", "string_pattern_mismatch"),
    _case("installation.country_code", "AD", "value_error"),
    _case("installation.installation_id", SAMPLE_ID.upper(), "string_pattern_mismatch"),
    _case("installation.app_version", "two", "value_error"),
    _case("installation.app_version", "1" * 21, "string_too_long"),
    _case("installation.python_version", 3.11, "value_error"),
    _case("installation.platform", "beos", "enum"),
    _case("installation.first_seen", "2024-11-01", "string_pattern_mismatch"),
    _case("installation", DROP, "missing"),
    _case("installation.app_version", DROP, "missing"),
    _case("schema_version", "2.0", "literal_error"),
    _case("period.start", "2024-11-14", "string_pattern_mismatch"),
    _case("period.start", "2024-11-14T06:00:00Z", "string_pattern_mismatch"),
    _case("period.start", "2024-02-30T00:00:00Z", "datetime_parsing"),
    _case("period.end", "2024-11-22T00:00:00Z", "value_error"),
    _case("period.duration_days", 6, "literal_error"),
    _case("submission_timestamp", "2024-04-31T12:00:00Z", "datetime_parsing"),
    _case("printer_fleet.printer_count", 4, "value_error"),
    _case("printer_fleet.printer_count", -1, "greater_than_equal"),
    _case("printer_fleet.printer_types", ["prusa", "prusa"], "list_unique"),
    _case(
        "printer_fleet.printer_types",
        ["prusa", "other", "octoprint", "bambu_lab", "x"],
        "too_long",
    ),
    _case("printer_fleet.printer_types", "prusa", "list_type"),
    _case(
        "printer_fleet.printer_type_counts.creality",
        3,
        "enum",
        loc="printer_fleet.printer_type_counts",
    ),
    _case("usage_stats.job_count", 23.5, "int_type"),
    _case("usage_stats.job_count", True, "int_type"),
    _case("usage_stats.uptime_hours", 169, "less_than_equal"),
    _case("usage_stats.feature_usage.library_enabled", "yes", "bool_type"),
    _case(
        "usage_stats.feature_usage.dark_mode",
        True,
        "enum",
        loc="usage_stats.feature_usage",
    ),
    _case("usage_stats", "busy", "dict_type"),
    _case("error_summary.connection_timeout", 0, "greater_than_equal"),
    _case("error_summary", [], "dict_type"),
]


@pytest.mark.parametrize(("path", "value", "loc", "kind"), INVALID)
async def test_invalid_payload_gets_fastapi_shaped_422(
    server: RunningServer, path: str, value: object, loc: list[str], kind: str
) -> None:
    """The 422 names the field by the schema's error path, FastAPI style."""
    payload = sample()
    _change(payload, path, value)

    response = await server.client.post("/submit", json=payload)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    for item in detail:
        assert set(item) == {"type", "loc", "msg", "input"}
        assert item["loc"][0] == "body"
        assert isinstance(item["msg"], str)
    assert detail[0]["loc"] == ["body", *loc]
    assert detail[0]["type"] == kind
    assert server.query("SELECT count(*) FROM submission") == [(0,)]


async def test_every_error_is_listed_in_a_stable_order(server: RunningServer) -> None:
    """Several problems: each once, sorted by path, the same on every send."""
    payload = sample()
    del payload["period"]
    del payload["installation"]["platform"]
    del payload["installation"]["country_code"]
    payload["usage_stats"]["job_count"] = -3
    payload["printer_fleet"]["printer_types"] = ["prusa", 7]

    first = await server.client.post("/submit", json=payload)
    second = await server.client.post("/submit", json=payload)

    assert first.status_code == 422
    assert first.json() == second.json()
    assert [item["loc"] for item in first.json()["detail"]] == [
        ["body", "installation", "country_code"],
        ["body", "installation", "platform"],
        ["body", "period"],
        ["body", "printer_fleet", "printer_types", 1],
        ["body", "usage_stats", "job_count"],
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'{"a": NaN}',
        b"\xff\xfe\x00garbage",
        b"[" * 5000,
        b'{"n": ' + b"1" * 5000 + b"}",
    ],
    ids=["syntax", "empty", "nan", "not-utf8", "too-deep", "huge-integer"],
)
async def test_body_that_is_not_json_gets_422_at_body(
    server: RunningServer, body: bytes
) -> None:
    """Upstream's shape for a JSON decode error: one item at loc ["body"]."""
    response = await server.client.post(
        "/submit", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body"]
    assert item["type"] == "json_invalid"


async def test_json_that_is_not_an_object_gets_422_at_body(
    server: RunningServer,
) -> None:
    """A list is JSON, but not a payload."""
    response = await server.client.post("/submit", json=[sample()])

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


async def test_deeply_nested_value_is_refused_not_crashed_on(
    server: RunningServer,
) -> None:
    """A value nested hundreds deep under a known field gets a 422, not a 500."""
    body = (
        json.dumps(sample())[:-1] + ', "error_summary": ' + "[" * 600 + "]" * 600 + "}"
    )

    response = await server.client.post(
        "/submit", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "error_summary"]


class TestBodyCap:
    """A body over max_body_bytes is refused with 413 and not read further."""

    @pytest.fixture
    async def small(self, servers: ServerFactory) -> RunningServer:
        """Return a server whose cap is just above the sample's size."""
        return await servers.start(max_body_bytes=len(json.dumps(sample())) + 10)

    async def test_declared_length_over_the_cap(self, small: RunningServer) -> None:
        """A Content-Length body one byte over the cap."""
        body = json.dumps(sample()).encode().ljust(small.settings.max_body_bytes + 1)

        response = await small.client.post(
            "/submit", content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 413
        assert response.json() == {"detail": "Payload too large"}

    async def test_chunked_body_over_the_cap(self, small: RunningServer) -> None:
        """A body without a length is cut off once it passes the cap."""

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(64):
                yield b" " * 1024

        response = await small.client.post(
            "/submit", content=chunks(), headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 413
        assert response.json() == {"detail": "Payload too large"}

    async def test_body_exactly_at_the_cap_is_read(self, small: RunningServer) -> None:
        """Padding a valid week to exactly the cap keeps it valid."""
        body = json.dumps(sample()).encode().ljust(small.settings.max_body_bytes)

        response = await small.client.post(
            "/submit", content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 200

    async def test_default_cap_takes_the_sample(self, server: RunningServer) -> None:
        """The default 8 KiB holds a full week with room to spare."""
        assert server.settings.max_body_bytes == 8192
        body = json.dumps(sample()).encode().ljust(8192)

        response = await server.client.post(
            "/submit", content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 200
        over = await server.client.post(
            "/submit", content=body + b" ", headers={"Content-Type": "application/json"}
        )
        assert over.status_code == 413


async def test_submission_ids_say_nothing_of_the_order_of_arrival(
    server: RunningServer,
) -> None:
    """Ids are drawn at random, so neither the rows nor a log put weeks in order."""
    ids = []
    for number in range(10):
        installation_id = f"{number:08x}-2222-4333-8444-555566667777"
        response = await server.client.post(
            "/submit", json=week(date(2024, 11, 18), installation_id)
        )
        ids.append(response.json()["submission_id"])
    # Ten random ids in arrival order by chance: about once in 3.6 million runs.
    assert ids != sorted(ids)
    assert all(0 < number <= 2**53 - 1 for number in ids)
    if server.database.engine == "sqlite":
        # No hidden rowid counts up beside the id: the id is the rowid.
        rows = server.query("SELECT rowid, id FROM submission")
        assert all(rowid == number for rowid, number in rows)
