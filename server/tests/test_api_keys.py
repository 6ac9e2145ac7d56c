"""X-API-Key: 403 when missing or empty, 401 when unknown, for both routes."""

from __future__ import annotations

import pytest

from tests.conftest import RunningServer, ServerFactory
from tests.payloads import SAMPLE_ID, sample

# What this module tests is the same on any engine.
pytestmark = pytest.mark.sqlite_only

KEYS = frozenset({"key-one-3f9a", "key-two-77c1"})


@pytest.fixture
async def keyed(servers: ServerFactory) -> RunningServer:
    """Return a server that requires one of KEYS."""
    return await servers.start(api_keys=KEYS)


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}], ids=["missing", "empty"])
async def test_missing_key_is_403(
    keyed: RunningServer, headers: dict[str, str]
) -> None:
    """An empty key counts as missing, as upstream."""
    post = await keyed.client.post("/submit", json=sample(), headers=headers)
    delete = await keyed.client.delete(f"/installation/{SAMPLE_ID}", headers=headers)

    for response in (post, delete):
        assert response.status_code == 403
        assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize(
    "key", ["wrong", "key-one-3f9", "key-one-3f9a-", "kéy-one-3f9a"]
)
async def test_unknown_key_is_401(keyed: RunningServer, key: str) -> None:
    """Only a configured key, byte for byte, passes."""
    headers = {b"X-API-Key": key.encode()}
    post = await keyed.client.post("/submit", json=sample(), headers=headers)
    delete = await keyed.client.delete(f"/installation/{SAMPLE_ID}", headers=headers)

    for response in (post, delete):
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key"}
    assert keyed.query("SELECT count(*) FROM submission") == [(0,)]


@pytest.mark.parametrize("key", sorted(KEYS))
async def test_each_configured_key_passes(keyed: RunningServer, key: str) -> None:
    """Any of the configured keys is accepted."""
    post = await keyed.client.post("/submit", json=sample(), headers={"X-API-Key": key})
    delete = await keyed.client.delete(
        f"/installation/{SAMPLE_ID}", headers={"X-API-Key": key}
    )

    assert post.status_code == 200
    assert delete.status_code == 200
    assert delete.json()["deleted_count"] == 1


async def test_invalid_json_is_422_even_without_a_key(keyed: RunningServer) -> None:
    """Upstream decodes the body before it checks the key."""
    for headers in ({}, {"X-API-Key": "wrong"}):
        response = await keyed.client.post(
            "/submit",
            content=b"{oops",
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body"]


async def test_key_is_checked_before_the_schema(keyed: RunningServer) -> None:
    """A JSON body that fails the schema still gets 403 without a key."""
    response = await keyed.client.post("/submit", json={"schema_version": "9"})

    assert response.status_code == 403


async def test_no_keys_configured_means_none_required(server: RunningServer) -> None:
    """With no keys set, any or no X-API-Key is fine."""
    plain = await server.client.post("/submit", json=sample())
    with_key = await server.client.delete(
        f"/installation/{SAMPLE_ID}", headers={"X-API-Key": "anything"}
    )

    assert plain.status_code == 200
    assert with_key.status_code == 200
