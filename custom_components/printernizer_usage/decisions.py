"""What the stored options mean for consent, and why a week would not be sent."""

from __future__ import annotations

from datetime import date, datetime

from .consent import ConsentHistory, week_is_eligible, week_policy_version
from .const import POLICY_VERSION
from .outbox import Outbox, opted_out
from .payload import week_bounds
from .sharing_settings import SharingSettings


def stop_made_while_away(
    history: ConsentHistory, outbox: Outbox, settings: SharingSettings, now: datetime
) -> tuple[ConsentHistory, Outbox]:
    """Record an opt-out saved while the entry was not running.

    The options show only the latest choice: stopped and started again
    meanwhile, they read "share" as before, and the stop would be lost.
    The form's stop time, later than the latest decision, says it was made.
    """
    latest = history.latest
    stopped = settings.stopped_at
    if stopped is None or latest is None or not latest.share:
        return history, outbox
    # A stop dated ahead (a clock that ran fast, a hand edit) counts now.
    stopped = min(stopped, now)
    if stopped > latest.at:
        return history.opt_out(stopped), opted_out(outbox, stopped)
    return history, outbox


def decision_recorded(
    history: ConsentHistory,
    outbox: Outbox,
    settings: SharingSettings,
    now: datetime,
    high_water: datetime | None,
) -> tuple[ConsentHistory, Outbox]:
    """Add the options' decision to the history if it is a new one."""
    latest = history.latest
    if settings.invalid_option is not None:
        # Settings the forms would not store are no consent: sharing that was
        # on stops (its unsent weeks go), and only a new choice starts it.
        if latest is not None and latest.share:
            return history.opt_out(now), opted_out(outbox, now)
        return history, outbox
    if settings.share and (
        latest is None
        or not latest.share
        or latest.policy_version != settings.policy_version
    ):
        # A clock that went back must not date consent before data it
        # would then cover.
        at = now if high_water is None else max(now, high_water)
        return history.opt_in(at, settings.policy_version), outbox
    if not settings.share and latest is not None and latest.share:
        return history.opt_out(now), opted_out(outbox, now)
    return history, outbox


def preview_policy(history: ConsentHistory, week: date) -> int:
    """Return the policy version whose fields a preview of a week shows."""
    version = week_policy_version(history, week)
    if version is not None:
        return version
    latest = history.latest
    return latest.policy_version if latest and latest.share else POLICY_VERSION


def why_not_sent(
    history: ConsentHistory, week: date, now: datetime, *, has_endpoint: bool
) -> str | None:
    """Return why a week would not be submitted, or None if it would."""
    if week_bounds(week)[1] > now:
        return "week_not_over"
    if not week_is_eligible(history, week):
        return "not_covered_by_consent"
    if not has_endpoint:
        return "no_endpoint"
    return None
