"""What a submission contains: the schema 1.0 payload, built from closed vocabularies.

Every value is taken from local day buckets, the latest fleet and Printernizer's
reported versions, and is mapped onto a fixed vocabulary or an exact type; a
value that does not fit is replaced by its "unknown" form or left out, never
passed through. Each field belongs to the policy version that introduced it,
and a payload holds only the fields the user consented to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
import json
from typing import Any, Final
import uuid

from . import sanitise
from .const import (
    POLICY_VERSION,
    ErrorType,
    FeatureFlag,
    PrinterType,
)

SCHEMA_VERSION: Final = "1.0"
WEEK: Final = timedelta(days=7)
UNKNOWN_COUNTRY: Final = "XX"
# Territories of fewer than about 150,000 people: one installation there may
# be the only one, so their code would single it out. Fixed per policy version.
TINY_TERRITORIES: Final = frozenset(
    # As PRIVACY.md prints the list.
    "AD AG AI AQ AS AW AX BL BM BQ BV CC CK CW CX DM FK FM FO GD GG GI GL GS HM IM "  # noqa: SIM905
    "IO JE KI KN KY LI MC MF MH MP MS NF NR NU PM PN PW SC SH SJ SM SX TC TF TK TO "
    "TV UM VA VC VG VI WF".split()
)
# Upper bounds of the closed values; the builder clamps to them.
MAX_WEEKLY_COUNT: Final = 1_000_000
MAX_UPTIME_HOURS: Final = 7 * 24
MAX_PRINTERS: Final = 10_000
# Shown in the consent screen's preview where a value does not exist yet.
NOT_YET_KNOWN: Final = "(not yet known)"
# Lets the builder run before an id exists; previews mask it again.
PLACEHOLDER_ID: Final = "00000000-0000-4000-8000-000000000000"

type JsonValue = str | int | bool | list[str] | dict[str, int] | dict[str, bool] | None


def week_start(day: date) -> date:
    """Return the Monday that starts the UTC week holding a day."""
    return day - timedelta(days=day.weekday())


def day_stamp(day: date) -> str:
    """Return a UTC day boundary as the payload writes time stamps."""
    return f"{day:%Y-%m-%d}T00:00:00Z"


def week_bounds(start: date) -> tuple[datetime, datetime]:
    """Return a UTC week's start and end (the next Monday) as instants."""
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return begin, begin + WEEK


@cache
def _zone_countries() -> dict[str, str]:
    """Map every zone name, old aliases included, to its one ISO 3166 country.

    zone.tab of the tz database gives one country per zone; the links in
    tzdata.zi lead old names (Europe/Kiev, US/Eastern, GB) to those zones.
    """
    zoneinfo = resources.files("tzdata").joinpath("zoneinfo")
    countries: dict[str, str] = {}
    for line in zoneinfo.joinpath("zone.tab").read_text().splitlines():
        if line and not line.startswith("#"):
            code, _, zone, *_ = line.split("\t")
            countries[zone] = code
    for line in zoneinfo.joinpath("tzdata.zi").read_text().splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            if target in countries and alias not in countries:
                countries[alias] = countries[target]
    return countries


def country_code(time_zone: str) -> str:
    """Return the country of Home Assistant's time zone, or XX when it has none.

    Zones such as UTC or Etc/GMT+1 belong to no country, and a tiny territory
    is not told apart from them. Never an IP lookup.
    Reads files on first use: call it off the event loop.
    """
    code = _zone_countries().get(time_zone, UNKNOWN_COUNTRY)
    iso = len(code) == 2 and code.isalpha() and code.isupper()
    return code if iso and code not in TINY_TERRITORIES else UNKNOWN_COUNTRY


@dataclass(frozen=True, slots=True)
class WeekCounts:
    """One closed UTC week, as the local store sums it up."""

    jobs: int
    files: int
    uploads: int
    uptime_hours: int
    errors: Mapping[str, int]
    feature_flags: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class InstallationIdentity:
    """The random id submissions carry, and the UTC day it was first used."""

    installation_id: str
    first_seen: date


@dataclass(frozen=True, slots=True)
class PrinternizerFacts:
    """The Printernizer this installation observes, as last reported."""

    app_version: str | None
    python_version: str | None
    platform: str | None
    deployment_mode: str | None
    fleet: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PayloadSource:
    """Everything one payload is built from."""

    week_start: date
    counts: WeekCounts
    identity: InstallationIdentity
    printernizer: PrinternizerFacts
    time_zone: str
    submitted_on: date


@dataclass(frozen=True, slots=True)
class PayloadField:
    """A payload key: where it goes, the policy version that allows it, its value."""

    path: tuple[str, ...]
    since_policy: int
    value: Callable[[PayloadSource], JsonValue]


def _count(value: object, most: int = MAX_WEEKLY_COUNT) -> int:
    """Return an integer count from 0 to `most`; anything else counts as nothing.

    A count above the bound is sent as the bound: a week is never lost to it.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, most)


def _installation_id(source: PayloadSource) -> str:
    """Return the id in canonical form; an id that is not a UUIDv4 is a bug."""
    parsed = uuid.UUID(source.identity.installation_id)
    if parsed.version != 4:
        msg = "the installation id must be a random UUIDv4"
        raise ValueError(msg)
    return str(parsed)


def _fleet(source: PayloadSource) -> dict[str, int]:
    """Return the printers per type, at most MAX_PRINTERS in all."""
    fleet: dict[str, int] = {}
    room = MAX_PRINTERS
    for kind in sorted(PrinterType):
        if count := _count(source.printernizer.fleet.get(kind, 0), room):
            fleet[kind.value] = count
            room -= count
    return fleet


def _platform(source: PayloadSource) -> str:
    return sanitise.platform_family(source.printernizer.platform).value


def _deployment_mode(source: PayloadSource) -> str:
    return sanitise.deployment_mode(source.printernizer.deployment_mode).value


def _feature_usage(source: PayloadSource) -> dict[str, bool]:
    flags = source.counts.feature_flags
    return {
        flag.value: value
        for flag in FeatureFlag
        if isinstance(value := flags.get(flag), bool)
    }


def _error_summary(source: PayloadSource) -> dict[str, int]:
    errors = source.counts.errors
    return {
        error.value: count
        for error in ErrorType
        if (count := _count(errors.get(error, 0)))
    }


# The schema 1.0 payload, key by key, in the order it is written.
PAYLOAD_FIELDS: Final[tuple[PayloadField, ...]] = (
    PayloadField(("schema_version",), 1, lambda _: SCHEMA_VERSION),
    PayloadField(
        ("submission_timestamp",), 1, lambda source: day_stamp(source.submitted_on)
    ),
    PayloadField(("installation", "installation_id"), 1, _installation_id),
    PayloadField(
        ("installation", "first_seen"),
        1,
        lambda source: day_stamp(source.identity.first_seen),
    ),
    PayloadField(
        ("installation", "app_version"),
        1,
        lambda source: sanitise.app_version(source.printernizer.app_version),
    ),
    PayloadField(
        ("installation", "python_version"),
        1,
        lambda source: sanitise.python_version(source.printernizer.python_version),
    ),
    PayloadField(("installation", "platform"), 1, _platform),
    PayloadField(("installation", "deployment_mode"), 1, _deployment_mode),
    PayloadField(
        ("installation", "country_code"),
        1,
        lambda source: country_code(source.time_zone),
    ),
    PayloadField(("period", "start"), 1, lambda source: day_stamp(source.week_start)),
    PayloadField(
        ("period", "end"), 1, lambda source: day_stamp(source.week_start + WEEK)
    ),
    PayloadField(("period", "duration_days"), 1, lambda _: WEEK.days),
    PayloadField(
        ("printer_fleet", "printer_count"),
        1,
        lambda source: sum(_fleet(source).values()),
    ),
    PayloadField(
        ("printer_fleet", "printer_types"), 1, lambda source: list(_fleet(source))
    ),
    PayloadField(("printer_fleet", "printer_type_counts"), 1, _fleet),
    PayloadField(
        ("usage_stats", "job_count"), 1, lambda source: _count(source.counts.jobs)
    ),
    PayloadField(
        ("usage_stats", "file_count"), 1, lambda source: _count(source.counts.files)
    ),
    PayloadField(
        ("usage_stats", "upload_count"),
        1,
        lambda source: _count(source.counts.uploads),
    ),
    PayloadField(
        ("usage_stats", "uptime_hours"),
        1,
        lambda source: _count(source.counts.uptime_hours, MAX_UPTIME_HOURS),
    ),
    PayloadField(("usage_stats", "feature_usage"), 1, _feature_usage),
    PayloadField(("error_summary",), 1, _error_summary),
)


def build_payload(
    source: PayloadSource,
    consented_policy: int,
    fields: tuple[PayloadField, ...] = PAYLOAD_FIELDS,
) -> dict[str, Any]:
    """Return the payload for one week with the fields the user consented to."""
    if source.week_start.weekday() != 0:
        msg = "a period is a UTC week starting on a Monday"
        raise ValueError(msg)
    payload: dict[str, Any] = {}
    for field in fields:
        if field.since_policy > consented_policy:
            continue
        *parents, key = field.path
        node = payload
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = field.value(source)
    return payload


def fields_added_after(
    consented_policy: int, fields: tuple[PayloadField, ...] = PAYLOAD_FIELDS
) -> list[str]:
    """Return the dotted paths of fields a newer policy adds to a consented one."""
    return [
        ".".join(field.path)
        for field in fields
        if field.since_policy > consented_policy
    ]


def serialise(payload: Mapping[str, Any]) -> bytes:
    """Return the exact bytes a submission sends: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


# Fields whose keys or length are themselves values (which errors occurred,
# which printer types there are): a shape gives only their type.
_TYPE_ONLY: Final = frozenset(
    {
        ("error_summary",),
        ("usage_stats", "feature_usage"),
        ("printer_fleet", "printer_types"),
        ("printer_fleet", "printer_type_counts"),
    }
)


def payload_shape(body: bytes) -> dict[str, Any]:
    """Describe a payload by its fields' types, never by a value.

    Not even its size: the server can work that out of a row, and it is
    nearly as telling as the row.
    """

    def shape(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict) and path not in _TYPE_ONLY:
            return {key: shape(item, (*path, key)) for key, item in value.items()}
        return type(value).__name__

    result: dict[str, Any] = shape(json.loads(body), ())
    return result


def preview_payload(
    *,
    identity: InstallationIdentity | None,
    printernizer: PrinternizerFacts,
    flags_now: Mapping[str, bool],
    time_zone: str,
    today: date,
    consented_policy: int = POLICY_VERSION,
) -> dict[str, Any]:
    """Return what the first submission would look like, as far as known today.

    The first week that could be sent is the next whole UTC week. What it will
    count, the day it will be sent and, before opting in, the random id do not
    exist yet: those values read NOT_YET_KNOWN.
    """
    source = PayloadSource(
        week_start=week_start(today) + WEEK,
        counts=WeekCounts(0, 0, 0, 0, {}, flags_now),
        identity=identity or InstallationIdentity(PLACEHOLDER_ID, today),
        printernizer=printernizer,
        time_zone=time_zone,
        submitted_on=today,
    )
    payload = build_payload(source, consented_policy)
    unknown: list[tuple[str, ...]] = [
        ("submission_timestamp",),
        ("usage_stats", "job_count"),
        ("usage_stats", "file_count"),
        ("usage_stats", "upload_count"),
        ("usage_stats", "uptime_hours"),
        ("error_summary",),
    ]
    if identity is None:
        unknown += [("installation", "installation_id"), ("installation", "first_seen")]
    for *parents, key in unknown:
        node = payload
        for parent in parents:
            node = node.get(parent, {})
        if key in node:
            node[key] = NOT_YET_KNOWN
    return payload
