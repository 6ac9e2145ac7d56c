"""Sharing in Home Assistant: what the user does, and when anything is sent.

The decisions live in the pure core (consent.py, outbox.py, decisions.py);
the coordinator keeps their state in a SharingBook, saves every change before
acting on it, and hands the sending to WeeklySender and RemoteDeletion.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import CONF_FORMER_COLLECTION_KEYS, DOMAIN, LOGGER
from .outbox import (
    DeletionDue,
    DeletionRow,
    deletions_retried,
    endpoint_changed,
    first_whole_week,
    next_due,
    reconcile,
    restarted,
    send_now_requested,
    waiting_deletions,
)
from .outgoing import new_collection_session
from .remote_deletion import RemoteDeletion
from .repairs import (
    async_clear_endpoint_issues,
    async_sync_possibly_sent_issue,
    async_sync_reconsent_issue,
    async_sync_settings_issue,
)
from .scheduler import SendTimer
from .sharing_book import SharingBook, SharingStatus
from .sharing_settings import SharingSettings
from .store import LocalStatisticsStore
from .store_worker import StoreWorker
from .targets import DeletionTargets
from .week_payload import async_preview_week
from .weekly_sender import WeeklySender


class SharingStoppedError(HomeAssistantError):
    """The entry is being unloaded: the change was not made."""


class SharingCoordinator(DataUpdateCoordinator[SharingStatus]):
    """Keeps consent and the outbox, and sends what is due when it is due.

    Nothing polls: one timer points at the next moment something is due (a
    week closing, a row becoming sendable, a deletion retry) and is set again
    after every change.
    """

    # Only the entry's id, options and tasks are used here: the runtime data's
    # type (coordinator.py) would make the two modules import each other.
    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        store: StoreWorker,
        settings: SharingSettings,
    ) -> None:
        """Create the coordinator; `async_start` loads its state."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN}_sharing",
            update_interval=None,
        )
        self._book = SharingBook(store, settings)
        self._targets = DeletionTargets(hass, entry.entry_id)
        self._session = new_collection_session()
        parts = (hass, entry, self._book, self._targets, self._session)
        self._weeks = WeeklySender(*parts)
        # Public for what it tells (anything_to_delete); requests go through here.
        self.deletions = RemoteDeletion(*parts)
        self._timer = SendTimer(hass, self._on_timer)
        self._send_task: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        # Changes the user makes hold this; shutdown waits for them, then stops.
        self._change_lock = asyncio.Lock()

    # ----- life cycle -------------------------------------------------------------

    async def async_start(self) -> None:
        """Load consent and outbox, record what the options say, arm the timer."""
        book = self._book
        record = await book.store.async_call(LocalStatisticsStore.load_sharing)
        book.history = record.history
        book.outbox = await self.deletions.async_load(record.outbox, dt_util.utcnow())
        book.send_offset = record.send_offset
        book.last_accepted = record.last_accepted_at
        now = dt_util.utcnow()
        book.record_stop_made_while_away(now)
        book.record_decision(book.settings, now, record.clock_high_water)
        # A week a crash or a stop left in flight is sent again, same key, if
        # consent and endpoint are unchanged; else it is possibly sent.
        book.outbox = restarted(book.outbox, book.history, book.endpoint_url, now)
        await book.async_save()
        self._publish()
        self._arm(now)

    async def async_shutdown(self) -> None:
        """Stop the timer and any send in progress, before the store closes.

        A change being made is saved first, none afterwards. A request cut off
        here stays in flight: the next start resends it, same Idempotency-Key.
        """
        await super().async_shutdown()
        async with self._change_lock:
            self._book.stopped = True
        self._timer.cancel()
        if self._send_task is not None and not self._send_task.done():
            self._send_task.cancel()
            await asyncio.wait([self._send_task])
        async with self._send_lock:  # a send an action started ends first
            pass
        await self._session.close()

    @asynccontextmanager
    async def _changing(self) -> AsyncIterator[None]:
        """Make a change while the store is open, or refuse it once stopped."""
        async with self._change_lock:
            if self._book.stopped:
                raise SharingStoppedError(
                    translation_domain=DOMAIN,
                    translation_key="entry_not_loaded",
                    translation_placeholders={"entry_id": self.config_entry.entry_id},
                )
            yield

    async def _async_update_data(self) -> SharingStatus:
        return self._book.status(dt_util.utcnow())

    # ----- what the user does -----------------------------------------------------

    async def async_apply_settings(self, settings: SharingSettings) -> None:
        """Apply changed options at once: consent, endpoint, schedule."""
        book = self._book
        now = dt_util.utcnow()
        previous, book.settings = book.settings, settings
        endpoint_changes = settings.endpoint != previous.endpoint
        # Opting out and leaving an endpoint take effect before anything
        # awaits, even the wait for another change to be saved: a send about
        # to start sees them, and a request on the wire is cancelled (its week
        # is then possibly sent).
        if not settings.share:
            book.record_decision(settings, now, None)
        if endpoint_changes:
            book.outbox = endpoint_changed(book.outbox, now)
        elif settings.former_keys != previous.former_keys:  # a repair's key
            book.outbox = deletions_retried(book.outbox, now)
        if not settings.share or endpoint_changes:
            self._weeks.cancel_request()
        async with self._changing():
            if settings.share:
                high_water = await book.store.async_call(
                    LocalStatisticsStore.clock_high_water
                )
                # A later change may have come while this one waited: only
                # the newest settings are recorded (an opt-out made meanwhile
                # is not undone by this opt-in).
                if book.settings.share:
                    book.record_decision(book.settings, now, high_water)
            if endpoint_changes:
                async_clear_endpoint_issues(self.hass, self.config_entry)
            await book.async_save()
            self._publish()
            self._arm(now)

    async def async_request_remote_deletion(self) -> tuple[DeletionRow, ...]:
        """Queue a deletion request for every id and endpoint a week went to.

        Returns the requests now waiting, older ones included.
        """
        async with self._changing():
            now = dt_util.utcnow()
            await self.deletions.async_request(now)
            self._publish()
            self._arm(now)
            if not await self.deletions.async_note_requested():
                self._arm(now)  # the note is tried again later
            return waiting_deletions(self._book.outbox)

    async def async_export(self) -> dict[str, Any]:
        """Return everything kept locally: the statistics and the deletion targets."""
        export: dict[str, Any] = await self._book.store.async_call(
            LocalStatisticsStore.export
        )
        # None: the file cannot be read now, so what it holds is not known.
        export["deletion_targets"] = await self.deletions.async_export()
        return export

    async def async_preview(self, week: date) -> dict[str, Any]:
        """Return a week's payload (exactly as queued, if it is) and if it may go."""
        return await async_preview_week(
            self._book, week, self.hass.config.time_zone, dt_util.utcnow()
        )

    async def async_regenerate_installation_id(self) -> date:
        """Retire the id and discard its unsent weeks; return the next id's first week.

        Sending those weeks would link the old id and the new one. The next id
        is drawn when its first week is built, with a send offset drawn now:
        both, and its first week (the next whole one), as for a fresh
        installation.
        """
        async with self._changing():
            now = dt_util.utcnow()
            await self._book.async_regenerate_id(now)
            self._publish()
            self._arm(now)
            return first_whole_week(now)

    async def async_submit_now(self) -> list[date]:
        """Send the pending weeks now, within consent and the hourly limit.

        Returns the weeks the server accepted during the call.
        """
        before = self._book.sent_weeks()
        async with self._changing():
            self._book.outbox = send_now_requested(self._book.outbox, dt_util.utcnow())
            await self._book.async_save()
        await self.async_send_due()
        return sorted(self._book.sent_weeks() - before)

    # ----- what others read -------------------------------------------------------

    @property
    def book(self) -> SharingBook:
        """Return what sharing knows: consent, outbox and schedule."""
        return self._book

    @property
    def _settings(self) -> SharingSettings:
        return self._book.settings

    # ----- the timer and sending ----------------------------------------------------

    @callback
    def _arm(self, now: datetime) -> None:
        """Point the one timer at the next moment something is due."""
        self._timer.arm(
            self._book.timer_at(now, targets_owed=self.deletions.targets_owed)
        )

    @callback
    def _on_timer(self) -> None:
        self._send_task = self.config_entry.async_create_background_task(
            self.hass, self.async_send_due(), f"{DOMAIN} sharing"
        )

    async def async_send_due(self) -> None:
        """Queue closed weeks, then send whatever is due, one request at a time."""
        book = self._book
        async with self._send_lock:
            if book.stopped:
                return
            now = dt_util.utcnow()
            book.outbox = reconcile(book.outbox, now)
            await self.deletions.async_queue_owed(now)
            await self._weeks.async_queue_closed_weeks(now)
            while (
                due := next_due(
                    book.outbox,
                    book.history,
                    dt_util.utcnow(),
                    has_endpoint=book.has_endpoint,
                )
            ) is not None:
                if isinstance(due, DeletionDue):
                    await self.deletions.async_send(due.row)
                else:
                    await self._weeks.async_send(due.row)
            self._publish()
            self._arm(dt_util.utcnow())

    # ----- state for the entities ---------------------------------------------------

    @callback
    def _publish(self) -> None:
        self.async_set_updated_data(self._book.status(dt_util.utcnow()))
        entry = self.config_entry
        async_sync_reconsent_issue(self.hass, entry, self._book.history)
        async_sync_settings_issue(self.hass, entry, self._book.settings)
        async_sync_possibly_sent_issue(self.hass, entry, self._book.outbox)
        # The key of a former server goes once it holds nothing of this entry.
        kept = self._book.forget_unneeded_keys(self._targets.pairs)
        if kept is not None:
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, CONF_FORMER_COLLECTION_KEYS: kept}
            )
