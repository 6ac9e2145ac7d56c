"""Pick, from a valid payload, exactly the fields the server keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class StoredFields:
    """One week of one installation, as a row holds it."""

    installation_id: str
    period_start: date
    period_end: date
    app_version: str
    python_version: str | None
    platform: str
    deployment_mode: str
    country_code: str
    printer_count: int
    printer_type_counts: dict[str, int] | None
    job_count: int
    file_count: int
    upload_count: int
    uptime_hours: int
    feature_usage: dict[str, bool] | None
    error_summary: dict[str, int] | None


def stored_fields(payload: Mapping[str, Any]) -> StoredFields:
    """Return the kept fields of a payload that passed validation."""
    # Every field is named here: a key the schema does not know never reaches
    # the database. first_seen, submission_timestamp, duration_days and
    # printer_types are checked but not kept (printer_type_counts says more).
    installation = payload["installation"]
    period = payload["period"]
    fleet = payload["printer_fleet"]
    usage = payload["usage_stats"]
    # The three maps may be copied whole: the schema's propertyNames close them.
    type_counts = fleet.get("printer_type_counts")
    features = usage.get("feature_usage")
    errors = payload.get("error_summary")
    return StoredFields(
        installation_id=installation["installation_id"],
        period_start=_day(period["start"]),
        period_end=_day(period["end"]),
        app_version=installation["app_version"],
        python_version=installation.get("python_version"),
        platform=installation["platform"],
        deployment_mode=installation["deployment_mode"],
        country_code=installation["country_code"],
        printer_count=int(fleet["printer_count"]),
        printer_type_counts=_counts(type_counts),
        job_count=int(usage["job_count"]),
        file_count=int(usage["file_count"]),
        upload_count=int(usage["upload_count"]),
        uptime_hours=int(usage["uptime_hours"]),
        feature_usage=None if features is None else dict(features),
        error_summary=_counts(errors),
    )


def _day(moment: str) -> date:
    """Return the UTC day of a period bound (the schema pins it to midnight UTC)."""
    return datetime.fromisoformat(moment).date()


def _counts(counts: Mapping[str, Any] | None) -> dict[str, int] | None:
    # JSON Schema counts 3.0 as an integer; the database column wants 3.
    return None if counts is None else {name: int(n) for name, n in counts.items()}
