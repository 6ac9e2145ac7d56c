"""Queueing closed weeks and sending one, with consent checked to the last moment."""

from __future__ import annotations

import asyncio
from datetime import datetime

from homeassistant.util import dt as dt_util

from . import randomness
from .consent import week_is_eligible, week_policy_version
from .const import DOMAIN, LOGGER
from .outbox import (
    AttemptResult,
    WeeklyRow,
    WeeklyStatus,
    is_rejection,
    week_closed,
    weekly_finished,
    weekly_not_started,
    weekly_started,
    weeks_to_build,
)
from .payload import week_bounds
from .repairs import (
    SUBMISSION_ISSUES,
    async_clear_entry_issue,
    async_raise_rejection_issue,
)
from .sharing_book import SharingPart
from .store import LoggedAttempt
from .submitter import Attempt, Endpoint, async_submit
from .targets import UNAVAILABLE_WARNING, TargetsUnavailableError
from .week_payload import build_week_payload


class WeeklySender(SharingPart):
    """Builds the weeks that closed and sends a due week to the collection server."""

    # The request on the wire, which an opt-out or endpoint change cancels.
    _request: asyncio.Task[Attempt] | None = None

    def cancel_request(self) -> None:
        """Cut off the request on the wire, if any: its week is possibly sent."""
        if self._request is not None:
            self._request.cancel()

    async def async_queue_closed_weeks(self, now: datetime) -> None:
        """Build the exact bytes of every week that closed and may be sent."""
        book = self._book
        weeks = weeks_to_build(
            book.outbox, book.history, now, has_endpoint=book.has_endpoint
        )
        for week in weeks:
            version = week_policy_version(book.history, week)
            if version is None:  # pragma: no cover - weeks_to_build checked it
                continue
            if book.outbox.build_from is not None and week < book.outbox.build_from:
                # A regeneration or deletion request came while this loop
                # built: building on would make the next id now, dated today.
                # (Store calls run in order, so one queued before it still
                # found the old id.)
                continue
            installation_id, body = await book.store.async_call(
                build_week_payload,
                week,
                version,
                self._hass.config.time_zone,
                now.date(),
            )
            book.outbox = week_closed(
                book.outbox,
                week,
                installation_id,
                body,
                week_bounds(week)[1] + book.send_offset,
            )
        if weeks:
            await book.async_save()

    async def async_send(self, row: WeeklyRow) -> None:
        """Send one due week and keep what its answer means."""
        book = self._book
        endpoint = book.settings.endpoint
        if endpoint is None:  # pragma: no cover - next_due checked it
            return
        book.outbox = weekly_started(
            book.outbox, row.period_start, endpoint.base_url, dt_util.utcnow()
        )
        await book.async_save()
        try:
            await self._targets.async_add([(row.installation_id, endpoint.base_url)])
        except TargetsUnavailableError:
            LOGGER.warning(UNAVAILABLE_WARNING)
            # Nothing left the machine: the week waits, on the back-off
            # schedule, for a target it can go with.
            book.outbox = weekly_finished(
                book.outbox,
                row.period_start,
                AttemptResult.UNREACHABLE,
                dt_util.utcnow(),
                rng=randomness.SOURCE,
            )
            await book.async_save()
            return
        # Consent is checked again right before the request: an opt-out made
        # while the row was being saved has cut it off, before anything left.
        if not self._may_send(row, endpoint):
            book.outbox = weekly_not_started(book.outbox, row.period_start)
            await book.async_save()
            return
        attempt = await self._async_request(row, endpoint)
        if attempt is None:
            await book.async_save()  # cut off: the row is possibly sent
            return
        # An opt-out between the answer and here already cut the row off.
        answered_in_flight = self._row_status(row) is WeeklyStatus.IN_FLIGHT
        now = dt_util.utcnow()
        book.outbox = weekly_finished(
            book.outbox,
            row.period_start,
            attempt.result,
            now,
            rng=randomness.SOURCE,
            retry_after=attempt.retry_after,
        )
        if attempt.result is AttemptResult.ACCEPTED:
            book.last_accepted = now.replace(minute=0, second=0, microsecond=0)
            for issue in (*SUBMISSION_ISSUES, "submission_invalid"):
                async_clear_entry_issue(self._hass, self._entry, issue)
        elif answered_in_flight and is_rejection(attempt.result):
            async_raise_rejection_issue(self._hass, self._entry, attempt)
        await book.async_save(
            LoggedAttempt(
                now,
                row.installation_id,
                endpoint.base_url,
                attempt.result,
                attempt.http_status,
                row.period_start,
            )
        )

    async def _async_request(
        self, row: WeeklyRow, endpoint: Endpoint
    ) -> Attempt | None:
        """Send a week; None if an opt-out or endpoint change cut the request off.

        The request runs as a task of its own, so that such a change can cancel
        it wherever it is: opening the connection, in the TLS handshake, or
        waiting for the answer. Shutting down cancels this whole send instead.
        """
        self._request = self._entry.async_create_background_task(
            self._hass,
            async_submit(self._session, endpoint, row.body, row.idempotency_key),
            f"{DOMAIN} submission",
        )
        try:
            return await self._request
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            return None
        finally:
            self._request = None

    def _may_send(self, row: WeeklyRow, endpoint: Endpoint) -> bool:
        book = self._book
        return (
            self._row_status(row) is WeeklyStatus.IN_FLIGHT
            and book.history.sharing
            and book.settings.endpoint == endpoint
            and week_is_eligible(book.history, row.period_start)
        )

    def _row_status(self, row: WeeklyRow) -> WeeklyStatus | None:
        current = self._book.row(row.period_start)
        return None if current is None else current.status
