"""The one timer of sharing: the next moment something is due, and waking then."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time

from .consent import ConsentHistory
from .outbox import Outbox, next_wakeup, weeks_to_build
from .payload import week_bounds, week_start

# A wake-up never comes sooner than this after the last one, so a schedule
# that (wrongly) pointed into the past could not spin the event loop.
MIN_TIMER_DELAY: Final = timedelta(seconds=1)
# How soon the deletion targets file is tried again when it was not there.
OWED_DELETION_RETRY: Final = timedelta(hours=1)


def next_timer_at(
    outbox: Outbox,
    history: ConsentHistory,
    now: datetime,
    *,
    has_endpoint: bool,
    targets_owed: bool,
) -> datetime | None:
    """Return when the timer next fires, or None if nothing will come due."""
    times = []
    wakeup = next_wakeup(outbox, history, now, has_endpoint=has_endpoint)
    if wakeup is not None:
        times.append(wakeup)
    if history.sharing and has_endpoint:
        times.append(week_bounds(week_start(now.date()))[1])  # the week closes
    if weeks_to_build(outbox, history, now, has_endpoint=has_endpoint):
        times.append(now)  # closed weeks wait to be queued (after a restart)
    if targets_owed:
        times.append(now + OWED_DELETION_RETRY)  # the targets file, again
    return max(min(times), now + MIN_TIMER_DELAY) if times else None


class SendTimer:
    """One timer, set again after every change; firing calls the wake-up."""

    def __init__(self, hass: HomeAssistant, wake_up: Callable[[], None]) -> None:
        """Keep the wake-up; nothing is armed yet."""
        self._hass = hass
        self._wake_up = wake_up
        self._unsub: CALLBACK_TYPE | None = None

    @callback
    def arm(self, at: datetime | None) -> None:
        """Fire at `at` only (None: not at all), replacing any earlier time."""
        self.cancel()
        if at is not None:
            self._unsub = async_track_point_in_utc_time(self._hass, self._fire, at)

    @callback
    def cancel(self) -> None:
        """Fire at no time."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    @callback
    def _fire(self, _: datetime) -> None:
        self._unsub = None
        self._wake_up()
