"""Shared fixtures: a real Home Assistant, a Printernizer simulator on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
import pytest

from custom_components.printernizer_usage.const import DOMAIN
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture
async def printernizer_url(socket_enabled: None) -> AsyncIterator[str]:
    """Serve a minimal Printernizer on 127.0.0.1 and return its URL."""

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "version": "2.42.0"})

    app = web.Application()
    app.router.add_get("/api/v1/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def mock_config_entry(printernizer_url: str) -> MockConfigEntry:
    """A config entry for the simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=printernizer_url,
        unique_id=printernizer_url,
        data={CONF_URL: printernizer_url},
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry
