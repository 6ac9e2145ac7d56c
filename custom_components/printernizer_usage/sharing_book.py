"""What sharing knows of one entry, and keeping it in the entry's store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import aiohttp
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .consent import ConsentHistory, SharingState, sharing_state
from .const import POLICY_VERSION
from .decisions import decision_recorded, stop_made_while_away
from .outbox import (
    Outbox,
    WeeklyRow,
    WeeklyStatus,
    id_regenerated,
    next_submission_at,
    possibly_sent_weeks,
    unsent_weeks,
    waiting_deletions,
)
from .scheduler import next_timer_at
from .sharing_settings import SharingSettings
from .store import LocalStatisticsStore, LoggedAttempt
from .store_worker import StoreWorker
from .targets import DeletionTargets, Target


@dataclass(frozen=True, slots=True)
class SharingStatus:
    """What the sharing sensors show."""

    state: SharingState
    last_submission: datetime | None
    next_submission: datetime | None
    pending_submissions: int
    pending_deletions: int


class SharingBook:
    """Consent, outbox and schedule, shared by the coordinator and its senders.

    Every change is saved before anything acts on it.
    """

    def __init__(self, store: StoreWorker, settings: SharingSettings) -> None:
        """Start empty; the coordinator loads the stored state."""
        self.store = store
        self.settings = settings
        self.history = ConsentHistory()
        self.outbox = Outbox()
        self.send_offset = timedelta(0)
        self.last_accepted: datetime | None = None
        # Set once the entry is being unloaded: no change is made afterwards.
        self.stopped = False

    @property
    def has_endpoint(self) -> bool:
        """Tell whether a collection server is set."""
        return self.settings.endpoint is not None

    @property
    def endpoint_url(self) -> str | None:
        """Return the collection server's address, if one is set."""
        endpoint = self.settings.endpoint
        return None if endpoint is None else endpoint.base_url

    def status(self, now: datetime) -> SharingStatus:
        """Return what the sensors show now."""
        return SharingStatus(
            state=sharing_state(self.history, POLICY_VERSION, self.has_endpoint),
            last_submission=self.last_accepted,
            next_submission=next_submission_at(
                self.outbox,
                self.history,
                now,
                self.send_offset,
                has_endpoint=self.has_endpoint,
            ),
            # Weeks the server has not confirmed: unsent or possibly sent.
            pending_submissions=len(unsent_weeks(self.outbox))
            + len(possibly_sent_weeks(self.outbox)),
            pending_deletions=len(waiting_deletions(self.outbox)),
        )

    def record_stop_made_while_away(self, now: datetime) -> None:
        """Record an opt-out the options saved while the entry was not running."""
        self.history, self.outbox = stop_made_while_away(
            self.history, self.outbox, self.settings, now
        )

    def record_decision(
        self, settings: SharingSettings, now: datetime, high_water: datetime | None
    ) -> None:
        """Add the decision of `settings` to the history if it is a new one."""
        self.history, self.outbox = decision_recorded(
            self.history, self.outbox, settings, now, high_water
        )

    def forget_unneeded_keys(self, targets: Iterable[Target]) -> dict[str, str] | None:
        """Drop former servers' keys no longer needed; return the rest if any went.

        Only a week sent (or tried) there, a deletion request for it, or a
        deletion target on it can still need the key; once none is left, it
        goes.
        """
        former = self.settings.former_keys
        needed = (
            {row.endpoint for row in self.outbox.deletions}
            | {endpoint for row in self.outbox.weekly for endpoint in row.endpoints}
            # A server that may hold data needs its key for a later deletion.
            | {endpoint for _, endpoint in targets}
        )
        kept = {url: key for url, key in former.items() if url in needed}
        if kept == dict(former):
            return None
        self.settings = replace(self.settings, former_keys=kept)
        return kept

    def sent_weeks(self) -> set[date]:
        """Return the weeks the collection server accepted."""
        return {
            row.period_start
            for row in self.outbox.weekly
            if row.status is WeeklyStatus.SENT
        }

    def timer_at(self, now: datetime, *, targets_owed: bool) -> datetime | None:
        """Return when the timer next fires, or None if nothing will come due."""
        return next_timer_at(
            self.outbox,
            self.history,
            now,
            has_endpoint=self.has_endpoint,
            targets_owed=targets_owed,
        )

    def row(self, week: date) -> WeeklyRow | None:
        """Return a week's row, if it is in the outbox."""
        return next(
            (row for row in self.outbox.weekly if row.period_start == week), None
        )

    async def async_save(
        self, attempt: LoggedAttempt | None = None, *, retire_id: bool = False
    ) -> None:
        """Keep consent and outbox, with an attempt to log, in one transaction."""
        await self.store.async_call(
            LocalStatisticsStore.save_sharing,
            self.history,
            self.outbox,
            attempt,
            retire_id,
        )

    async def async_regenerate_id(self, now: datetime) -> None:
        """Retire the id and discard its unsent weeks, in one save."""
        old_id = await self.store.async_call(
            LocalStatisticsStore.current_installation_id
        )
        self.outbox = id_regenerated(self.outbox, old_id, now)
        await self.async_save(retire_id=True)
        await self.async_reload_send_offset()

    async def async_reload_send_offset(self) -> None:
        """Read the send offset again: retiring an id drew the next id's own."""
        self.send_offset = await self.store.async_call(LocalStatisticsStore.send_offset)


class SharingPart:
    """One part of sharing: it works on an entry's book, targets file and session."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        book: SharingBook,
        targets: DeletionTargets,
        session: aiohttp.ClientSession,
    ) -> None:
        """Share the entry's book, targets file and session with the coordinator."""
        self._hass = hass
        self._entry = entry
        self._book = book
        self._targets = targets
        self._session = session
