"""Helpers shared by the Home Assistant tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

ENGLISH = (
    Path(__file__)
    .parents[1]
    .joinpath("custom_components", "printernizer_usage", "translations", "en.json")
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll now, as the five-minute timer would."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


def entity_states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Return every entity of an entry by entity id: registry entry, device, state."""
    registry = er.async_get(hass)
    devices = dr.async_get(hass)
    states: dict[str, Any] = {}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        state = hass.states.get(entity.entity_id)
        assert state is not None
        assert entity.device_id is not None
        device = devices.async_get(entity.device_id)
        assert device is not None
        states[entity.entity_id] = {
            "unique_id": entity.unique_id,
            "translation_key": entity.translation_key,
            "has_entity_name": entity.has_entity_name,
            "entity_category": entity.entity_category,
            "disabled_by": entity.disabled_by,
            "device": {
                "name": device.name,
                "entry_type": device.entry_type,
                "identifiers": sorted(device.identifiers),
            },
            "state": state.state,
            "attributes": dict(state.attributes),
        }
    return dict(sorted(states.items()))


def _texts(tree: Any) -> Iterator[str]:
    """Yield every string in a nested translation tree."""
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _texts(value)
    elif isinstance(tree, str):
        yield tree


def assert_placeholders_supplied(
    result: Mapping[str, Any], flow: str, issue: str | None = None
) -> None:
    """Check that a step supplies every placeholder of its English strings.

    `flow` is "config" or "options", or "issues" for the fix flow of `issue`;
    the strings are the step's own and those of the errors it shows, or for
    an abort its reason's.
    """
    strings = json.loads(ENGLISH.read_text(encoding="utf-8"))[flow]
    if issue is not None:
        strings = strings[issue]["fix_flow"]
    if result["type"] == "abort":
        texts = [strings["abort"][result["reason"]]]
    else:
        texts = [*_texts(strings["step"][result["step_id"]])]
        errors = result.get("errors") or {}
        texts += [strings["error"][error] for error in errors.values()]
    used = {name for text in texts for name in PLACEHOLDER.findall(text)}
    assert used <= set(result["description_placeholders"] or {}), used


# The test harness replaces Home Assistant's storage with one that logs what
# it stores; Home Assistant itself logs only the file's name.
HARNESS_STORAGE_LOGGER = "pytest_homeassistant_custom_component.common"


def home_assistant_log(caplog: pytest.LogCaptureFixture) -> str:
    """Return the captured log as Home Assistant would write it."""
    return "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name != HARNESS_STORAGE_LOGGER
    )
