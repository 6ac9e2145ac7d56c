"""The payload: every field, every mapping, the size bound, and the server's rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
import json
from pathlib import Path
import re
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from custom_components.printernizer_usage.payload import (
    MAX_PRINTERS,
    MAX_WEEKLY_COUNT,
    NOT_YET_KNOWN,
    PAYLOAD_FIELDS,
    TINY_TERRITORIES,
    InstallationIdentity,
    PayloadField,
    PayloadSource,
    PrinternizerFacts,
    WeekCounts,
    build_payload,
    country_code,
    day_stamp,
    fields_added_after,
    payload_shape,
    preview_payload,
    serialise,
    week_bounds,
    week_start,
)

from .hypothesis_profiles import examples
from .simulator.collection import validate_submission
from .submission_schema import schema_errors

# The content of the policy's sample payload, in our weeks.
SAMPLE = PayloadSource(
    week_start=date(2024, 11, 11),
    counts=WeekCounts(
        jobs=23,
        files=18,
        uploads=5,
        uptime_hours=168,
        errors={"connection_timeout": 2, "printer_error": 1},
        feature_flags={
            "library_enabled": True,
            "timelapse_enabled": False,
            "auto_job_creation_enabled": True,
            "german_compliance_enabled": False,
            "watch_folders_enabled": True,
        },
    ),
    identity=InstallationIdentity(
        "550e8400-e29b-41d4-a716-446655440000", date(2024, 11, 1)
    ),
    printernizer=PrinternizerFacts(
        app_version="2.7.0",
        python_version="3.11.0",
        platform="linux",
        deployment_mode="homeassistant",
        fleet={"bambu_lab": 2, "prusa": 1},
    ),
    time_zone="Europe/Berlin",
    submitted_on=date(2024, 11, 20),
)
# The policy's sample, as compact JSON, is this long; ours may not be longer.
POLICY_SAMPLE_BYTES = 824


def with_counts(**changes: Any) -> PayloadSource:
    """Return the sample with some week counts changed (to anything)."""
    return replace(SAMPLE, counts=replace(SAMPLE.counts, **changes))


def with_printernizer(**changes: Any) -> PayloadSource:
    """Return the sample with some Printernizer facts changed (to anything)."""
    return replace(SAMPLE, printernizer=replace(SAMPLE.printernizer, **changes))


def test_sample_payload(snapshot: SnapshotAssertion) -> None:
    """The whole payload for the sample's content, key by key."""
    payload = build_payload(SAMPLE, consented_policy=1)
    assert payload == snapshot.use_extension(JSONSnapshotExtension)
    assert list(payload) == [
        "schema_version",
        "submission_timestamp",
        "installation",
        "period",
        "printer_fleet",
        "usage_stats",
        "error_summary",
    ]
    assert validate_submission(json.loads(serialise(payload))) == []


def test_no_larger_than_the_policy_sample() -> None:
    """Compact JSON of the same content is at most the sample's 824 bytes."""
    body = serialise(build_payload(SAMPLE, consented_policy=1))
    assert len(body) <= POLICY_SAMPLE_BYTES
    assert b" " not in body


def test_values_are_plain_json_types() -> None:
    """Vocabulary values are plain strings, not enum members."""
    payload = build_payload(SAMPLE, consented_policy=1)

    def types(node: object) -> set[type]:
        if isinstance(node, dict):
            return {type(key) for key in node} | {
                kind for value in node.values() for kind in types(value)
            }
        if isinstance(node, list):
            return {kind for item in node for kind in types(item)}
        return {type(node)}

    assert types(payload) <= {str, int, bool}


