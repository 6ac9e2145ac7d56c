"""Helpers shared by the Home Assistant tests."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll now, as the five-minute timer would."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def entity_states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Return state and attributes of every entity of an entry, by entity id."""
    registry = er.async_get(hass)
    states: dict[str, Any] = {}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        state = hass.states.get(entity.entity_id)
        assert state is not None
        states[entity.entity_id] = {
            "state": state.state,
            "attributes": dict(state.attributes),
        }
    return dict(sorted(states.items()))
