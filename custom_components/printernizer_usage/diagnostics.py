"""Diagnostics: how the integration is doing, without anything identifying."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant

from .const import (
    CONF_BASELINE_ID,
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_STOPPED_AT,
)
from .coordinator import PrinternizerUsageConfigEntry
from .store import LocalStatisticsStore

# The Printernizer URL names a host on the user's network; the collection
# server and its key are the user's secrets; the baseline id is an entry's own
# random token and of no use to anyone reading diagnostics; the time sharing
# was stopped would date the last week a server holds.
TO_REDACT = {
    CONF_URL,
    CONF_BASELINE_ID,
    CONF_COLLECTION_URL,
    CONF_COLLECTION_API_KEY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_STOPPED_AT,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for an entry: states only, no value a server holds.

    This week's counts go to the server once the week closes, so only which
    of them are non-zero is shown.
    """
    runtime = entry.runtime_data
    data = runtime.coordinator.data
    statistics = data.statistics
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "last_poll": {
            "printernizer_reachable": data.printernizer_reachable,
            "last_error": data.last_error,
        },
        "this_week": {
            "counted": {
                "jobs": statistics.jobs > 0,
                "files": statistics.files > 0,
                "uploads": statistics.uploads > 0,
                "uptime_hours": statistics.uptime_hours > 0,
                "printers": bool(statistics.printer_count),
            },
            "error_types": len(statistics.errors),
        },
        "sharing": runtime.sharing.diagnostics(),
        "store": await runtime.store.async_call(LocalStatisticsStore.summary),
    }
