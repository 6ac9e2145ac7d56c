"""Consent: which weeks may be sent, with which fields, and what the user sees."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from custom_components.printernizer_usage.consent import (
    ConsentHistory,
    SharingState,
    sharing_state,
    week_is_eligible,
    week_policy_version,
)

WEEK = date(2026, 11, 23)  # Monday 23 November to Monday 30 November


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    """Return a UTC moment in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_no_consent_no_week() -> None:
    """Without any decision nothing is eligible, and sharing is off."""
    history = ConsentHistory()
    assert not week_is_eligible(history, WEEK)
    assert week_policy_version(history, WEEK) is None
    assert not history.sharing
    assert sharing_state(history, 1, has_endpoint=True) is SharingState.OFF


@pytest.mark.parametrize(
    ("given", "eligible"),
    [
        (at(16, 12), True),  # the week before
        (at(23, 0), True),  # exactly at the start
        (at(23, 15), False),  # Monday 15:00: the next week is the first
        (at(29, 23, 59), False),
    ],
)
def test_consent_must_cover_the_whole_week(given: datetime, eligible: bool) -> None:
    """Consent given at or before the week's start makes the week eligible."""
    history = ConsentHistory().opt_in(given, 1)
    assert week_is_eligible(history, WEEK) is eligible
    assert week_is_eligible(history, date(2026, 11, 30))


@pytest.mark.parametrize(
    ("withdrawn", "eligible"),
    [
        (at(23, 0), False),  # withdrawn at the start
        (at(25, 9), False),  # in the middle
        (at(30, 0), True),  # exactly at the end: the week had closed
        (at(2, 9, month=12), True),  # later
    ],
)
def test_withdrawal_before_the_end_forbids_the_week(
    withdrawn: datetime, eligible: bool
) -> None:
    """Opting out before the week ends takes that week out."""
    history = ConsentHistory().opt_in(at(1), 1).opt_out(withdrawn)
    assert week_is_eligible(history, WEEK) is eligible


def test_opting_out_and_in_again_within_the_week() -> None:
    """A week with a gap in consent is not sent, even if consent is back."""
    history = ConsentHistory().opt_in(at(1), 1).opt_out(at(24)).opt_in(at(25), 1)
    assert not week_is_eligible(history, WEEK)
    assert week_is_eligible(history, date(2026, 11, 30))
    assert history.sharing


def test_fields_follow_the_version_at_the_week_start() -> None:
    """Accepting a newer policy adds its fields from the next whole week on."""
    history = ConsentHistory().opt_in(at(1), 1).opt_in(at(25, 10), 2)
    assert week_is_eligible(history, WEEK)
    assert week_policy_version(history, WEEK) == 1
    assert week_policy_version(history, date(2026, 11, 30)) == 2
    assert week_policy_version(history, date(2026, 10, 26)) is None


def test_later_decisions_win_over_time_stamps() -> None:
    """A clock that went back can neither revive nor backdate a decision."""
    history = ConsentHistory().opt_in(at(20), 1).opt_out(at(10))
    assert history.changes[-1].at == at(20)  # never dated before the opt-in
    assert not history.sharing
    assert history.latest is not None
    assert not history.latest.share
    assert history.in_force_at(at(21)) == history.latest
    assert not week_is_eligible(history, WEEK)


@pytest.mark.parametrize(
    ("history", "current", "endpoint", "state"),
    [
        (ConsentHistory(), 1, True, SharingState.OFF),
        (ConsentHistory().opt_in(at(1), 1).opt_out(at(2)), 1, True, SharingState.OFF),
        (ConsentHistory().opt_in(at(1), 1), 1, False, SharingState.NO_ENDPOINT),
        (ConsentHistory().opt_in(at(1), 1), 2, True, SharingState.RECONSENT_AVAILABLE),
        (ConsentHistory().opt_in(at(1), 1), 1, True, SharingState.ACTIVE),
        (
            ConsentHistory().opt_in(at(1), 1).opt_in(at(2), 2),
            2,
            True,
            SharingState.ACTIVE,
        ),
    ],
)
def test_sharing_state(
    history: ConsentHistory, current: int, endpoint: bool, state: SharingState
) -> None:
    """Off, no endpoint, a newer policy to accept, or active."""
    assert sharing_state(history, current, has_endpoint=endpoint) is state


def test_opt_out_keeps_the_version_it_ends() -> None:
    """An opt-out records the version it ends, for the local history."""
    history = ConsentHistory().opt_in(at(1), 3).opt_out(at(2))
    assert history.changes[-1].policy_version == 3
    assert ConsentHistory().opt_out(at(2)).changes[-1].policy_version == 0
