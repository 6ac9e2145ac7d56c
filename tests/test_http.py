"""The export download: a signed, short-lived path, for administrators only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.printernizer_usage.const import DOMAIN
from custom_components.printernizer_usage.http import DOWNLOAD_LINK_LIFETIME

pytestmark = pytest.mark.usefixtures("wednesday")

CLIENT_ID = "https://example.com/app"


async def signed_for(hass: HomeAssistant, user: MockUser, entry_id: str) -> str:
    """Return the export path signed for a user's session."""
    token = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return async_sign_path(
        hass,
        f"/api/{DOMAIN}/export/{entry_id}",
        DOWNLOAD_LINK_LIFETIME,
        refresh_token_id=token.id,
    )


async def test_the_action_gives_a_path_that_downloads_the_export(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Called from the UI, the export carries a link a browser can save."""
    websocket = await hass_ws_client(hass)
    await websocket.send_json(
        {
            "id": 1,
            "type": "call_service",
            "domain": DOMAIN,
            "service": "export_statistics",
            "service_data": {"config_entry_id": init_integration.entry_id},
            "return_response": True,
        }
    )
    message = await websocket.receive_json()
    assert message["success"], message
    response: dict[str, Any] = message["result"]["response"]
    path = response.pop("download_path")
    assert path.startswith(f"/api/{DOMAIN}/export/{init_integration.entry_id}?")
    client = await hass_client_no_auth()
    download = await client.get(path)
    assert download.status == 200
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="printernizer-usage-2026-11-25.json"'
    )
    # No browser or proxy keeps a copy of the statistics.
    assert download.headers["Cache-Control"] == "no-store"
    assert await download.json() == response


async def test_a_rest_call_gets_a_working_link_too(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Through the REST API, the link is signed for the calling token's user."""
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    answer = await client.post(
        f"/api/services/{DOMAIN}/export_statistics?return_response",
        json={"config_entry_id": init_integration.entry_id},
    )
    assert answer.status == 200
    response = (await answer.json())["service_response"]
    download = await (await hass_client_no_auth()).get(response.pop("download_path"))
    assert download.status == 200
    assert await download.json() == response


async def test_an_automation_gets_the_export_without_a_dead_link(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Called without a signed-in session, there is no one to sign a link for.

    Signed anyway, the path would belong to Home Assistant's read-only content
    user and be refused; so the answer has the export and no path.
    """
    response = await hass.services.async_call(
        DOMAIN,
        "export_statistics",
        {"config_entry_id": init_integration.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert "download_path" not in response
    assert response["export_version"]


async def test_a_tampered_or_missing_signature_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Changing the path or the signature, or leaving it out, gets nothing."""
    path = await signed_for(hass, hass_admin_user, init_integration.entry_id)
    client = await hass_client_no_auth()
    assert (await client.get(path[:-2] + "xx")).status == 401
    assert (await client.get(path.replace("export/", "export/x"))).status == 401
    assert (await client.get(path.split("?")[0])).status == 401


async def test_an_expired_link_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Five minutes later the link is worth nothing."""
    path = await signed_for(hass, hass_admin_user, init_integration.entry_id)
    client = await hass_client_no_auth()
    assert (await client.get(path)).status == 200
    freezer.tick(DOWNLOAD_LINK_LIFETIME + timedelta(seconds=1))
    assert (await client.get(path)).status == 401


async def test_a_non_admin_gets_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A valid signature of a user who is not an administrator is not enough."""
    path = await signed_for(hass, hass_read_only_user, init_integration.entry_id)
    client = await hass_client_no_auth()
    assert (await client.get(path)).status == 403


async def test_an_unknown_entry_is_not_found(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Only loaded entries of this integration can be downloaded."""
    path = await signed_for(hass, hass_admin_user, "not-an-entry")
    client = await hass_client_no_auth()
    assert (await client.get(path)).status == 404
