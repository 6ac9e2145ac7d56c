"""Schema 1.0 as one JSON Schema: what it accepts, what it refuses, and why."""

from __future__ import annotations

import copy
import json
from typing import Any

from jsonschema import Draft202012Validator
import pytest

from custom_components.printernizer_usage.const import (
    DeploymentMode,
    ErrorType,
    FeatureFlag,
    PlatformFamily,
    PrinterType,
)
from custom_components.printernizer_usage.payload import (
    MAX_PRINTERS,
    MAX_WEEKLY_COUNT,
    TINY_TERRITORIES,
    build_payload,
    serialise,
)

from .submission_schema import SCHEMA, schema_errors
from .test_payload import SAMPLE

# The privacy policy's own sample payload (a Thursday start, a midday time
# stamp, names the integration never sends), kept as the schema's example.
POLICY_SAMPLE: dict[str, Any] = SCHEMA["examples"][0]
# Names of the policy that the integration cannot observe and never sends.
POLICY_ONLY_FLAGS = {"german_compliance_enabled"}
POLICY_ONLY_ERRORS = {"file_download_failed", "unknown_error"}


def changed(path: str, value: object) -> dict[str, Any]:
    """Return the policy's sample with one value (at a dotted path) replaced."""
    payload = copy.deepcopy(POLICY_SAMPLE)
    *parents, last = path.split(".")
    target = payload
    for part in parents:
        target = target[part]
    target[last] = value
    return payload


def properties(path: str) -> dict[str, Any]:
    """Return the schema of the object at a dotted path."""
    schema = SCHEMA
    for part in path.split("."):
        schema = schema["properties"][part]
    return schema


def test_the_schema_is_a_valid_json_schema() -> None:
    """It is JSON Schema 2020-12, as any validator reads it."""
    Draft202012Validator.check_schema(SCHEMA)


def test_the_policy_sample_is_valid() -> None:
    """What the policy shows users is accepted as it is."""
    assert schema_errors(POLICY_SAMPLE) == []


def test_what_the_integration_builds_is_valid() -> None:
    """The payload for the sample's content, as sent, is accepted."""
    assert schema_errors(json.loads(serialise(build_payload(SAMPLE, 1)))) == []


def test_the_vocabularies_are_the_integrations() -> None:
    """Closed fields hold the integration's values, plus the policy's own names."""
    assert set(properties("installation.platform")["enum"]) == set(PlatformFamily)
    assert set(properties("installation.deployment_mode")["enum"]) == set(
        DeploymentMode
    )
    types = properties("printer_fleet.printer_types")["items"]["enum"]
    assert set(types) == set(PrinterType)
    flags = properties("usage_stats.feature_usage")["propertyNames"]["enum"]
    assert set(flags) == set(FeatureFlag) | POLICY_ONLY_FLAGS
    errors = properties("error_summary")["propertyNames"]["enum"]
    assert set(errors) == set(ErrorType) | POLICY_ONLY_ERRORS
    country = properties("installation.country_code")
    assert set(country["not"]["enum"]) == TINY_TERRITORIES
    assert properties("usage_stats.job_count")["maximum"] == MAX_WEEKLY_COUNT
    assert properties("printer_fleet.printer_count")["maximum"] == MAX_PRINTERS


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("schema_version", "2.0"),
        ("submission_timestamp", "2024-11-20"),
        ("installation.installation_id", "550E8400-E29B-41D4-A716-446655440000"),
        ("installation.installation_id", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        ("installation.first_seen", "yesterday"),
        ("installation.app_version", "2.7.0-15-g3f2a1bc"),
        ("installation.app_version", "1" * 21),
        ("installation.python_version", 3.11),
        ("installation.platform", "freebsd"),
        ("installation.deployment_mode", "kubernetes"),
        ("installation.country_code", None),
        ("installation.country_code", "de"),
        ("installation.country_code", "MC"),
        ("installation.country_code", "DE\n"),
        ("installation.installation_id", "550e8400-e29b-41d4-a716-446655440000\n"),
        ("period.start", "2024-11-14"),
        ("period.start", "2024-11-14T12:00:00Z"),
        ("period.end", "2024-11-21T00:00:00+01:00"),
        ("period.duration_days", 6),
        ("printer_fleet.printer_count", 10_001),
        ("printer_fleet.printer_types", ["ender"]),
        ("printer_fleet.printer_types", ["prusa", "prusa"]),
        ("printer_fleet.printer_type_counts", {"ender": 1}),
        ("usage_stats.job_count", 23.5),
        ("usage_stats.job_count", -1),
        ("usage_stats.job_count", True),
        ("usage_stats.file_count", "18"),
        ("usage_stats.upload_count", MAX_WEEKLY_COUNT + 1),
        ("usage_stats.uptime_hours", 169),
        ("usage_stats.feature_usage", {"dark_mode_enabled": True}),
        ("usage_stats.feature_usage", {"library_enabled": "yes"}),
        ("error_summary", {"server_error": 0}),
        ("error_summary", {"disk_full": 1}),
        ("error_summary", ["server_error"]),
    ],
)
def test_a_closed_field_refuses_what_it_does_not_hold(path: str, value: object) -> None:
    """The refusal names the field's path, as a 422 will."""
    errors = schema_errors(changed(path, value))
    assert errors
    assert all(error.startswith(path) for error in errors)


@pytest.mark.parametrize(
    "section", ["installation", "period", "printer_fleet", "usage_stats"]
)
def test_a_missing_section_is_refused(section: str) -> None:
    """Each of the four sections is required."""
    payload = copy.deepcopy(POLICY_SAMPLE)
    del payload[section]
    assert schema_errors(payload) == [""]


def test_unknown_keys_are_accepted() -> None:
    """A key not in the schema is no error: the server keeps nothing of it."""
    payload = changed("installation.hostname", "printer-room-pc")
    payload["extra"] = {"anything": 1}
    assert schema_errors(payload) == []
    assert schema_errors(changed("error_summary", None)) == []
