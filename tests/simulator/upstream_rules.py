"""How upstream's aggregation server (pydantic, lax mode) checks a submission.

The simulator answers what upstream answers: the same checks, the same
FastAPI-shaped error items. Schema 1.0 (schema/) is stricter; the simulator
applies it after these (see collection.py).
"""

from __future__ import annotations

from collections.abc import Callable
import re
from typing import Any

_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
)
_REQUIRED_OBJECTS = ("installation", "period", "printer_fleet", "usage_stats")
_REQUIRED_STRINGS = (
    "installation_id",
    "app_version",
    "platform",
    "deployment_mode",
    "country_code",
)


_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0"}

type Errors = list[dict[str, Any]]
type Loc = list[str | int]


def error_item(kind: str, loc: Loc, msg: str, value: Any) -> dict[str, Any]:
    """Return one FastAPI-shaped error item at body.`loc`."""
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}


def _int_error(loc: Loc, value: Any) -> dict[str, Any] | None:
    """Check a value as pydantic's lax int does: 23, 23.0 and "23" pass."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return error_item("int_type", loc, "Input should be a valid integer", value)
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            return None
        return error_item(
            "int_parsing",
            loc,
            "Input should be a valid integer, unable to parse string as an integer",
            value,
        )
    if isinstance(value, float) and not value.is_integer():
        return error_item(
            "int_from_float",
            loc,
            "Input should be a valid integer, got a number with a fractional part",
            value,
        )
    return None


def _bool_error(loc: Loc, value: Any) -> dict[str, Any] | None:
    """Check a value as pydantic's lax bool does: true, 1 and "yes" pass."""
    if isinstance(value, bool) or value in (0, 1):
        return None
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return None
    return error_item(
        "bool_parsing",
        loc,
        "Input should be a valid boolean, unable to interpret input",
        value,
    )


def _check_count(errors: Errors, loc: Loc, value: Any) -> None:
    """Check a count: an integer (lax) of at least 0."""
    if (problem := _int_error(loc, value)) is not None:
        errors.append(problem)
    elif int(value) < 0:
        errors.append(
            error_item(
                "greater_than_equal",
                loc,
                "Input should be greater than or equal to 0",
                value,
            )
        )


def _check_datetime(errors: Errors, loc: Loc, value: Any) -> None:
    """Check a full date-time; a bare date is refused, as by the real server."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        errors.append(
            error_item(
                "datetime_parsing", loc, "Input should be a valid datetime", value
            )
        )


def _check_mapping(
    errors: Errors,
    loc: Loc,
    value: Any,
    item_error: Callable[[Loc, Any], dict[str, Any] | None],
) -> None:
    if not isinstance(value, dict):
        errors.append(
            error_item("dict_type", loc, "Input should be a valid dictionary", value)
        )
        return
    for key, item in value.items():
        if (problem := item_error([*loc, key], item)) is not None:
            errors.append(problem)


def validate_submission(body: Any) -> Errors:
    """Return every validation error the real server reports; empty when valid."""
    if not isinstance(body, dict):
        return [
            error_item("model_attributes_type", [], "Input should be an object", body)
        ]
    errors: Errors = []
    sections: dict[str, dict[str, Any]] = {}
    for name in _REQUIRED_OBJECTS:
        if name not in body:
            errors.append(error_item("missing", [name], "Field required", body))
        elif not isinstance(body[name], dict):
            errors.append(
                error_item(
                    "model_attributes_type",
                    [name],
                    "Input should be an object",
                    body[name],
                )
            )
        else:
            sections[name] = body[name]
    validators = {
        "installation": _validate_installation,
        "period": _validate_period,
        "printer_fleet": _validate_fleet,
        "usage_stats": _validate_usage,
    }
    for name, section in sections.items():
        validators[name](errors, section)
    if body.get("error_summary") is not None:
        _check_mapping(errors, ["error_summary"], body["error_summary"], _int_error)
    if body.get("submission_timestamp") is not None:
        _check_datetime(errors, ["submission_timestamp"], body["submission_timestamp"])
    return errors


def _validate_installation(errors: Errors, installation: dict[str, Any]) -> None:
    for name in _REQUIRED_STRINGS:
        loc: Loc = ["installation", name]
        if name not in installation:
            errors.append(error_item("missing", loc, "Field required", installation))
        elif not isinstance(installation[name], str):
            errors.append(
                error_item(
                    "string_type",
                    loc,
                    "Input should be a valid string",
                    installation[name],
                )
            )
    if installation.get("first_seen") is not None:
        _check_datetime(
            errors, ["installation", "first_seen"], installation["first_seen"]
        )
    python = installation.get("python_version")
    if python is not None and not isinstance(python, str):
        errors.append(
            error_item(
                "string_type",
                ["installation", "python_version"],
                "Input should be a valid string",
                python,
            )
        )


def _validate_period(errors: Errors, period: dict[str, Any]) -> None:
    for name in ("start", "end"):
        if name not in period:
            errors.append(
                error_item("missing", ["period", name], "Field required", period)
            )
        else:
            _check_datetime(errors, ["period", name], period[name])
    if "duration_days" in period:
        _check_count(errors, ["period", "duration_days"], period["duration_days"])


def _validate_fleet(errors: Errors, fleet: dict[str, Any]) -> None:
    if "printer_count" in fleet:
        _check_count(errors, ["printer_fleet", "printer_count"], fleet["printer_count"])
    types = fleet.get("printer_types", [])
    if not (isinstance(types, list) and all(isinstance(item, str) for item in types)):
        errors.append(
            error_item(
                "list_type",
                ["printer_fleet", "printer_types"],
                "Input should be a valid list",
                types,
            )
        )
    if fleet.get("printer_type_counts") is not None:
        _check_mapping(
            errors,
            ["printer_fleet", "printer_type_counts"],
            fleet["printer_type_counts"],
            _int_error,
        )


def _validate_usage(errors: Errors, usage: dict[str, Any]) -> None:
    for name in ("job_count", "file_count", "upload_count", "uptime_hours"):
        if name in usage:
            _check_count(errors, ["usage_stats", name], usage[name])
    if usage.get("feature_usage") is not None:
        _check_mapping(
            errors,
            ["usage_stats", "feature_usage"],
            usage["feature_usage"],
            _bool_error,
        )
