"""Sharing in Home Assistant: consent from the options, one timer, the submitter.

The decisions live in the pure core (consent.py, outbox.py); this module keeps
their state, saves every change before acting on it, and talks to the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
import json
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from . import randomness
from .consent import (
    ConsentHistory,
    SharingState,
    sharing_state,
    week_is_eligible,
    week_policy_version,
)
from .const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    DOMAIN,
    LOGGER,
    POLICY_VERSION,
)
from .outbox import (
    AttemptResult,
    DeletionDue,
    DeletionRow,
    Outbox,
    WeeklyRow,
    WeeklyStatus,
    deletion_finished,
    deletion_requested,
    deletion_started,
    deletions_queued,
    endpoint_changed,
    first_whole_week,
    forget_acknowledged,
    id_regenerated,
    is_rejection,
    next_due,
    next_submission_at,
    next_wakeup,
    opted_out,
    possibly_sent_weeks,
    reconcile,
    restarted,
    send_now_requested,
    unsent_weeks,
    waiting_deletions,
    week_closed,
    weekly_finished,
    weekly_not_started,
    weekly_started,
    weeks_to_build,
)
from .outgoing import new_collection_session
from .payload import fields_added_after, payload_shape, week_bounds, week_start
from .store import LocalStatisticsStore, LoggedAttempt
from .store_worker import StoreWorker
from .submitter import (
    Attempt,
    Endpoint,
    async_request_deletion,
    async_submit,
    is_api_key,
)
from .targets import DeletionTargets, TargetsUnavailableError
from .urls import is_collection_url

# A wake-up never comes sooner than this after the last one, so a schedule
# that (wrongly) pointed into the past could not spin the event loop.
MIN_TIMER_DELAY: Final = timedelta(seconds=1)
# Removing an entry waits at most this long for its last deletion requests.
REMOVAL_DEADLINE: Final = timedelta(seconds=30)
_REFUSALS: Final = (AttemptResult.UNAUTHORIZED, AttemptResult.FORBIDDEN)
# The repair issues an endpoint change makes moot.
OWED_DELETION_RETRY: Final = timedelta(hours=1)
_TARGETS_UNAVAILABLE: Final = (
    "The deletion targets file cannot be read or written; no week is sent "
    "until it can be"
)
_SUBMISSION_ISSUES: Final = ("submission_rejected", "submission_redirected")
_DELETION_ISSUES: Final = ("deletion_refused", "deletion_redirected")


class SharingStoppedError(HomeAssistantError):
    """The entry is being unloaded: the change was not made."""


@dataclass(frozen=True, slots=True)
class SharingSettings:
    """What the user chose in the entry's options."""

    share: bool
    policy_version: int
    endpoint: Endpoint | None
    # The first option the forms would not have stored; nothing is sent then.
    invalid_option: str | None = None
    # Keys of servers left behind, by address, for their deletion requests.
    former_keys: Mapping[str, str] = field(default_factory=dict)
    # When the options form last turned sharing off.
    stopped_at: datetime | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SharingSettings:
        """Read the settings, checked as the forms check them.

        Options come from a file that can be edited by hand. Only a stored
        True shares; an invalid option leaves no endpoint (so no week goes)
        and no consent to record until the settings are saved again.
        """
        share = options.get(CONF_SHARE_STATISTICS, False) is True
        invalid = _invalid_option(options, share=share)
        if invalid is not None:
            return cls(share, POLICY_VERSION, None, invalid)
        url = options.get(CONF_COLLECTION_URL)
        key = options.get(CONF_COLLECTION_API_KEY) or None
        return cls(
            share=share,
            policy_version=options.get(CONF_CONSENTED_POLICY, POLICY_VERSION),
            endpoint=Endpoint(url, key) if url else None,
            former_keys=dict(options.get(CONF_FORMER_COLLECTION_KEYS, {})),
            stopped_at=_stop_time(options.get(CONF_STOPPED_AT)),
        )


