"""Diagnostics: how the integration is doing, without anything identifying."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant

from .const import (
    CONF_BASELINE_ID,
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_FORMER_COLLECTION_KEYS,
)
from .coordinator import PrinternizerUsageConfigEntry
from .store import LocalStatisticsStore

# The Printernizer URL names a host on the user's network; the collection
# server and its key are the user's secrets; the installation id would tie a
# diagnostics file to submitted data; the baseline id is an entry's own random
# token and of no use to anyone reading diagnostics.
TO_REDACT = {
    CONF_URL,
    CONF_BASELINE_ID,
    CONF_COLLECTION_URL,
    CONF_COLLECTION_API_KEY,
    CONF_FORMER_COLLECTION_KEYS,
    "installation_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for an entry."""
    runtime = entry.runtime_data
    data = runtime.coordinator.data
    this_week = asdict(data.statistics)
    this_week["week_start"] = data.statistics.week_start.isoformat()
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "last_poll": {
            "printernizer_reachable": data.printernizer_reachable,
            "last_error": data.last_error,
        },
        "this_week": this_week,
        "sharing": {
            **asdict(runtime.sharing.data),
            **async_redact_data(runtime.sharing.diagnostics(), TO_REDACT),
        },
        "store": await runtime.store.async_call(LocalStatisticsStore.summary),
    }