def test_time_stamps_are_utc_day_boundaries() -> None:
    """Every time stamp falls on 00:00:00Z; the period is Monday to Monday."""
    payload = build_payload(SAMPLE, consented_policy=1)
    assert payload["submission_timestamp"] == "2024-11-20T00:00:00Z"
    assert payload["installation"]["first_seen"] == "2024-11-01T00:00:00Z"
    assert payload["period"] == {
        "start": "2024-11-11T00:00:00Z",
        "end": "2024-11-18T00:00:00Z",
        "duration_days": 7,
    }


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/Berlin", "DE"),
        ("Europe/Vienna", "AT"),
        ("America/New_York", "US"),
        ("Europe/Kyiv", "UA"),
        ("Europe/Kiev", "UA"),  # old names lead to their zone
        ("Asia/Calcutta", "IN"),
        ("US/Eastern", "US"),
        ("GB", "GB"),
        ("UTC", "XX"),
        ("Etc/UTC", "XX"),
        ("Etc/GMT+1", "XX"),
        ("Mars/Olympus_Mons", "XX"),
        ("", "XX"),
        # Territories too small to hide one installation in.
        ("Pacific/Pitcairn", "XX"),
        ("Pacific/Fakaofo", "XX"),  # Tokelau
        ("Pacific/Niue", "XX"),
        ("Europe/Vatican", "XX"),
        ("Atlantic/Faroe", "XX"),
        ("Europe/Luxembourg", "LU"),  # about 660,000 people
    ],
)
def test_country_from_time_zone(zone: str, country: str) -> None:
    """One country per zone from zone.tab; zones of no country give XX, never null.

    So do the territories of fewer than about 150,000 people.
    """
    assert country_code(zone) == country
    payload = build_payload(replace(SAMPLE, time_zone=zone), consented_policy=1)
    assert payload["installation"]["country_code"] == country


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"app_version": None}, {"app_version": "unknown"}),
        ({"app_version": "built on alice-pc"}, {"app_version": "unknown"}),
        ({"python_version": "3.12.1.4"}, {"python_version": None}),
        ({"python_version": None}, {"python_version": None}),
        ({"platform": "Linux-6.1-x86_64"}, {"platform": "linux"}),
        ({"platform": "solaris"}, {"platform": "other"}),
        ({"platform": None}, {"platform": "other"}),
        ({"deployment_mode": "kubernetes"}, {"deployment_mode": "unknown"}),
        ({"deployment_mode": "docker"}, {"deployment_mode": "docker"}),
    ],
)
def test_installation_values_are_mapped(
    facts: dict[str, object], expected: dict[str, object]
) -> None:
    """Versions, platforms and modes outside the vocabulary are never passed on."""
    installation = build_payload(with_printernizer(**facts), 1)["installation"]
    assert {key: installation[key] for key in expected} == expected


def test_installation_id_is_canonical_and_random() -> None:
    """The id is written lower-case; anything but a UUIDv4 is refused."""
    upper = replace(
        SAMPLE,
        identity=InstallationIdentity(
            "550E8400-E29B-41D4-A716-446655440000", date(2024, 11, 1)
        ),
    )
    assert (
        build_payload(upper, 1)["installation"]["installation_id"]
        == "550e8400-e29b-41d4-a716-446655440000"
    )
    time_based = replace(
        SAMPLE,
        identity=InstallationIdentity(
            "a8098c1a-f86e-11da-bd1a-00112444be1e", date(2024, 11, 1)
        ),
    )
    with pytest.raises(ValueError, match="UUIDv4"):
        build_payload(time_based, 1)


def test_fleet_only_in_vocabulary() -> None:
    """Unknown types, zero, negative, float and boolean counts are left out."""
    source = with_printernizer(
        fleet={
            "prusa": 2,
            "bambu_lab": 1,
            "klipper": 4,
            "octoprint": 0,
            "other": -1,
        }
    )
    fleet = build_payload(source, 1)["printer_fleet"]
    assert fleet == {
        "printer_count": 3,
        "printer_types": ["bambu_lab", "prusa"],
        "printer_type_counts": {"bambu_lab": 1, "prusa": 2},
    }
    odd = with_printernizer(fleet={"prusa": 1.5, "bambu_lab": True, "octoprint": 1})
    assert build_payload(odd, 1)["printer_fleet"]["printer_type_counts"] == {
        "octoprint": 1
    }


def test_counts_are_clamped_to_the_closed_bounds() -> None:
    """Counts above the bounds are sent as the bounds; the week still goes."""
    huge = 10**12
    source = with_counts(
        jobs=huge, files=huge, uploads=huge, errors={"connection_timeout": huge}
    )
    payload = build_payload(source, 1)
    usage = payload["usage_stats"]
    assert (usage["job_count"], usage["file_count"], usage["upload_count"]) == (
        (MAX_WEEKLY_COUNT,) * 3
    )
    assert payload["error_summary"] == {"connection_timeout": MAX_WEEKLY_COUNT}
    fleet = build_payload(
        with_printernizer(fleet={"bambu_lab": 6000, "prusa": 6000, "octoprint": 1}), 1
    )["printer_fleet"]
    assert fleet["printer_count"] == MAX_PRINTERS
    assert fleet["printer_count"] == sum(fleet["printer_type_counts"].values())
    # Filled in the vocabulary's order until the bound is reached.
    assert fleet["printer_type_counts"] == {
        "bambu_lab": 6000,
        "octoprint": 1,
        "prusa": 3999,
    }


