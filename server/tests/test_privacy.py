"""No client address anywhere; logs carry route templates, never ids or paths."""

from __future__ import annotations

from datetime import date
import re
import socket

from tests.conftest import CLIENT_ADDRESS, LogCapture, RunningServer
from tests.payloads import SAMPLE_ID, sample, week

PACKED_ADDRESS = socket.inet_aton(CLIENT_ADDRESS)


async def _every_kind_of_request(server: RunningServer) -> None:
    """Send one request of each kind: accepted, repeated, limited, refused, deleted."""
    calls = [
        server.client.get("/health"),
        server.client.post("/submit", json=sample()),
        server.client.post("/submit", json=sample()),
        server.client.post("/submit", json=week(date(2024, 11, 25))),
        server.client.post("/submit", json={"installation": {}}),
        server.client.post("/submit", content=b"x" * 9000),
        server.client.get(f"/installation/{SAMPLE_ID}?from={CLIENT_ADDRESS}"),
        server.client.delete(f"/installation/{SAMPLE_ID}?note=secret-query-71c"),
        server.client.delete("/installation/NOT-A-UUID"),
    ]
    statuses = [(await call).status_code for call in calls]
    assert statuses == [200, 200, 200, 429, 422, 413, 405, 200, 422]


async def test_client_address_is_never_kept(
    server: RunningServer, server_logs: LogCapture
) -> None:
    """Requests from 127.77.0.9 leave that address in no file and no log line."""
    await _every_kind_of_request(server)
    # Keep something stored, so the files are not empty by deletion.
    assert (
        await server.client.post("/submit", json=week(date(2024, 11, 25)))
    ).is_success
    server.clock.advance(hours=2)
    assert (
        await server.client.post("/submit", json=week(date(2024, 11, 4)))
    ).is_success

    raw = server.database_bytes()
    logs = server_logs.text()
    assert raw
    assert logs
    for haystack in (raw, logs.encode()):
        assert CLIENT_ADDRESS.encode() not in haystack
        assert PACKED_ADDRESS not in haystack


async def test_logs_name_route_templates_only(
    server: RunningServer, server_logs: LogCapture
) -> None:
    """One line per request: method, template, status; no id, path or query."""
    await _every_kind_of_request(server)

    logs = server_logs.text()
    assert SAMPLE_ID not in logs
    assert "secret-query-71c" not in logs
    assert "NOT-A-UUID" not in logs
    requests = re.findall(r"printernizer_usage_server\.request INFO (.*)", logs)
    assert requests == [
        "request method=GET route=/health status=200",
        "request method=POST route=/submit status=200",
        "request method=POST route=/submit status=200",
        "request method=POST route=/submit status=429",
        "request method=POST route=/submit status=422",
        "request method=POST route=/submit status=413",
        "request method=GET route=/installation/{installation_id} status=405",
        "request method=DELETE route=/installation/{installation_id} status=200",
        "request method=DELETE route=/installation/{installation_id} status=422",
    ]


async def test_unmatched_paths_and_odd_methods_are_not_echoed(
    server: RunningServer, server_logs: LogCapture
) -> None:
    """A path no route knows, or a made-up method, is logged as a placeholder."""
    missing = await server.client.get("/admin/550e8400-e29b-41d4-a716-446655440000")
    odd = await server.client.request("BREW", "/submit")

    assert missing.status_code == 404
    assert odd.status_code == 405
    logs = server_logs.text()
    assert "request method=GET route=<unmatched> status=404" in logs
    assert "request method=OTHER route=/submit status=405" in logs
    assert "/admin" not in logs
    assert "BREW" not in logs
