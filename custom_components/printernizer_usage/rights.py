"""The user's rights over their statistics, one implementation for actions and options.

The actions (services.py) and the options menu (options_rights.py,
options_flow.py) check who asks and for which entry in their own ways, then
call these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
import sqlite3
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType

from .const import DOMAIN
from .coordinator import PrinternizerUsageConfigEntry, store_path
from .http import async_sign_export_path
from .outbox import waiting_deletions
from .payload import WEEK, week_start
from .recorded_history import async_forget_recorded_history
from .store import LocalStatisticsStore
from .store_worker import async_call_once
from .targets import DeletionTargets, TargetsUnavailableError

# Days are counted from 1970 in the store, and no week after this one has data.
FIRST_PREVIEW_WEEK = date(1970, 1, 5)


@dataclass(frozen=True)
class WeekOutOfRangeError(ValueError):
    """The week asked for has no statistics by definition."""

    earliest: date
    latest: date


def preview_week(requested: date | None, today: date) -> date:
    """Return the week holding `requested`, or else the last whole week."""
    this_week = week_start(today)
    week = week_start(requested or this_week - WEEK)
    if not FIRST_PREVIEW_WEEK <= week <= this_week:
        raise WeekOutOfRangeError(
            FIRST_PREVIEW_WEEK, this_week + WEEK - timedelta(days=1)
        )
    return week


async def async_export(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> dict[str, Any]:
    """Return the export, and a short-lived path to download it as a file.

    The path comes only for a signed-in session, the only kind it works for.
    """
    export = await entry.runtime_data.sharing.async_export()
    if (path := async_sign_export_path(hass, entry.entry_id)) is not None:
        export["download_path"] = path
    return export


async def async_delete_local_statistics(
    hass: HomeAssistant,
    entry: PrinternizerUsageConfigEntry,
    *,
    also_request_remote_deletion: bool,
) -> dict[str, Any]:
    """Delete everything local but deletion targets; say what went and what stays.

    The entry is unloaded meanwhile, so that no poll or send touches the file
    while it is emptied, and starts afresh afterwards. Before anything goes,
    every (id, server) pair the file or a damaged copy shows data went to is
    kept outside it, so a deletion can still be requested there.
    """
    if also_request_remote_deletion:
        await entry.runtime_data.sharing.async_request_remote_deletion()
    await hass.config_entries.async_unload(entry.entry_id)
    now = dt_util.utcnow()
    path = store_path(hass, entry.entry_id)
    targets = DeletionTargets(hass, entry.entry_id)
    try:
        await targets.async_load()
        pairs, requested, copies = await async_call_once(
            path, now, LocalStatisticsStore.deletion_targets, targets.merged_copies
        )
        await targets.async_merge(pairs, requested, copies)
        result: dict[str, Any] = await async_call_once(
            path, now, LocalStatisticsStore.delete_local_statistics, now
        )
        result["home_assistant_history"] = await async_forget_recorded_history(
            hass, entry.entry_id
        )
    except (sqlite3.Error, OSError, TargetsUnavailableError) as err:
        # A target that could not be kept stops the deletion before anything goes.
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="local_deletion_failed"
        ) from err
    finally:
        await hass.config_entries.async_setup(entry.entry_id)
    waiting = {
        (row["installation_id"], row["endpoint"])
        for row in result["kept_until_acknowledged"]
    }
    result["kept_as_deletion_targets"] = [
        {"installation_id": installation_id, "endpoint": endpoint}
        for installation_id, endpoint in sorted(targets.pairs - waiting)
    ]
    return result


async def async_request_remote_deletion(
    entry: PrinternizerUsageConfigEntry,
) -> list[JsonValueType]:
    """Ask every server an id submitted to to delete it; report each request.

    The first attempt is made before answering; a request not acknowledged
    yet is retried on the deletion schedule.
    """
    sharing = entry.runtime_data.sharing
    queued = await sharing.async_request_remote_deletion()
    await sharing.async_send_due()
    waiting = {
        (row.installation_id, row.endpoint): row
        for row in waiting_deletions(sharing.book.outbox)
    }
    requests: list[JsonValueType] = []
    for row in queued:
        current = waiting.get((row.installation_id, row.endpoint))
        requests.append(
            {
                "installation_id": row.installation_id,
                "endpoint": row.endpoint,
                "status": "acknowledged" if current is None else current.status.value,
                "next_attempt": None if current is None else current.due_at.isoformat(),
            }
        )
    return requests