def test_a_payload_shape_holds_types_and_sizes_only() -> None:
    """The shape names each field's type; fields whose keys are values, only that."""
    fields = payload_shape(serialise(build_payload(SAMPLE, 1)))
    assert fields["installation"]["app_version"] == "str"
    assert fields["usage_stats"]["job_count"] == "int"
    assert fields["error_summary"] == "dict"
    assert fields["printer_fleet"]["printer_types"] == "list"
    assert fields["usage_stats"]["feature_usage"] == "dict"
    assert "connection_timeout" not in json.dumps(fields)


def test_privacy_md_lists_the_tiny_territories() -> None:
    """PRIVACY.md shows exactly the territories sent as XX."""
    text = (Path(__file__).parent.parent / "PRIVACY.md").read_text()
    [listed] = re.findall(
        r"<!-- tiny-territories -->(.*?)<!-- /tiny-territories -->", text, re.S
    )
    assert set(re.findall(r"\b[A-Z]{2}\b", listed)) == TINY_TERRITORIES


def test_usage_counts_are_integers() -> None:
    """A count that is no non-negative integer counts as 0; hours cap at 168."""
    usage = build_payload(
        with_counts(jobs=23.5, files=-3, uploads=True, uptime_hours=200), 1
    )["usage_stats"]
    assert (usage["job_count"], usage["file_count"], usage["upload_count"]) == (0, 0, 0)
    assert usage["uptime_hours"] == 168


def test_flags_and_errors_only_in_vocabulary() -> None:
    """Unobservable or unknown flags and unknown or zero errors are left out."""
    source = with_counts(
        feature_flags={
            "library_enabled": True,
            "german_compliance_enabled": True,
            "beta_enabled": True,
            "timelapse_enabled": "yes",
        },
        errors={
            "connection_timeout": 0,
            "server_error": 3,
            "Traceback at /home/alice": 1,
            "printer_error": 2.0,
        },
    )
    payload = build_payload(source, 1)
    assert payload["usage_stats"]["feature_usage"] == {"library_enabled": True}
    assert payload["error_summary"] == {"server_error": 3}


def test_fields_follow_the_consented_policy_version() -> None:
    """A field introduced by a later policy appears only with consent to it."""
    hypothetical = PayloadField(("usage_stats", "slicer_count"), 2, lambda _: 4)
    fields = (*PAYLOAD_FIELDS, hypothetical)
    assert "slicer_count" not in build_payload(SAMPLE, 1, fields)["usage_stats"]
    assert build_payload(SAMPLE, 2, fields)["usage_stats"]["slicer_count"] == 4
    assert build_payload(SAMPLE, 0, fields) == {}
    assert fields_added_after(1, fields) == ["usage_stats.slicer_count"]
    assert fields_added_after(2, fields) == []
    assert fields_added_after(1) == []  # policy 1 is the current one


def test_periods_are_whole_utc_weeks() -> None:
    """A period that does not start on a Monday would reveal more: it is refused."""
    with pytest.raises(ValueError, match="Monday"):
        build_payload(replace(SAMPLE, week_start=date(2024, 11, 13)), 1)


def test_week_arithmetic() -> None:
    """Weeks are ISO weeks in UTC, Monday 00:00 to the next Monday."""
    assert week_start(date(2026, 11, 29)) == date(2026, 11, 23)  # a Sunday
    assert week_start(date(2026, 11, 30)) == date(2026, 11, 30)  # a Monday
    begin, end = week_bounds(date(2026, 11, 23))
    assert (begin.isoformat(), end.isoformat()) == (
        "2026-11-23T00:00:00+00:00",
        "2026-11-30T00:00:00+00:00",
    )
    assert day_stamp(date(2026, 1, 5)) == "2026-01-05T00:00:00Z"
    assert day_stamp(datetime(2026, 1, 5, 9, 30, tzinfo=UTC)) == "2026-01-05T00:00:00Z"


def test_preview_before_opting_in() -> None:
    """The preview shows today's facts and marks what does not exist yet."""
    preview = preview_payload(
        identity=None,
        printernizer=SAMPLE.printernizer,
        flags_now={"library_enabled": True},
        time_zone="Europe/Berlin",
        today=date(2026, 11, 25),
    )
    assert preview["installation"]["installation_id"] == NOT_YET_KNOWN
    assert preview["installation"]["first_seen"] == NOT_YET_KNOWN
    assert preview["installation"]["country_code"] == "DE"
    assert preview["submission_timestamp"] == NOT_YET_KNOWN
    assert preview["period"]["start"] == "2026-11-30T00:00:00Z"  # the next week
    assert preview["printer_fleet"]["printer_count"] == 3
    assert preview["usage_stats"] == {
        "job_count": NOT_YET_KNOWN,
        "file_count": NOT_YET_KNOWN,
        "upload_count": NOT_YET_KNOWN,
        "uptime_hours": NOT_YET_KNOWN,
        "feature_usage": {"library_enabled": True},
    }
    assert preview["error_summary"] == NOT_YET_KNOWN