def _invalid_option(options: Mapping[str, Any], *, share: bool) -> str | None:
    """Return the first sharing option the forms would not have stored."""
    url = options.get(CONF_COLLECTION_URL)
    former = options.get(CONF_FORMER_COLLECTION_KEYS, {})
    valid = {
        CONF_SHARE_STATISTICS: isinstance(
            options.get(CONF_SHARE_STATISTICS, False), bool
        ),
        CONF_CONSENTED_POLICY: not share
        or _is_policy_version(options.get(CONF_CONSENTED_POLICY)),
        CONF_DECLINED_POLICY: _is_policy_version(options.get(CONF_DECLINED_POLICY, 1)),
        CONF_COLLECTION_URL: url is None or is_collection_url(url),
        CONF_COLLECTION_API_KEY: is_api_key(options.get(CONF_COLLECTION_API_KEY, "")),
        CONF_FORMER_COLLECTION_KEYS: isinstance(former, dict)
        and all(
            is_collection_url(address) and is_api_key(key)
            for address, key in former.items()
        ),
        CONF_STOPPED_AT: options.get(CONF_STOPPED_AT) is None
        or _stop_time(options[CONF_STOPPED_AT]) is not None,
    }
    return next((option for option, ok in valid.items() if not ok), None)


def _stop_time(value: object) -> datetime | None:
    """Read a stored stop time: an ISO 8601 moment in UTC, as the form writes it."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() == timedelta(0) else None


def _is_policy_version(value: object) -> bool:
    """Tell whether a stored value names a policy version this release knows."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 1 <= value <= POLICY_VERSION
    )


@dataclass(frozen=True, slots=True)
class SharingStatus:
    """What the sharing sensors show."""

    state: SharingState
    last_submission: datetime | None
    next_submission: datetime | None
    pending_submissions: int
    pending_deletions: int


