"""Coordinator that polls Printernizer and keeps the local statistics up to date."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .api import PrinternizerClient, PrinternizerError
from .const import DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER
from .store import StoreWorker

type PrinternizerUsageConfigEntry = ConfigEntry[PrinternizerUsageRuntimeData]


@dataclass(slots=True)
class PrinternizerUsageRuntimeData:
    """What a loaded entry holds."""

    coordinator: PrinternizerUsageCoordinator
    store: StoreWorker


@dataclass(frozen=True, slots=True)
class StatisticsView:
    """What the entities show."""

    printernizer_reachable: bool


class PrinternizerUsageCoordinator(DataUpdateCoordinator[StatisticsView]):
    """Polls Printernizer on a fixed interval."""

    config_entry: PrinternizerUsageConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: PrinternizerUsageConfigEntry
    ) -> None:
        """Create the coordinator for one entry."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=DEFAULT_SCAN_INTERVAL,
        )
        self.client = PrinternizerClient(
            async_get_clientsession(hass), entry.data[CONF_URL]
        )

    async def _async_update_data(self) -> StatisticsView:
        try:
            await self.client.async_health()
        except PrinternizerError:
            return StatisticsView(printernizer_reachable=False)
        return StatisticsView(printernizer_reachable=True)