def test_preview_with_an_identity() -> None:
    """Once an id exists, the preview shows it, with the same structure as sent."""
    preview = preview_payload(
        identity=SAMPLE.identity,
        printernizer=SAMPLE.printernizer,
        flags_now={},
        time_zone="UTC",
        today=date(2026, 11, 25),
    )
    assert preview["installation"]["installation_id"] == SAMPLE.identity.installation_id
    assert preview["installation"]["first_seen"] == "2024-11-01T00:00:00Z"
    assert preview.keys() == build_payload(SAMPLE, 1).keys()


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
# Strings that look like versions, some of them just too long or too odd.
versions = st.from_regex(
    r"[0-9]{1,6}(\.[0-9]{1,6}){0,4}(-dev|(a|b|rc)[0-9]{1,4}|-[0-9]{1,3}-g[0-9a-f]{7})?",
    fullmatch=True,
)
# The grammar of a version in the payload.
VERSION = re.compile(r"[0-9]{1,4}(\.[0-9]{1,4}){1,2}(-dev|(a|b|rc)[0-9]{1,3})?")


@settings(max_examples=examples(300))
@given(
    counts=st.tuples(junk, junk, junk, junk),
    errors=st.dictionaries(
        st.text(max_size=30) | st.sampled_from(["server_error"]), junk
    ),
    flags=st.dictionaries(
        st.text(max_size=30) | st.sampled_from(["library_enabled"]), junk
    ),
    fleet=st.dictionaries(st.text(max_size=20) | st.sampled_from(["prusa"]), junk),
    facts=st.tuples(junk | versions, junk | versions, junk, junk),
    zone=st.text(max_size=40)
    | st.sampled_from(["Europe/Berlin", "UTC", "Pacific/Pitcairn", "Europe/Vatican"]),
)
def test_any_input_gives_a_valid_closed_payload(  # noqa: PLR0917 - hypothesis
    counts: tuple[Any, Any, Any, Any],
    errors: dict[str, Any],
    flags: dict[str, Any],
    fleet: dict[str, Any],
    facts: tuple[Any, Any, Any, Any],
    zone: str,
) -> None:
    """Whatever the store or Printernizer hold, the server accepts what is built."""
    source = PayloadSource(
        week_start=date(2026, 11, 16),
        counts=WeekCounts(*counts, errors, flags),
        identity=SAMPLE.identity,
        printernizer=PrinternizerFacts(*facts, fleet),
        time_zone=zone,
        submitted_on=date(2026, 11, 24),
    )
    payload = build_payload(source, 1)
    assert validate_submission(json.loads(serialise(payload))) == []
    assert schema_errors(json.loads(serialise(payload))) == []
    usage = payload["usage_stats"]
    assert all(
        type(usage[key]) is int and usage[key] >= 0
        for key in ("job_count", "file_count", "upload_count", "uptime_hours")
    )
    assert set(usage["feature_usage"]) <= {
        "library_enabled",
        "timelapse_enabled",
        "auto_job_creation_enabled",
        "watch_folders_enabled",
    }
    installation = payload["installation"]
    assert len(installation["country_code"]) == 2
    assert installation["country_code"] not in TINY_TERRITORIES
    for version in (installation["app_version"], installation["python_version"]):
        assert version in ("unknown", None) or (
            len(version) <= 20 and VERSION.fullmatch(version)
        )
    assert max(usage["job_count"], usage["file_count"], usage["upload_count"]) <= (
        MAX_WEEKLY_COUNT
    )
    assert all(
        1 <= count <= MAX_WEEKLY_COUNT for count in payload["error_summary"].values()
    )
    fleet_counts = payload["printer_fleet"]["printer_type_counts"]
    assert payload["printer_fleet"]["printer_count"] == sum(fleet_counts.values())
    assert payload["printer_fleet"]["printer_count"] <= MAX_PRINTERS


def test_preview_without_consented_fields() -> None:
    """A preview under a policy that allows nothing shows nothing."""
    preview = preview_payload(
        identity=None,
        printernizer=SAMPLE.printernizer,
        flags_now={},
        time_zone="UTC",
        today=date(2026, 11, 25),
        consented_policy=0,
    )
    assert preview == {}
