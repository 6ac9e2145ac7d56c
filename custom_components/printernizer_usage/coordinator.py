"""Coordinator that polls Printernizer and keeps the local statistics up to date."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
import sqlite3

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import PrinternizerClient, PrinternizerError
from .collector import Collector, FailedPoll, PollOutcome
from .const import DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER, ErrorType
from .sanitise import UNKNOWN_VERSION
from .sharing import SharingCoordinator
from .store import LocalStatisticsStore, StatisticsView, is_corruption
from .store_worker import StoreWorker

type PrinternizerUsageConfigEntry = ConfigEntry[PrinternizerUsageRuntimeData]


def store_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Return where an entry keeps its statistics."""
    return Path(hass.config.path(".storage", DOMAIN, f"{entry_id}.db"))


@dataclass(slots=True)
class PrinternizerUsageRuntimeData:
    """What a loaded entry holds."""

    coordinator: PrinternizerUsageCoordinator
    sharing: SharingCoordinator
    store: StoreWorker


@dataclass(frozen=True, slots=True)
class UsageData:
    """What the entities show after a poll."""

    statistics: StatisticsView
    printernizer_reachable: bool
    last_error: ErrorType | None


class PrinternizerUsageCoordinator(DataUpdateCoordinator[UsageData]):
    """Polls Printernizer and records every poll, successful or not, locally.

    A poll that cannot reach Printernizer is counted as an error and does not
    fail the update: the statistics come from the store and stay available.
    """

    config_entry: PrinternizerUsageConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PrinternizerUsageConfigEntry,
        store: StoreWorker,
        collector: Collector,
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
        self.store = store
        self.collector = collector
        self._reachable: bool | None = None
        self._version: str | None = None
        # Timed and requested refreshes can overlap; two polls reading the same
        # new items before either is saved would count them twice.
        self._poll_lock = asyncio.Lock()

    async def _async_update_data(self) -> UsageData:
        async with self._poll_lock:
            return await self._async_poll_and_record()

    async def _async_poll_and_record(self) -> UsageData:
        now = dt_util.utcnow()
        outcome: PollOutcome | FailedPoll
        try:
            outcome = await self.collector.async_poll(self.client, now)
        except PrinternizerError as err:
            outcome = FailedPoll(observed_at=now, error=err.kind)
        try:
            view = await self.store.async_call(
                LocalStatisticsStore.record_poll, outcome
            )
        except sqlite3.Error as err:
            if (
                is_corruption(err)
                and self.config_entry.state is ConfigEntryState.LOADED
            ):
                # Reopening moves the damaged file aside and raises a repair
                # issue. (During setup, the retry reopens it anyway.)
                self.hass.config_entries.async_schedule_reload(
                    self.config_entry.entry_id
                )
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="store_write_failed"
            ) from err
        if isinstance(outcome, FailedPoll):
            self._note_reachability(outcome.error)
            return UsageData(
                view, printernizer_reachable=False, last_error=outcome.error
            )
        self.collector.commit(outcome)
        self._note_reachability(None)
        self._note_version(outcome.app_version)
        return UsageData(
            view,
            printernizer_reachable=True,
            last_error=outcome.errors[0] if outcome.errors else None,
        )

    async def async_shutdown(self) -> None:
        """Stop polling, let a running poll finish, then close the store."""
        await super().async_shutdown()
        async with self._poll_lock:
            await self.store.async_close()

    def _note_version(self, app_version: str) -> None:
        """Show Printernizer's version on the entry's device when it changes."""
        version = None if app_version == UNKNOWN_VERSION else app_version
        if version == self._version:
            return
        self._version = version
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id,
            identifiers={(DOMAIN, self.config_entry.entry_id)},
            sw_version=version,
        )

    def _note_reachability(self, error: ErrorType | None) -> None:
        """Log once when Printernizer stops answering and once when it is back."""
        reachable = error is None
        if reachable == self._reachable:
            return
        if error is not None:
            LOGGER.warning(
                "Printernizer could not be polled (%s); the statistics stay "
                "available and failed polls are counted as errors",
                error,
            )
        elif self._reachable is False:
            LOGGER.info("Printernizer can be polled again")
        self._reachable = reachable
