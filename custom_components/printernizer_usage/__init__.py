"""The Printernizer usage statistics integration."""

from __future__ import annotations

from pathlib import Path

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import (
    PrinternizerUsageConfigEntry,
    PrinternizerUsageCoordinator,
    PrinternizerUsageRuntimeData,
)
from .services import async_setup_services
from .store import StoreWorker

PLATFORMS = [Platform.BINARY_SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> bool:
    """Open the local store and start polling Printernizer."""
    store = StoreWorker()
    await store.async_open(
        Path(hass.config.path(".storage", DOMAIN, f"{entry.entry_id}.db"))
    )
    coordinator = PrinternizerUsageCoordinator(hass, entry)
    entry.runtime_data = PrinternizerUsageRuntimeData(coordinator, store)
    await coordinator.async_config_entry_first_refresh()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
) -> bool:
    """Stop polling and close the store."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.store.async_close()
    return unloaded
