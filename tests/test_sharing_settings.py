"""Sharing options read back from a file anyone can edit, checked as the forms check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    POLICY_VERSION,
)
from custom_components.printernizer_usage.outbox import DeletionRow
from custom_components.printernizer_usage.sharing_settings import (
    SharingSettings,
    deletion_endpoint,
    is_policy_version,
    without_invalid_options,
)
from custom_components.printernizer_usage.submitter import Endpoint

URL = "https://stats.example.org"
FORMER = "https://old-stats.example.org"
NOW = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
SHARING: dict[str, Any] = {
    CONF_SHARE_STATISTICS: True,
    CONF_CONSENTED_POLICY: 1,
    CONF_COLLECTION_URL: URL,
    CONF_COLLECTION_API_KEY: "current-key",
    CONF_FORMER_COLLECTION_KEYS: {FORMER: "old-key"},
    CONF_STOPPED_AT: "2026-11-20T08:00:00+00:00",
}


def test_options_the_forms_stored_are_read_as_they_are() -> None:
    """Share, policy, endpoint with its key, former keys and the stop time."""
    settings = SharingSettings.from_options(SHARING)
    assert settings == SharingSettings(
        share=True,
        policy_version=1,
        endpoint=Endpoint(URL, "current-key"),
        former_keys={FORMER: "old-key"},
        stopped_at=datetime(2026, 11, 20, 8, tzinfo=UTC),
    )


def test_no_options_share_nothing() -> None:
    """A fresh entry does not share and has nowhere to send."""
    assert SharingSettings.from_options({}) == SharingSettings(
        share=False, policy_version=POLICY_VERSION, endpoint=None
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (CONF_SHARE_STATISTICS, "yes"),
        (CONF_CONSENTED_POLICY, None),
        (CONF_CONSENTED_POLICY, True),
        (CONF_CONSENTED_POLICY, 0),
        (CONF_CONSENTED_POLICY, POLICY_VERSION + 1),
        (CONF_DECLINED_POLICY, "1"),
        (CONF_COLLECTION_URL, "http://stats.example.org"),
        (CONF_COLLECTION_API_KEY, "two words"),
        (CONF_FORMER_COLLECTION_KEYS, [FORMER]),
        (CONF_FORMER_COLLECTION_KEYS, {"http://old.example.org": "old-key"}),
        (CONF_FORMER_COLLECTION_KEYS, {FORMER: "line\nbreak"}),
        (CONF_STOPPED_AT, "yesterday"),
        (CONF_STOPPED_AT, "2026-11-20T09:00:00+01:00"),
        (CONF_STOPPED_AT, 1764000000),
    ],
)
def test_a_hand_edited_option_stops_sending(option: str, value: object) -> None:
    """An option the forms would not store leaves no endpoint, and is named."""
    settings = SharingSettings.from_options({**SHARING, option: value})
    assert settings.invalid_option == option
    assert settings.endpoint is None
    assert settings.policy_version == POLICY_VERSION


@pytest.mark.parametrize(
    ("value", "known"),
    [(1, True), (POLICY_VERSION, True), (0, False), (True, False), ("1", False)],
)
def test_policy_versions(value: object, *, known: bool) -> None:
    """Only a whole number this release knows names a policy version."""
    assert is_policy_version(value) is known


@pytest.mark.parametrize(
    ("server", "endpoint"),
    [
        (URL, Endpoint(URL, "current-key")),
        (FORMER, Endpoint(FORMER, "old-key")),
        ("https://other.example.org", Endpoint("https://other.example.org", None)),
    ],
)
def test_a_deletion_request_carries_only_its_own_servers_key(
    server: str, endpoint: Endpoint
) -> None:
    """The current server gets its key, a former one its own, any other none."""
    row = DeletionRow("0b6c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d", server, due_at=NOW)
    assert deletion_endpoint(row, SharingSettings.from_options(SHARING)) == endpoint


def test_without_invalid_options_keeps_only_what_the_forms_would_store() -> None:
    """Each invalid option goes, the choice always; valid former keys stay."""
    good = "https://stats.example.org"
    options = {
        "printernizer_only": "kept",
        CONF_SHARE_STATISTICS: "yes",
        CONF_CONSENTED_POLICY: 1,
        CONF_DECLINED_POLICY: "two",
        CONF_COLLECTION_URL: "https://user:secret@stats.example.org",
        CONF_COLLECTION_API_KEY: "line\nbreak",
        CONF_FORMER_COLLECTION_KEYS: {good: "old-key", "ftp://x": "k", good + "/a": 1},
        CONF_STOPPED_AT: "last tuesday",
    }
    kept = without_invalid_options(options)
    assert kept == {
        "printernizer_only": "kept",
        CONF_FORMER_COLLECTION_KEYS: {good: "old-key"},
    }
    assert SharingSettings.from_options(kept).invalid_option is None


def test_without_invalid_options_leaves_valid_settings_but_the_choice() -> None:
    """Valid settings lose only the choice, which the repair asks again."""
    options = {
        CONF_SHARE_STATISTICS: True,
        CONF_CONSENTED_POLICY: 1,
        CONF_DECLINED_POLICY: 1,
        CONF_COLLECTION_URL: "https://stats.example.org",
        CONF_COLLECTION_API_KEY: "key",
        CONF_FORMER_COLLECTION_KEYS: {},
        CONF_STOPPED_AT: "2026-11-30T10:00:00+00:00",
    }
    kept = without_invalid_options(options)
    assert kept == {
        key: value
        for key, value in options.items()
        if key not in (CONF_SHARE_STATISTICS, CONF_CONSENTED_POLICY)
    }


def test_former_keys_that_are_no_mapping_go_whole() -> None:
    """A list where the former keys belong holds nothing to keep."""
    kept = without_invalid_options({CONF_FORMER_COLLECTION_KEYS: ["a", "b"]})
    assert kept == {}
