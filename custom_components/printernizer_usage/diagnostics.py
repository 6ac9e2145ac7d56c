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
from .payload import payload_shape
from .sharing import SharingCoordinator
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
        "sharing": _sharing_diagnostics(runtime.sharing),
        "store": await runtime.store.async_call(LocalStatisticsStore.summary),
    }


def _sharing_diagnostics(sharing: SharingCoordinator) -> dict[str, Any]:
    """Describe consent, schedule and outbox by their states only.

    Diagnostics end up in public bug reports. No value or time the
    collection server also holds is shown (no period, send time, offset,
    consent time or payload value), nor a number of weeks or attempts
    that would date the first week or match the server's request log:
    nobody could find the rows, and so the id, on the server with them.
    """
    history, outbox = sharing.book.history, sharing.book.outbox
    latest = max(outbox.weekly, key=lambda row: row.period_start, default=None)
    status = sharing.data
    return {
        "state": status.state,
        "submission_planned": status.next_submission is not None,
        "ever_accepted": status.last_submission is not None,
        "weeks_pending": status.pending_submissions > 0,
        "deletions_pending": status.pending_deletions > 0,
        "consent": {
            "sharing": history.sharing,
            "policy_version": None
            if history.latest is None
            else history.latest.policy_version,
        },
        "week_statuses": sorted({row.status.value for row in outbox.weekly}),
        "deletion_statuses": sorted({row.status.value for row in outbox.deletions}),
        "latest_week": None
        if latest is None
        else {
            "status": latest.status.value,
            "last_result": latest.last_result,
            "may_be_held": latest.may_be_held,
            "fields": payload_shape(latest.body),
        },
    }