def deletion_endpoint(row: DeletionRow, settings: SharingSettings) -> Endpoint:
    """Return where a deletion request goes, with that server's own key if any.

    A key belongs to the address it was set for and is never sent to another.
    """
    current = settings.endpoint
    if current is not None and current.base_url == row.endpoint:
        return current
    return Endpoint(row.endpoint, settings.former_keys.get(row.endpoint) or None)


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
        self._store = store
        self._settings = settings
        self._targets = DeletionTargets(hass, entry.entry_id)
        self._session = new_collection_session()
        self._history = ConsentHistory()
        self._outbox = Outbox()
        self._send_offset = timedelta(0)
        self._last_accepted: datetime | None = None
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._send_task: asyncio.Task[None] | None = None
        # The weekly request on the wire, which an opt-out or endpoint change cancels.
        self._request: asyncio.Task[Attempt] | None = None
        self._send_lock = asyncio.Lock()
        # Changes the user makes hold this; shutdown waits for them, then stops.
        self._change_lock = asyncio.Lock()
        self._stopped = False
        # A deletion was asked for while the targets file could not be read
        # (kept in the store too), or its note could not be written.
        self._deletion_owed = False
        self._note_owed = False

    # ----- life cycle -------------------------------------------------------------

    async def async_start(self) -> None:
        """Load consent and outbox, record what the options say, arm the timer."""
        record = await self._store.async_call(LocalStatisticsStore.load_sharing)
        self._deletion_owed = await self._store.async_call(
            LocalStatisticsStore.deletion_owed
        )
        # What this file and its moved-aside copies show joins the deletion
        # targets (pairs from before they were kept outside it, or from a
        # damaged file), and each waiting request is noted as asked for.
        try:
            await self._targets.async_load()
            pairs, requested, copies = await self._store.async_call(
                LocalStatisticsStore.deletion_targets, self._targets.merged_copies
            )
            await self._targets.async_merge(pairs, requested, copies)
        except TargetsUnavailableError:
            # The statistics file still holds them; no week goes out before
            # its target is written.
            LOGGER.warning(_TARGETS_UNAVAILABLE)
        self._history = record.history
        # Deletion requests a damaged file lost are queued again.
        self._outbox = deletions_queued(
            record.outbox, self._targets.requested, dt_util.utcnow()
        )
        self._send_offset = record.send_offset
        self._last_accepted = record.last_accepted_at
        now = dt_util.utcnow()
        self._record_stop_made_while_away(now)
        self._record_decision(self._settings, now, record.clock_high_water)
        # A week a crash or a stop left in flight is sent again, same key, if
        # consent and endpoint are unchanged; else it is possibly sent.
        self._outbox = restarted(self._outbox, self._history, self._endpoint_url, now)
        await self._async_save()
        self._publish()
        self._arm(now)

    async def async_shutdown(self) -> None:
        """Stop the timer and any send in progress, before the store closes.

        A change being made is saved first, and none is made afterwards. A
        request cut off here leaves its row in flight; the next start sends it
        again with the same Idempotency-Key.
        """
        await super().async_shutdown()
        async with self._change_lock:
            self._stopped = True
        self._cancel_timer()
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
            if self._stopped:
                raise SharingStoppedError(
                    translation_domain=DOMAIN,
                    translation_key="entry_not_loaded",
                    translation_placeholders={"entry_id": self.config_entry.entry_id},
                )
            yield

    async def _async_update_data(self) -> SharingStatus:
        return self._status(dt_util.utcnow())

    # ----- what the user does -----------------------------------------------------

    async def async_apply_settings(self, settings: SharingSettings) -> None:
        """Apply changed options at once: consent, endpoint, schedule."""
        now = dt_util.utcnow()
        previous, self._settings = self._settings, settings
        endpoint_changes = settings.endpoint != previous.endpoint
        # Opting out and leaving an endpoint take effect before anything
        # awaits, even the wait for another change to be saved: a send about
        # to start sees them, and a request on the wire is cancelled (its week
        # is then possibly sent).
        if not settings.share:
            self._record_decision(settings, now, None)
        if endpoint_changes:
            self._outbox = endpoint_changed(self._outbox, now)
        if (not settings.share or endpoint_changes) and self._request is not None:
            self._request.cancel()
        async with self._changing():
            if settings.share:
                high_water = await self._store.async_call(
                    LocalStatisticsStore.clock_high_water
                )
                # A later change may have come while this one waited: only
                # the newest settings are recorded (an opt-out made meanwhile
                # is not undone by this opt-in).
                if self._settings.share:
                    self._record_decision(self._settings, now, high_water)
            if endpoint_changes:
                for issue in (*_DELETION_ISSUES, *_SUBMISSION_ISSUES):
                    self._clear_issue(issue)
            await self._async_save()
            self._publish()
            self._arm(now)

    async def async_request_remote_deletion(self) -> tuple[DeletionRow, ...]:
        """Queue a deletion request for every id and endpoint a week went to.

        Returns the requests now waiting, older ones included.
        """
        async with self._changing():
            now = dt_util.utcnow()
            readable = await self._targets.async_ensure_loaded()
            self._outbox = deletion_requested(self._outbox, now, self._targets.pairs)
            # The id goes too, sent or not: the next one is a fresh id.
            await self._async_save(retire_id=True)
            if not readable:
                # Pairs kept only there are asked for once it can be read,
                # also after a restart.
                self._deletion_owed = True
                await self._store.async_call(LocalStatisticsStore.owe_deletion, True)
            self._send_offset = await self._store.async_call(
                LocalStatisticsStore.send_offset
            )
            self._publish()
            self._arm(now)
            try:
                await self._targets.async_mark_requested(
                    (row.installation_id, row.endpoint)
                    for row in waiting_deletions(self._outbox)
                )
            except TargetsUnavailableError:
                # The requests wait in the statistics file and are sent; the
                # note that keeps them through a damaged file is written later.
                LOGGER.warning(_TARGETS_UNAVAILABLE)
                self._note_owed = True
                self._arm(now)
            return waiting_deletions(self._outbox)

    async def async_export(self) -> dict[str, Any]:
        """Return everything kept locally: the statistics and the deletion targets."""
        export: dict[str, Any] = await self._store.async_call(
            LocalStatisticsStore.export
        )
        # None: the file cannot be read now, so what it holds is not known.
        export["deletion_targets"] = (
            [
                {"installation_id": installation_id, "endpoint": endpoint}
                for installation_id, endpoint in sorted(self._targets.pairs)
            ]
            if await self._targets.async_ensure_loaded()
            else None
        )
        return export

    async def async_preview(self, week: date) -> dict[str, Any]:
        """Return a week's payload (exactly as queued, if it is) and if it may go."""
        now = dt_util.utcnow()
        row = self._row(week)
        if row is not None:
            payload = json.loads(row.body)
        else:
            payload = await self._store.async_call(
                LocalStatisticsStore.preview_week_payload,
                week,
                self._preview_policy(week),
                self.hass.config.time_zone,
                now.date(),
            )
        reason = self._why_not_sent(week, now)
        return {
            "week_start": week.isoformat(),
            "eligible": reason is None,
            "reason": reason,
            "status": None if row is None else row.status.value,
            "payload": payload,
        }

    def _preview_policy(self, week: date) -> int:
        """Return the policy version whose fields a preview of a week shows."""
        version = week_policy_version(self._history, week)
        if version is not None:
            return version
        latest = self._history.latest
        return latest.policy_version if latest and latest.share else POLICY_VERSION

    def _why_not_sent(self, week: date, now: datetime) -> str | None:
        """Return why a week would not be submitted, or None if it would."""
        if week_bounds(week)[1] > now:
            return "week_not_over"
        if not week_is_eligible(self._history, week):
            return "not_covered_by_consent"
        if not self._has_endpoint:
            return "no_endpoint"
        return None

    async def async_regenerate_installation_id(self) -> date:
        """Retire the id and discard its unsent weeks; return the next id's first week.

        Sending those weeks would link the old id and the new one. The next id
        is drawn when its first week is built, with a send offset drawn now:
        both, and its first week (the next whole one), as for a fresh
        installation.
        """
        async with self._changing():
            now = dt_util.utcnow()
            old_id = await self._store.async_call(
                LocalStatisticsStore.current_installation_id
            )
            self._outbox = id_regenerated(self._outbox, old_id, now)
            await self._async_save(retire_id=True)
            self._send_offset = await self._store.async_call(
                LocalStatisticsStore.send_offset
            )
            self._publish()
            self._arm(now)
            return first_whole_week(now)

    async def async_submit_now(self) -> list[date]:
        """Send the pending weeks now, within consent and the hourly limit.

        Returns the weeks the server accepted during the call.
        """
        before = self._sent_weeks()
        async with self._changing():
            self._outbox = send_now_requested(self._outbox, dt_util.utcnow())
            await self._async_save()
        await self.async_send_due()
        return sorted(self._sent_weeks() - before)

    def _sent_weeks(self) -> set[date]:
        return {
            row.period_start
            for row in self._outbox.weekly
            if row.status is WeeklyStatus.SENT
        }

    def diagnostics(self) -> dict[str, Any]:
        """Describe consent, schedule and outbox by their states only.

        Diagnostics end up in public bug reports. No value or time the
        collection server also holds is shown (no period, send time, offset,
        consent time or payload value), nor a number of weeks or attempts
        that would date the first week or match the server's request log:
        nobody could find the rows, and so the id, on the server with them.
        """
        latest = max(
            self._outbox.weekly, key=lambda row: row.period_start, default=None
        )
        status = self.data
        return {
            "state": status.state,
            "submission_planned": status.next_submission is not None,
            "ever_accepted": status.last_submission is not None,
            "weeks_pending": status.pending_submissions > 0,
            "deletions_pending": status.pending_deletions > 0,
            "consent": {
                "sharing": self._history.sharing,
                "policy_version": None
                if self._history.latest is None
                else self._history.latest.policy_version,
            },
            "week_statuses": sorted({row.status.value for row in self._outbox.weekly}),
            "deletion_statuses": sorted(
                {row.status.value for row in self._outbox.deletions}
            ),
            "latest_week": None
            if latest is None
            else {
                "status": latest.status.value,
                "last_result": latest.last_result,
                "may_be_held": latest.may_be_held,
                "fields": payload_shape(latest.body),
            },
        }

    def deletion_requests(self) -> tuple[DeletionRow, ...]:
        """Return the deletion requests not acknowledged yet."""
        return waiting_deletions(self._outbox)

    def _record_stop_made_while_away(self, now: datetime) -> None:
        """Record an opt-out saved while the entry was not running.

        The options show only the latest choice: stopped and started again
        meanwhile, they read "share" as before, and the stop would be lost.
        The form's stop time, later than the latest decision, says it was made.
        """
        latest = self._history.latest
        stopped = self._settings.stopped_at
        if stopped is None or latest is None or not latest.share:
            return
        # A stop dated ahead (a clock that ran fast, a hand edit) counts now.
        stopped = min(stopped, now)
        if stopped > latest.at:
            self._history = self._history.opt_out(stopped)
            self._outbox = opted_out(self._outbox, stopped)

    def _record_decision(
        self, settings: SharingSettings, now: datetime, high_water: datetime | None
    ) -> None:
        """Add the options' decision to the history if it is a new one."""
        latest = self._history.latest
        if settings.share and settings.invalid_option is not None:
            return  # no consent is read from settings the forms did not store
        if settings.share and (
            latest is None
            or not latest.share
            or latest.policy_version != settings.policy_version
        ):
            # A clock that went back must not date consent before data it
            # would then cover.
            at = now if high_water is None else max(now, high_water)
            self._history = self._history.opt_in(at, settings.policy_version)
        elif not settings.share and latest is not None and latest.share:
            self._history = self._history.opt_out(now)
            self._outbox = opted_out(self._outbox, now)

    # ----- the timer and sending ----------------------------------------------------

    @callback
    def _arm(self, now: datetime) -> None:
        """Point the one timer at the next moment something is due."""
        self._cancel_timer()
        times = []
        wakeup = next_wakeup(
            self._outbox, self._history, now, has_endpoint=self._has_endpoint
        )
        if wakeup is not None:
            times.append(wakeup)
        if self._history.sharing and self._has_endpoint:
            times.append(week_bounds(week_start(now.date()))[1])  # the week closes
        if weeks_to_build(
            self._outbox, self._history, now, has_endpoint=self._has_endpoint
        ):
            times.append(now)  # closed weeks wait to be queued (after a restart)
        if self._deletion_owed or self._note_owed:
            times.append(now + OWED_DELETION_RETRY)  # the targets file, again
        if times:
            self._unsub_timer = async_track_point_in_utc_time(
                self.hass, self._on_timer, max(min(times), now + MIN_TIMER_DELAY)
            )

    @callback
    def _on_timer(self, _: datetime) -> None:
        self._unsub_timer = None
        self._send_task = self.config_entry.async_create_background_task(
            self.hass, self.async_send_due(), f"{DOMAIN} sharing"
        )

    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    async def async_send_due(self) -> None:
        """Queue closed weeks, then send whatever is due, one request at a time."""
        async with self._send_lock:
            if self._stopped:
                return
            now = dt_util.utcnow()
            self._outbox = reconcile(self._outbox, now)
            await self._async_queue_owed_deletions(now)
            await self._async_queue_closed_weeks(now)
            while (
                due := next_due(
                    self._outbox,
                    self._history,
                    dt_util.utcnow(),
                    has_endpoint=self._has_endpoint,
                )
            ) is not None:
                if isinstance(due, DeletionDue):
                    await self._async_send_deletion(due.row)
                else:
                    await self._async_send_week(due.row)
            self._publish()
            self._arm(dt_util.utcnow())

    async def _async_queue_owed_deletions(self, now: datetime) -> None:
        """Finish a deletion request the targets file was not there for.

        Once the file can be read, the pairs it held (as read from disk:
        none added since, such as a new id's) are asked for, once. Waiting
        requests are noted as requested once the file can be written.
        """
        if self._deletion_owed and await self._targets.async_ensure_loaded():
            self._outbox = deletions_queued(self._outbox, self._targets.on_disk, now)
            await self._async_save()
            await self._store.async_call(LocalStatisticsStore.owe_deletion, False)
            self._deletion_owed = False
            self._note_owed = True
        if self._note_owed:
            with suppress(TargetsUnavailableError):  # again at the next wake-up
                await self._targets.async_mark_requested(
                    (row.installation_id, row.endpoint)
                    for row in waiting_deletions(self._outbox)
                )
                self._note_owed = False

    async def _async_queue_closed_weeks(self, now: datetime) -> None:
        weeks = weeks_to_build(
            self._outbox, self._history, now, has_endpoint=self._has_endpoint
        )
        for week in weeks:
            version = week_policy_version(self._history, week)
            if version is None:  # pragma: no cover - weeks_to_build checked it
                continue
            if self._outbox.build_from is not None and week < self._outbox.build_from:
                # A regeneration or deletion request came while this loop
                # built: building on would make the next id now, dated today.
                # (Store calls run in order, so one queued before it still
                # found the old id.)
                continue
            installation_id, body = await self._store.async_call(
                LocalStatisticsStore.build_week_payload,
                week,
                version,
                self.hass.config.time_zone,
                now.date(),
            )
            self._outbox = week_closed(
                self._outbox,
                week,
                installation_id,
                body,
                week_bounds(week)[1] + self._send_offset,
            )
        if weeks:
            await self._async_save()

    async def _async_send_week(self, row: WeeklyRow) -> None:
        endpoint = self._settings.endpoint
        if endpoint is None:  # pragma: no cover - next_due checked it
            return
        self._outbox = weekly_started(
            self._outbox, row.period_start, endpoint.base_url, dt_util.utcnow()
        )
        await self._async_save()
        try:
            await self._targets.async_add([(row.installation_id, endpoint.base_url)])
        except TargetsUnavailableError:
            LOGGER.warning(_TARGETS_UNAVAILABLE)
            # Nothing left the machine: the week waits, on the back-off
            # schedule, for a target it can go with.
            self._outbox = weekly_finished(
                self._outbox,
                row.period_start,
                AttemptResult.UNREACHABLE,
                dt_util.utcnow(),
                rng=randomness.SOURCE,
            )
            await self._async_save()
            return
        # Consent is checked again right before the request: an opt-out made
        # while the row was being saved has cut it off, before anything left.
        if not self._may_send(row, endpoint):
            self._outbox = weekly_not_started(self._outbox, row.period_start)
            await self._async_save()
            return
        attempt = await self._async_request_week(row, endpoint)
        if attempt is None:
            await self._async_save()  # cut off: the row is possibly sent
            return
        # An opt-out between the answer and here already cut the row off.
        answered_in_flight = self._row_status(row) is WeeklyStatus.IN_FLIGHT
        now = dt_util.utcnow()
        self._outbox = weekly_finished(
            self._outbox,
            row.period_start,
            attempt.result,
            now,
            rng=randomness.SOURCE,
            retry_after=attempt.retry_after,
        )
        if attempt.result is AttemptResult.ACCEPTED:
            self._last_accepted = now.replace(minute=0, second=0, microsecond=0)
            for issue in (*_SUBMISSION_ISSUES, "submission_invalid"):
                self._clear_issue(issue)
        elif answered_in_flight and is_rejection(attempt.result):
            self._raise_rejection_issue(attempt)
        await self._async_save(
            LoggedAttempt(
                now,
                row.installation_id,
                endpoint.base_url,
                attempt.result,
                attempt.http_status,
                row.period_start,
            )
        )

    async def _async_request_week(
        self, row: WeeklyRow, endpoint: Endpoint
    ) -> Attempt | None:
        """Send a week; None if an opt-out or endpoint change cut the request off.

        The request runs as a task of its own, so that such a change can cancel
        it wherever it is: opening the connection, in the TLS handshake, or
        waiting for the answer. Shutting down cancels this whole send instead.
        """
        self._request = self.config_entry.async_create_background_task(
            self.hass,
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
        return (
            self._row_status(row) is WeeklyStatus.IN_FLIGHT
            and self._history.sharing
            and self._settings.endpoint == endpoint
            and week_is_eligible(self._history, row.period_start)
        )

    def _row_status(self, row: WeeklyRow) -> WeeklyStatus | None:
        current = self._row(row.period_start)
        return None if current is None else current.status

    def _row(self, week: date) -> WeeklyRow | None:
        return next(
            (row for row in self._outbox.weekly if row.period_start == week), None
        )

    async def _async_send_deletion(self, row: DeletionRow) -> None:
        self._outbox = deletion_started(self._outbox, row.installation_id, row.endpoint)
        await self._async_save()
        attempt = await async_request_deletion(
            self._session,
            deletion_endpoint(row, self._settings),
            row.installation_id,
        )
        now = dt_util.utcnow()
        self._outbox = deletion_finished(
            self._outbox, row.installation_id, row.endpoint, attempt.result, now
        )
        # Acknowledged: the id and what it sent there are forgotten, log included.
        self._outbox = forget_acknowledged(self._outbox)
        if attempt.result in _REFUSALS:
            self._raise_issue("deletion_refused", {})
        elif attempt.result is AttemptResult.REDIRECTED:
            self._raise_issue(
                "deletion_redirected", {"status": str(attempt.http_status)}
            )
        elif not waiting_deletions(self._outbox):
            for issue in _DELETION_ISSUES:
                self._clear_issue(issue)
        await self._async_save(
            LoggedAttempt(
                now,
                row.installation_id,
                row.endpoint,
                attempt.result,
                attempt.http_status,
            )
        )
        if attempt.result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
            # The server confirmed: it holds nothing of that id any more. (A
            # target left behind costs no more than a request answered 404.)
            try:
                await self._targets.async_remove((row.installation_id, row.endpoint))
            except TargetsUnavailableError:
                LOGGER.warning(_TARGETS_UNAVAILABLE)

    # ----- state for the entities ---------------------------------------------------

    @property
    def _has_endpoint(self) -> bool:
        return self._settings.endpoint is not None

    @property
    def _endpoint_url(self) -> str | None:
        endpoint = self._settings.endpoint
        return None if endpoint is None else endpoint.base_url

    def _status(self, now: datetime) -> SharingStatus:
        return SharingStatus(
            state=sharing_state(self._history, POLICY_VERSION, self._has_endpoint),
            last_submission=self._last_accepted,
            next_submission=next_submission_at(
                self._outbox,
                self._history,
                now,
                self._send_offset,
                has_endpoint=self._has_endpoint,
            ),
            # Weeks the server has not confirmed: unsent or possibly sent.
            pending_submissions=len(unsent_weeks(self._outbox))
            + len(possibly_sent_weeks(self._outbox)),
            pending_deletions=len(waiting_deletions(self._outbox)),
        )

    @callback
    def _publish(self) -> None:
        self.async_set_updated_data(self._status(dt_util.utcnow()))
        self._sync_reconsent_issue()
        self._sync_settings_issue()
        self._sync_possibly_sent_issue()
        self._forget_unneeded_keys()

    @callback
    def _forget_unneeded_keys(self) -> None:
        """Drop the key of a former server once it holds nothing of this entry.

        Only a week sent (or tried) there, or a deletion request for it, can
        still need the key; once the last is acknowledged, it goes.
        """
        former = self._settings.former_keys
        needed = (
            {row.endpoint for row in self._outbox.deletions}
            | {endpoint for row in self._outbox.weekly for endpoint in row.endpoints}
            # A server that may hold data needs its key for a later deletion.
            | {endpoint for _, endpoint in self._targets.pairs}
        )
        kept = {url: key for url, key in former.items() if url in needed}
        if kept == dict(former):
            return
        self._settings = replace(self._settings, former_keys=kept)
        entry = self.config_entry
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_FORMER_COLLECTION_KEYS: kept}
        )

    async def _async_save(
        self, attempt: LoggedAttempt | None = None, *, retire_id: bool = False
    ) -> None:
        await self._store.async_call(
            LocalStatisticsStore.save_sharing,
            self._history,
            self._outbox,
            attempt,
            retire_id,
        )

    # ----- repair issues --------------------------------------------------------------

    def _raise_rejection_issue(self, attempt: Attempt) -> None:
        if attempt.result is AttemptResult.INVALID_PAYLOAD:
            field = attempt.rejected_field or "?"
            self._raise_issue("submission_invalid", {"field": field})
        elif attempt.result is AttemptResult.REDIRECTED:
            self._raise_issue(
                "submission_redirected", {"status": str(attempt.http_status)}
            )
        else:
            self._raise_issue(
                "submission_rejected", {"status": str(attempt.http_status)}
            )

    def _sync_possibly_sent_issue(self) -> None:
        """Offer deletion for weeks cut off in flight, until it is requested.

        Nothing is deleted without the user's word: the fix flow asks.
        """
        requested = {
            (row.installation_id, row.endpoint)
            for row in waiting_deletions(self._outbox)
        }
        weeks = [
            row
            for row in possibly_sent_weeks(self._outbox)
            if (row.installation_id, row.endpoints[-1]) not in requested
        ]
        if weeks:
            self._raise_issue("possibly_sent", {"weeks": str(len(weeks))}, fixable=True)
        else:
            self._clear_issue("possibly_sent")

    def _sync_settings_issue(self) -> None:
        """Say which option is invalid while one is; nothing is sent meanwhile."""
        option = self._settings.invalid_option
        if option is None:
            self._clear_issue("invalid_settings")
        else:
            self._raise_issue("invalid_settings", {"option": option})

    def _sync_reconsent_issue(self) -> None:
        """Offer a newer policy while sharing under an older one, until decided.

        Sharing goes on with the consented fields meanwhile; accepting adds the
        new ones from the next whole week, keeping leaves things as they are.
        """
        entry = self.config_entry
        latest = self._history.latest
        declined = entry.options.get(CONF_DECLINED_POLICY, 0)
        if not _is_policy_version(declined):
            declined = 0
        if (
            latest is None
            or not latest.share
            or latest.policy_version >= POLICY_VERSION
            or declined >= POLICY_VERSION
        ):
            self._clear_issue("reconsent")
            return
        new_fields = fields_added_after(latest.policy_version)
        self._raise_issue(
            "reconsent",
            {
                "version": str(POLICY_VERSION),
                "fields": ", ".join(f"`{path}`" for path in new_fields) or "-",
            },
            fixable=True,
        )

    def _raise_issue(
        self, key: str, placeholders: dict[str, str], *, fixable: bool = False
    ) -> None:
        """Raise one of the entry's repair issues; a fix flow gets its placeholders."""
        entry = self.config_entry
        placeholders = {"title": entry.title, **placeholders}
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{key}_{entry.entry_id}",
            is_fixable=fixable,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders=placeholders,
            data={"entry_id": entry.entry_id, **placeholders} if fixable else None,
        )

    def _clear_issue(self, key: str) -> None:
        ir.async_delete_issue(self.hass, DOMAIN, f"{key}_{self.config_entry.entry_id}")


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
    acknowledged = sum(
        attempt.result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND)
        for attempt in attempts
    )
    if acknowledged == len(waiting):
        LOGGER.info("All %d waiting deletion requests were acknowledged", acknowledged)
    else:
        LOGGER.warning(
            "%d of %d waiting deletion requests could not be delivered before the "
            "entry was removed; the collection server keeps that data",
            len(waiting) - acknowledged,
            len(waiting),
        )
