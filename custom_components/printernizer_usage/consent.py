"""Consent as data: when the user agreed to share, under which policy, and when not.

A week may be submitted only if consent was given at or before the week's start
and not withdrawn before its end. The fields a week may carry are those of the
policy version consented to at its start, so newly accepted fields begin with
the next whole week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from .payload import week_bounds


class SharingState(StrEnum):
    """What the user sees about sharing."""

    OFF = "off"
    ACTIVE = "active"
    RECONSENT_AVAILABLE = "reconsent_available"
    NO_ENDPOINT = "no_endpoint"


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One decision: to share (under a policy version) or to stop sharing."""

    at: datetime
    share: bool
    policy_version: int


@dataclass(frozen=True, slots=True)
class ConsentHistory:
    """Every decision, in the order it was made.

    Order, not time stamps, says which decision is the latest, and a decision
    is never dated before the one it follows, so a clock that jumps back can
    neither revive an older consent nor backdate a new one.
    """

    changes: tuple[ConsentChange, ...] = ()

    def opt_in(self, at: datetime, policy_version: int) -> ConsentHistory:
        """Record consent to share under a policy version (also re-consent)."""
        return self._record(at, share=True, policy_version=policy_version)

    def opt_out(self, at: datetime) -> ConsentHistory:
        """Record that the user stopped sharing."""
        version = self.changes[-1].policy_version if self.changes else 0
        return self._record(at, share=False, policy_version=version)

    def _record(
        self, at: datetime, *, share: bool, policy_version: int
    ) -> ConsentHistory:
        # A clock that went back must not date a decision before an earlier one.
        if self.changes:
            at = max(at, self.changes[-1].at)
        return ConsentHistory((*self.changes, ConsentChange(at, share, policy_version)))

    @property
    def latest(self) -> ConsentChange | None:
        """Return the decision in force now."""
        return self.changes[-1] if self.changes else None

    @property
    def sharing(self) -> bool:
        """Tell whether the user shares right now."""
        return self.latest is not None and self.latest.share

    def in_force_at(self, moment: datetime) -> ConsentChange | None:
        """Return the latest decision made at or before a moment."""
        made = [change for change in self.changes if change.at <= moment]
        return made[-1] if made else None


def week_is_eligible(history: ConsentHistory, week_start: date) -> bool:
    """Tell whether a UTC week may be submitted at all.

    Consent must be in force at the week's start (given at or before it) and
    must not be withdrawn before its end: consent given on a Monday at 15:00
    makes the next week the first one sent.
    """
    start, end = week_bounds(week_start)
    at_start = history.in_force_at(start)
    if at_start is None or not at_start.share:
        return False
    return not any(
        not change.share and start < change.at < end for change in history.changes
    )


def week_policy_version(history: ConsentHistory, week_start: date) -> int | None:
    """Return the policy version whose fields a week may carry, if it may be sent."""
    at_start = history.in_force_at(week_bounds(week_start)[0])
    if at_start is None or not week_is_eligible(history, week_start):
        return None
    return at_start.policy_version


def sharing_state(
    history: ConsentHistory, current_policy: int, has_endpoint: bool
) -> SharingState:
    """Return the sharing state shown to the user."""
    latest = history.latest
    if latest is None or not latest.share:
        return SharingState.OFF
    if not has_endpoint:
        return SharingState.NO_ENDPOINT
    if latest.policy_version < current_policy:
        return SharingState.RECONSENT_AVAILABLE
    return SharingState.ACTIVE
