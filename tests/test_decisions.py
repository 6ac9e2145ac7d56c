"""What the stored options mean for consent, and why a week would not be sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from custom_components.printernizer_usage import decisions
from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.decisions import (
    decision_recorded,
    preview_policy,
    stop_made_while_away,
    why_not_sent,
)
from custom_components.printernizer_usage.outbox import (
    Outbox,
    WeeklyRow,
    WeeklyStatus,
)
from custom_components.printernizer_usage.sharing_settings import SharingSettings
from custom_components.printernizer_usage.submitter import Endpoint

NOW = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)  # a Wednesday
WEEK = date(2026, 11, 16)
SHARE = SharingSettings(True, 1, Endpoint("https://stats.example.org", None))
DONT_SHARE = replace(SHARE, share=False)
SHARING_SINCE = ConsentHistory().opt_in(datetime(2026, 11, 2, tzinfo=UTC), 1)
# A week queued but not sent: an opt-out must discard it.
QUEUED = Outbox(
    weekly=(WeeklyRow(WEEK, "0b6c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d", b"{}", NOW),)
)


def test_an_opt_in_is_recorded_once() -> None:
    """The first share is a decision; the same share read again is none."""
    history, outbox = decision_recorded(ConsentHistory(), QUEUED, SHARE, NOW, None)
    assert history.latest is not None
    assert (history.latest.at, history.latest.share) == (NOW, True)
    assert outbox == QUEUED
    assert decision_recorded(history, outbox, SHARE, NOW, None) == (history, outbox)


def test_a_clock_that_went_back_never_dates_consent_earlier() -> None:
    """Consent is dated no earlier than the latest poll already recorded."""
    later = NOW + timedelta(days=2)
    history, _ = decision_recorded(ConsentHistory(), Outbox(), SHARE, NOW, later)
    assert history.latest is not None
    assert history.latest.at == later


def test_a_newer_policy_in_the_options_is_a_new_decision() -> None:
    """Sharing under another policy version adds a decision for it."""
    settings = replace(SHARE, policy_version=2)
    history, _ = decision_recorded(SHARING_SINCE, Outbox(), settings, NOW, None)
    assert history.latest is not None
    assert history.latest.policy_version == 2


def test_an_opt_out_discards_what_waits() -> None:
    """Turning sharing off is recorded and stops every unsent week."""
    history, outbox = decision_recorded(SHARING_SINCE, QUEUED, DONT_SHARE, NOW, None)
    assert not history.sharing
    assert outbox.weekly[0].status is WeeklyStatus.DISCARDED
    assert decision_recorded(ConsentHistory(), QUEUED, DONT_SHARE, NOW, None) == (
        ConsentHistory(),
        QUEUED,
    )


def test_no_consent_from_options_the_forms_did_not_store() -> None:
    """A hand-edited option records no opt-in, however the box reads."""
    invalid = replace(SHARE, invalid_option="collection_url")
    assert decision_recorded(ConsentHistory(), QUEUED, invalid, NOW, None) == (
        ConsentHistory(),
        QUEUED,
    )


def test_options_the_forms_did_not_store_stop_sharing() -> None:
    """Consent given before a hand edit ends with it; what waits is discarded."""
    invalid = replace(SHARE, invalid_option="collection_url")
    history, outbox = decision_recorded(SHARING_SINCE, QUEUED, invalid, NOW, None)
    assert not history.sharing
    assert history.latest is not None
    assert history.latest.at == NOW
    assert outbox.weekly[0].status is WeeklyStatus.DISCARDED
    assert decision_recorded(history, outbox, invalid, NOW, None) == (history, outbox)


@pytest.mark.parametrize(
    ("stopped_at", "recorded_at"),
    [
        (datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 20, 8, tzinfo=UTC)),
        (NOW + timedelta(days=3), NOW),  # dated ahead: it counts now
    ],
)
def test_a_stop_made_while_away_is_recorded(
    stopped_at: datetime, recorded_at: datetime
) -> None:
    """A stop the form saved after the latest decision is an opt-out."""
    settings = replace(SHARE, stopped_at=stopped_at)
    history, outbox = stop_made_while_away(SHARING_SINCE, QUEUED, settings, NOW)
    assert history.latest is not None
    assert (history.latest.at, history.latest.share) == (recorded_at, False)
    assert outbox.weekly[0].status is WeeklyStatus.DISCARDED


@pytest.mark.parametrize(
    ("history", "stopped_at"),
    [
        (SHARING_SINCE, None),
        (ConsentHistory(), datetime(2026, 11, 20, tzinfo=UTC)),
        (SHARING_SINCE.opt_out(datetime(2026, 11, 3, tzinfo=UTC)), NOW),
        (SHARING_SINCE, datetime(2026, 11, 1, tzinfo=UTC)),  # before the opt-in
    ],
)
def test_no_stop_to_record(
    history: ConsentHistory, stopped_at: datetime | None
) -> None:
    """No stop time, no sharing to stop, or a stop older than the decision."""
    settings = replace(SHARE, stopped_at=stopped_at)
    assert stop_made_while_away(history, QUEUED, settings, NOW) == (history, QUEUED)


@pytest.mark.parametrize(
    ("history", "version"),
    [
        (SHARING_SINCE, 1),  # the week's own consent
        (ConsentHistory().opt_in(NOW, 1), 1),  # sharing, from a later week
        (ConsentHistory(), 3),  # never shared: the current policy
    ],
)
def test_a_preview_shows_the_fields_of_its_policy(
    monkeypatch: pytest.MonkeyPatch, history: ConsentHistory, version: int
) -> None:
    """A covered week shows its consent's fields; otherwise the latest's."""
    monkeypatch.setattr(decisions, "POLICY_VERSION", 3)  # unlike any consent here
    assert preview_policy(history, WEEK) == version


@pytest.mark.parametrize(
    ("history", "week", "has_endpoint", "reason"),
    [
        (SHARING_SINCE, WEEK, True, None),
        (SHARING_SINCE, date(2026, 11, 23), True, "week_not_over"),
        (ConsentHistory(), WEEK, True, "not_covered_by_consent"),
        (SHARING_SINCE, WEEK, False, "no_endpoint"),
    ],
)
def test_why_a_week_would_not_be_sent(
    history: ConsentHistory, week: date, *, has_endpoint: bool, reason: str | None
) -> None:
    """Not over yet, not covered by consent, or nowhere to send it."""
    assert why_not_sent(history, week, NOW, has_endpoint=has_endpoint) == reason
