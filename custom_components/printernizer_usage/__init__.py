"""The Printernizer usage statistics integration."""

from __future__ import annotations

from contextlib import suppress
import sqlite3

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .collector import Collector
from .const import CONF_BASELINE_ID, DOMAIN, LOGGER
from .coordinator import (
    PrinternizerUsageConfigEntry,
    PrinternizerUsageCoordinator,
    PrinternizerUsageRuntimeData,
    store_path,
)
from .http import ExportDownloadView
from .outbox import Outbox, deletions_queued
from .recorded_history import async_forget_recorded_history
from .remote_deletion import async_send_deletions_before_removal
from .services import async_setup_services
from .sharing import SharingCoordinator, SharingStoppedError
from .sharing_settings import SharingSettings
from .store import (
    SCHEMA_VERSION,
    LocalStatisticsStore,
    StoreSchemaTooNewError,
    delete_store_files,
)
from .store_worker import StoreWorker, async_call_once
from .targets import DeletionTargets, TargetsUnavailableError

PLATFORMS = [Platform.BINARY_SENSOR, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and the export download once for all entries."""
    async_setup_services(hass)
    hass.http.register_view(ExportDownloadView())
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> bool:
    """Open the local store and start polling Printernizer.

    Setup does not depend on Printernizer answering: the statistics are local.
    """
    store = StoreWorker()
    try:
        moved_aside = await store.async_open(
            store_path(hass, entry.entry_id), dt_util.utcnow()
        )
        state = await store.async_call(
            LocalStatisticsStore.load_collector_state,
            entry.data.get(CONF_BASELINE_ID, ""),
        )
    except BaseException as err:
        await store.async_close()
        if isinstance(err, StoreSchemaTooNewError):
            _async_raise_schema_issue(hass, entry, err.found)
            raise ConfigEntryError(
                translation_domain=DOMAIN, translation_key="store_schema_too_new"
            ) from err
        if isinstance(err, sqlite3.Error | OSError):
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="store_unavailable"
            ) from err
        raise
    ir.async_delete_issue(hass, DOMAIN, f"store_schema_too_new_{entry.entry_id}")
    if moved_aside is not None:
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"store_recovered_{entry.entry_id}",
            is_fixable=False,
            is_persistent=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="store_recovered",
            translation_placeholders={"title": entry.title, "file": moved_aside.name},
        )

    coordinator = PrinternizerUsageCoordinator(hass, entry, store, Collector(state))
    sharing = SharingCoordinator(
        hass, entry, store, SharingSettings.from_options(entry.options)
    )
    entry.runtime_data = PrinternizerUsageRuntimeData(coordinator, sharing, store)
    try:
        await coordinator.async_config_entry_first_refresh()
        await sharing.async_start()
    except BaseException:
        await _async_shut_down(entry)
        raise

    async def _async_close_on_stop(_: Event) -> None:
        await _async_shut_down(entry)

    # A plain listener, not a one-time one: unloading after the stop event must
    # still find it to remove.
    entry.async_on_unload(
        hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_close_on_stop)
    )
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_options_updated(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> None:
    """Apply changed sharing options at once, without reloading.

    An entry that is unloading meanwhile keeps the options, and its next start
    applies them.
    """
    with suppress(SharingStoppedError):
        await entry.runtime_data.sharing.async_apply_settings(
            SharingSettings.from_options(entry.options)
        )


async def _async_shut_down(entry: PrinternizerUsageConfigEntry) -> None:
    """Stop sending, then polling, and close the store last."""
    await entry.runtime_data.sharing.async_shutdown()
    await entry.runtime_data.coordinator.async_shutdown()


async def async_unload_entry(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> bool:
    """Stop polling and close the store."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await _async_shut_down(entry)
    return unloaded


def _async_raise_schema_issue(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry, found: int
) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"store_schema_too_new_{entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="store_schema_too_new",
        translation_placeholders={
            "title": entry.title,
            "found": str(found),
            "supported": str(SCHEMA_VERSION),
        },
    )


async def async_remove_entry(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> None:
    """Delete the entry's statistics file, its journals and moved-aside copies.

    Deletion requests still waiting (in the file, or noted with the deletion
    targets when the file lost them) get one last attempt first.
    """
    path = store_path(hass, entry.entry_id)
    targets = DeletionTargets(hass, entry.entry_id)
    now = dt_util.utcnow()
    try:
        outbox = Outbox()
        if await hass.async_add_executor_job(path.exists):
            with suppress(sqlite3.Error, OSError, StoreSchemaTooNewError):
                record = await async_call_once(
                    path, now, LocalStatisticsStore.load_sharing
                )
                outbox = record.outbox
        with suppress(TargetsUnavailableError):
            await targets.async_load()
            outbox = deletions_queued(outbox, targets.requested, now)
        await async_send_deletions_before_removal(hass, entry.options, outbox)
    finally:
        # Whatever became of that attempt, the files go with the entry.
        try:
            await targets.async_delete()
        except OSError:
            LOGGER.warning("Could not delete the deletion targets file")
        await hass.async_add_executor_job(delete_store_files, path)
        await async_forget_recorded_history(hass, entry.entry_id)
    # Every repair issue of the entry goes too, whichever kinds there are.
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.endswith(f"_{entry.entry_id}"):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
