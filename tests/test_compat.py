"""The smallest slice of every Home Assistant surface the integration uses."""

from __future__ import annotations

import pytest

from custom_components.printernizer_usage.const import DOMAIN
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_URL, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import Unauthorized
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser


async def test_user_step_creates_entry(
    hass: HomeAssistant, printernizer_url: str
) -> None:
    """The URL form creates an entry when Printernizer answers."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: printernizer_url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_URL: printernizer_url}


async def test_connectivity_entity(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The connectivity sensor is on while Printernizer answers."""
    state = hass.states.get("binary_sensor.printernizer_usage_statistics_printernizer")
    assert state is not None
    assert state.state == STATE_ON


async def test_export_requires_admin(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    """Only administrators may export, and they get a response."""
    data = {"config_entry_id": init_integration.entry_id}
    response = await hass.services.async_call(
        DOMAIN,
        "export_statistics",
        data,
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert response == {"export_version": 1, "meta": {}}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "export_statistics",
            data,
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )
