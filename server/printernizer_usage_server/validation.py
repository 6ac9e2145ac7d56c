"""Check a parsed body against schema 1.0 and the rules the schema cannot say."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import json
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypedDict, cast

from printernizer_usage_server.schema import validator

if TYPE_CHECKING:
    from jsonschema import ValidationError

Loc: TypeAlias = list[str | int]

WEEK: Final = timedelta(days=7)
# A week is sent after it ends; a client whose clock or time zone is off by
# up to a day may send a little early, but not a week still to come.
EARLY_TOLERANCE: Final = timedelta(days=1)
# Far deeper than a payload nests (its deepest values are three levels down),
# and far longer than its one list (printer_types) can be.
MAX_DEPTH: Final = 16
MAX_ITEMS: Final = 64

# What FastAPI (pydantic) would call each kind of failure, so that clients
# written against the upstream server read our answers the same way.
TYPE_NAMES: Final = {
    "array": "list_type",
    "boolean": "bool_type",
    "integer": "int_type",
    "null": "none_required",
    "object": "dict_type",
    "string": "string_type",
}
RULES: Final[dict[str, tuple[str, str]]] = {
    "anyOf": ("value_error", "Input does not match any allowed form"),
    "const": ("literal_error", "Input should be {limit!r}"),
    "enum": ("enum", "Input should be one of {limit!r}"),
    "maxItems": ("too_long", "List should have at most {limit} items"),
    "maxLength": ("string_too_long", "String should have at most {limit} characters"),
    "maximum": ("less_than_equal", "Input should be less than or equal to {limit}"),
    "minimum": (
        "greater_than_equal",
        "Input should be greater than or equal to {limit}",
    ),
    "not": ("value_error", "Input is a value the schema excludes"),
    "pattern": ("string_pattern_mismatch", "String should match pattern {limit!r}"),
    "uniqueItems": ("list_unique", "List items should be unique"),
}
_FALLBACK_RULE: Final = ("value_error", "Input is not allowed by the schema")


class ErrorItem(TypedDict):
    """One entry of a 422 answer's "detail" list, shaped as FastAPI shapes it."""

    type: str
    loc: Loc
    msg: str
    input: Any


def payload_errors(payload: object) -> list[ErrorItem]:
    """Return what is wrong with a parsed body; an empty list means it is valid.

    A body nested deeper, or with a longer list, than any payload is refused
    before the schema sees it: near the parser's limit the schema's messages
    (which quote the value) would overflow the stack, and its uniqueItems
    check takes time that grows with the square of a list's length.
    """
    if (misshapen := _out_of_shape(payload)) is not None:
        loc, message = misshapen
        return [_item("value_error", ["body", *loc], message, None)]
    errors = _schema_errors(payload)
    if errors:
        # The rules below read the structure the schema guarantees.
        return errors
    # The schema's top level is "type": "object".
    return _semantic_errors(cast("Mapping[str, Any]", payload))


def _schema_errors(payload: Any) -> list[ErrorItem]:
    items: dict[str, ErrorItem] = {}
    for error in validator().iter_errors(payload):
        for item in _items(error):
            # One missing field is reported once, whichever error found it.
            items.setdefault(json.dumps([item["type"], item["loc"]]), item)
    return sorted(items.values(), key=_sort_key)


def _items(error: ValidationError) -> list[ErrorItem]:
    """Turn one jsonschema error into FastAPI-shaped items."""
    loc: Loc = ["body", *error.absolute_path]
    keyword = str(error.validator)
    if keyword == "required":
        # FastAPI names the missing field itself, not the object that lacks it.
        instance = cast("Mapping[str, Any]", error.instance)
        required = cast("list[str]", error.validator_value)
        return [
            _item("missing", [*loc, name], "Field required", instance)
            for name in required
            if name not in instance
        ]
    if keyword == "type":
        expected = cast("str | list[str]", error.validator_value)
        first = expected[0] if isinstance(expected, list) else expected
        kind = TYPE_NAMES.get(first, "type_error")
        return [_item(kind, loc, f"Input should be of type {first}", error.instance)]
    kind, message = RULES.get(keyword, _FALLBACK_RULE)
    return [
        _item(kind, loc, message.format(limit=error.validator_value), error.instance)
    ]


def _semantic_errors(payload: Mapping[str, Any]) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    moments: dict[str, datetime] = {}
    for loc in (
        ["submission_timestamp"],
        ["installation", "first_seen"],
        ["period", "start"],
        ["period", "end"],
    ):
        value = _lookup(payload, loc)
        if value is None:
            continue
        try:
            moments[".".join(loc)] = datetime.fromisoformat(value)
        except ValueError:
            # The pattern lets through days no calendar has, e.g. 2024-02-30.
            errors.append(
                _item(
                    "datetime_parsing",
                    ["body", *loc],
                    "Input should be a valid datetime",
                    value,
                )
            )
    start, end = moments.get("period.start"), moments.get("period.end")
    if start is not None and end is not None and end - start != WEEK:
        errors.append(
            _item(
                "value_error",
                ["body", "period", "end"],
                "Value error, period.end must be period.start plus 7 days",
                payload["period"]["end"],
            )
        )
    fleet = payload["printer_fleet"]
    counts = fleet.get("printer_type_counts")
    if counts is not None and sum(counts.values()) != fleet["printer_count"]:
        errors.append(
            _item(
                "value_error",
                ["body", "printer_fleet", "printer_count"],
                "Value error, printer_count must be the sum of printer_type_counts",
                fleet["printer_count"],
            )
        )
    return errors


def period_timing_errors(
    payload: Mapping[str, Any], now: datetime, retention_days: int
) -> list[ErrorItem]:
    """Return why a valid payload's week cannot be stored now, if it cannot.

    A week that has not ended would be kept for its retention from a date
    still to come: one dated far ahead would outlive the promised period. A
    week already past the retention would be purged at once.
    """
    end_text = payload["period"]["end"]
    end = datetime.fromisoformat(end_text)
    if end > now + EARLY_TOLERANCE:
        message = "Value error, period.end must not be in the future"
    elif end.date() <= (now - timedelta(days=retention_days)).date():
        message = "Value error, period.end is older than the retention period"
    else:
        return []
    return [_item("value_error", ["body", "period", "end"], message, end_text)]


def _lookup(payload: Mapping[str, Any], loc: list[str]) -> str | None:
    """Return the string at a path, or None where the optional field is absent."""
    value: Any = payload
    for part in loc:
        value = value.get(part)
        if value is None:
            return None
    return str(value)


def _item(kind: str, loc: Loc, message: str, value: object) -> ErrorItem:
    return {
        "type": kind,
        "loc": [_encodable(part) for part in loc],
        "msg": message,
        "input": _echoable(value),
    }


def _encodable(part: str | int) -> str | int:
    # A key may be a lone surrogate ("\ud800"), which parses but no UTF-8
    # answer can carry: such characters read as "?".
    if isinstance(part, str):
        return part.encode("utf-8", "replace").decode()
    return part


def _echoable(value: object) -> object:
    """Return the input as the answer may echo it: None if no UTF-8 JSON holds it."""
    # A lone surrogate ("\ud800") parses, but cannot be encoded in the answer.
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError):
        return None
    return value


def _out_of_shape(payload: object) -> tuple[Loc, str] | None:
    """Return where, and how, a body is deeper or longer than a payload can be.

    The place is the innermost named field above it: the indexes of a heap
    of nested lists say nothing.
    """
    stack: list[tuple[object, list[str | int]]] = [(payload, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return _named(path), "Input nests deeper than a payload does"
        if isinstance(value, list) and len(value) > MAX_ITEMS:
            return _named(path), "Input lists more items than a payload does"
        if isinstance(value, dict):
            stack.extend((child, [*path, key]) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(value))
    return None


def _named(path: list[str | int]) -> Loc:
    names = [part for part in path if isinstance(part, str)]
    return path[: path.index(names[-1]) + 1] if names else []


def _sort_key(item: ErrorItem) -> tuple[tuple[tuple[bool, int | str], ...], str]:
    # Indexes and names never compare with each other: tag each part with its kind.
    return tuple((isinstance(part, str), part) for part in item["loc"]), item["type"]
