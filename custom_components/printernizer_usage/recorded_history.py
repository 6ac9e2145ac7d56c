"""Ask Home Assistant's recorder to forget what it recorded of the entry.

The recorder keeps every state of the entry's sensors, and their long-term
statistics, apart from the integration's own file. Both requests are queued
by the recorder and carried out in its own time: the answer is "requested".
"""

from __future__ import annotations

from typing import Final, Literal

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance

RECORDER: Final = "recorder"

type HistoryRequest = Literal["requested", "not_recorded"]


async def async_forget_recorded_history(
    hass: HomeAssistant, entry_id: str
) -> HistoryRequest:
    """Ask the recorder to purge the entry's states and clear its statistics."""
    if not hass.services.has_service(RECORDER, "purge_entities"):
        return "not_recorded"
    entity_ids = sorted(
        entity.entity_id
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    )
    if not entity_ids:
        return "not_recorded"
    # Long-term statistics are kept under the sensor's entity id.
    get_instance(hass).async_clear_statistics(entity_ids)
    await hass.services.async_call(
        RECORDER,
        "purge_entities",
        {ATTR_ENTITY_ID: entity_ids, "keep_days": 0},
        blocking=True,
    )
    return "requested"
