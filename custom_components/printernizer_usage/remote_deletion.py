"""Asking collection servers to delete what they hold, until each confirms.

Every (id, server) pair a week went to is a deletion target, kept in the
targets file as well as in the statistics file, so that a damaged file or a
restart loses no request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .outbox import (
    AttemptResult,
    DeletionRow,
    Outbox,
    deletion_finished,
    deletion_requested,
    deletion_started,
    deletions_queued,
    forget_acknowledged,
    waiting_deletions,
)
from .outgoing import new_collection_session
from .repairs import (
    DELETION_ISSUES,
    async_clear_entry_issue,
    async_raise_entry_issue,
)
from .sharing_book import SharingPart
from .sharing_settings import SharingSettings, deletion_endpoint
from .store import LocalStatisticsStore, LoggedAttempt
from .submitter import async_request_deletion
from .targets import UNAVAILABLE_WARNING, TargetsUnavailableError

# Removing an entry waits at most this long for its last deletion requests.
REMOVAL_DEADLINE: Final = timedelta(seconds=30)
_REFUSALS: Final = (AttemptResult.UNAUTHORIZED, AttemptResult.FORBIDDEN)
# The server holds nothing of the id any more.
_CONFIRMED: Final = (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND)


class RemoteDeletion(SharingPart):
    """Queues deletion requests for every target and sends them one by one."""

    # A deletion was asked for while the targets file could not be read
    # (kept in the store too), or its note could not be written.
    _deletion_owed = False
    _note_owed = False

    @property
    def anything_to_delete(self) -> bool:
        """Tell whether some server may hold data a new request would reach.

        A week asked for at an endpoint, or a pair kept as a deletion target;
        a request already waiting counts as asked.
        """
        outbox = self._book.outbox
        waiting = {
            (row.installation_id, row.endpoint) for row in waiting_deletions(outbox)
        }
        sent = {
            (row.installation_id, endpoint)
            for row in outbox.weekly
            for endpoint in row.endpoints
        }
        return bool((sent | self._targets.pairs) - waiting)

    @property
    def targets_owed(self) -> bool:
        """Tell whether the targets file is waited for, to finish a request."""
        return self._deletion_owed or self._note_owed

    async def async_load(self, outbox: Outbox, now: datetime) -> Outbox:
        """Gather every target at start; return the outbox with lost requests.

        What this file and its moved-aside copies show joins the deletion
        targets (pairs from before they were kept outside it, or from a
        damaged file), and each waiting request is noted as asked for.
        """
        store = self._book.store
        self._deletion_owed = await store.async_call(LocalStatisticsStore.deletion_owed)
        try:
            await self._targets.async_load()
            pairs, requested, copies = await store.async_call(
                LocalStatisticsStore.deletion_targets, self._targets.merged_copies
            )
            await self._targets.async_merge(pairs, requested, copies)
        except TargetsUnavailableError:
            # The statistics file still holds them; no week goes out before
            # its target is written.
            LOGGER.warning(UNAVAILABLE_WARNING)
        # Deletion requests a damaged file lost are queued again.
        return deletions_queued(outbox, self._targets.requested, now)

    async def async_request(self, now: datetime) -> None:
        """Queue a request for every id and server a week went to; retire the id."""
        readable = await self._targets.async_ensure_loaded()
        book = self._book
        book.outbox = deletion_requested(book.outbox, now, self._targets.pairs)
        # The id goes too, sent or not: the next one is a fresh id.
        await book.async_save(retire_id=True)
        if not readable:
            # Pairs kept only there are asked for once it can be read, also
            # after a restart: noted first, before anything else can fail.
            self._deletion_owed = True
            await book.store.async_call(LocalStatisticsStore.owe_deletion, True)
        await book.async_reload_send_offset()

    async def async_note_requested(self) -> bool:
        """Note the waiting requests in the targets file; False: the note is owed."""
        try:
            await self._targets.async_mark_requested(
                (row.installation_id, row.endpoint)
                for row in waiting_deletions(self._book.outbox)
            )
        except TargetsUnavailableError:
            # The requests wait in the statistics file and are sent; the note
            # that keeps them through a damaged file is written later.
            LOGGER.warning(UNAVAILABLE_WARNING)
            self._note_owed = True
            return False
        return True

    async def async_queue_owed(self, now: datetime) -> None:
        """Finish a deletion request the targets file was not there for.

        Once the file can be read, the pairs it held (as read from disk: none
        added since, such as a new id's) are asked for, once. Waiting requests
        are noted as requested once the file can be written.
        """
        book = self._book
        if self._deletion_owed and await self._targets.async_ensure_loaded():
            book.outbox = deletions_queued(book.outbox, self._targets.on_disk, now)
            await book.async_save()
            await book.store.async_call(LocalStatisticsStore.owe_deletion, False)
            self._deletion_owed = False
            self._note_owed = True
        if self._note_owed:
            with suppress(TargetsUnavailableError):  # again at the next wake-up
                await self._targets.async_mark_requested(
                    (row.installation_id, row.endpoint)
                    for row in waiting_deletions(book.outbox)
                )
                self._note_owed = False

    async def async_send(self, row: DeletionRow) -> None:
        """Send one deletion request and keep what its answer means."""
        book = self._book
        book.outbox = deletion_started(book.outbox, row.installation_id, row.endpoint)
        await book.async_save()
        attempt = await async_request_deletion(
            self._session,
            deletion_endpoint(row, book.settings),
            row.installation_id,
        )
        now = dt_util.utcnow()
        book.outbox = deletion_finished(
            book.outbox, row.installation_id, row.endpoint, attempt.result, now
        )
        # Acknowledged: the id and what it sent there are forgotten, log included.
        book.outbox = forget_acknowledged(book.outbox)
        if attempt.result in _REFUSALS:
            # A former server's fix keeps the key for that address only: a key
            # typed for it must never be saved, and sent, as the current one's.
            current = book.settings.endpoint
            here = current is not None and current.base_url == row.endpoint
            async_raise_entry_issue(
                self._hass,
                self._entry,
                "deletion_refused" if here else "deletion_refused_elsewhere",
                {} if here else {"server": row.endpoint},
                fixable=True,
            )
        elif attempt.result is AttemptResult.REDIRECTED:
            async_raise_entry_issue(
                self._hass,
                self._entry,
                "deletion_redirected",
                {"status": str(attempt.http_status)},
            )
        elif not waiting_deletions(book.outbox):
            for issue in DELETION_ISSUES:
                async_clear_entry_issue(self._hass, self._entry, issue)
        await book.async_save(
            LoggedAttempt(
                now,
                row.installation_id,
                row.endpoint,
                attempt.result,
                attempt.http_status,
            )
        )
        if attempt.result in _CONFIRMED:
            # The log of what went there is gone: the last accepted week, as
            # a restart would read it, may be an older one or none.
            record = await book.store.async_call(LocalStatisticsStore.load_sharing)
            book.last_accepted = record.last_accepted_at
            # The server confirmed: it holds nothing of that id any more. (A
            # target left behind costs no more than a request answered 404.)
            try:
                await self._targets.async_remove((row.installation_id, row.endpoint))
            except TargetsUnavailableError:
                LOGGER.warning(UNAVAILABLE_WARNING)

    async def async_export(self) -> list[dict[str, str]] | None:
        """Return the targets for an export; None if the file cannot be read now."""
        if not await self._targets.async_ensure_loaded():
            return None
        return [
            {"installation_id": installation_id, "endpoint": endpoint}
            for installation_id, endpoint in sorted(self._targets.pairs)
        ]


async def async_send_deletions_before_removal(
    hass: HomeAssistant, options: Mapping[str, Any], outbox: Outbox
) -> None:
    """Make one last, time-limited attempt at the deletion requests still waiting.

    The entry is going away with its file, so nothing would retry them later.
    The log says how it went, without naming any id.
    """
    waiting = waiting_deletions(outbox)
    if not waiting:
        return
    settings = SharingSettings.from_options(options)
    async with new_collection_session() as session:
        requests = [
            async_request_deletion(
                session, deletion_endpoint(row, settings), row.installation_id
            )
            for row in waiting
        ]
        try:
            async with asyncio.timeout(REMOVAL_DEADLINE.total_seconds()):
                attempts = await asyncio.gather(*requests)
        except TimeoutError:
            attempts = []
    acknowledged = sum(attempt.result in _CONFIRMED for attempt in attempts)
    if acknowledged == len(waiting):
        LOGGER.info("All %d waiting deletion requests were acknowledged", acknowledged)
    else:
        LOGGER.warning(
            "%d of %d waiting deletion requests could not be delivered before the "
            "entry was removed; the collection server keeps that data",
            len(waiting) - acknowledged,
            len(waiting),
        )
