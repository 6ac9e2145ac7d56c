"""Payloads the tests send: the privacy policy's own sample, and weeks made from it."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any, Final

# Copied from the privacy policy's section "Sample Data Payload".
POLICY_SAMPLE: Final[dict[str, Any]] = {
    "schema_version": "1.0",
    "submission_timestamp": "2024-11-20T12:00:00Z",
    "installation": {
        "installation_id": "550e8400-e29b-41d4-a716-446655440000",
        "first_seen": "2024-11-01T00:00:00Z",
        "app_version": "2.7.0",
        "python_version": "3.11.0",
        "platform": "linux",
        "deployment_mode": "homeassistant",
        "country_code": "DE",
    },
    "period": {
        "start": "2024-11-14T00:00:00Z",
        "end": "2024-11-21T00:00:00Z",
        "duration_days": 7,
    },
    "printer_fleet": {
        "printer_count": 3,
        "printer_types": ["bambu_lab", "prusa"],
        "printer_type_counts": {"bambu_lab": 2, "prusa": 1},
    },
    "usage_stats": {
        "job_count": 23,
        "file_count": 18,
        "upload_count": 5,
        "uptime_hours": 168,
        "feature_usage": {
            "library_enabled": True,
            "timelapse_enabled": False,
            "auto_job_creation_enabled": True,
            "german_compliance_enabled": False,
            "watch_folders_enabled": True,
        },
    },
    "error_summary": {"connection_timeout": 2, "file_download_failed": 1},
}

SAMPLE_ID: Final = POLICY_SAMPLE["installation"]["installation_id"]
OTHER_ID: Final = "0b7c1d2e-3f40-4a51-9b62-7c83d94ea5f6"


def sample() -> dict[str, Any]:
    """Return a fresh copy of the policy's sample, safe to change."""
    return copy.deepcopy(POLICY_SAMPLE)


def week(
    start: date, installation_id: str = SAMPLE_ID, **changes: Any
) -> dict[str, Any]:
    """Return the sample moved to the week starting `start`, for `installation_id`."""
    payload = sample()
    payload["installation"]["installation_id"] = installation_id
    payload["period"]["start"] = f"{start.isoformat()}T00:00:00Z"
    payload["period"]["end"] = f"{(start + timedelta(days=7)).isoformat()}T00:00:00Z"
    payload.update(changes)
    return payload
