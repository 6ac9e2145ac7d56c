"""GET /health, and the routes a default FastAPI app has that this one must not."""

from __future__ import annotations

import pytest

from tests.conftest import RunningServer

# What this module tests is the same on any engine.
pytestmark = pytest.mark.sqlite_only


async def test_health_answers_ok(server: RunningServer) -> None:
    """The integration's health check wants a 2xx; upstream answers this body."""
    response = await server.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"]
)
async def test_no_documentation_routes(server: RunningServer, path: str) -> None:
    """The service speaks its protocol only."""
    response = await server.client.get(path)
    assert response.status_code == 404
