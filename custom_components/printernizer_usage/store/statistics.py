"""The statistics shown: one week's totals and counts, and Printernizer's facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
import sqlite3

from ..const import ErrorType, Metric
from ..payload import PrinternizerFacts, WeekCounts, week_start
from .database import day_number, meta_json, meta_text


@dataclass(frozen=True, slots=True)
class StatisticsView:
    """The numbers of one UTC week, as the sensors show them."""

    week_start: date
    jobs: int = 0
    files: int = 0
    uploads: int = 0
    uptime_hours: int = 0
    errors: dict[ErrorType, int] = field(default_factory=dict)
    printer_count: int | None = None

    @property
    def error_total(self) -> int:
        """Return all errors of the week."""
        return sum(self.errors.values())


def statistics_view(db: sqlite3.Connection, today: date) -> StatisticsView:
    """Return the totals of the UTC week holding today."""
    start = week_start(today)
    totals = dict.fromkeys(Metric, 0)
    errors: dict[ErrorType, int] = {}
    for metric, dimension, count in db.execute(
        "SELECT metric, dimension, SUM(count) FROM day_bucket "
        "WHERE day >= ? AND day < ? GROUP BY metric, dimension",
        (day_number(start), day_number(start) + 7),
    ):
        if metric == Metric.ERRORS:
            try:
                errors[ErrorType(dimension.partition("/")[0])] = count
            except ValueError:
                continue  # a type no longer counted (or a hand edit)
        totals[Metric(metric)] += count
    fleet = meta_json(db, "fleet")
    return StatisticsView(
        week_start=start,
        jobs=totals[Metric.JOBS],
        files=totals[Metric.FILES],
        uploads=totals[Metric.UPLOADS],
        uptime_hours=totals[Metric.UPTIME_HOURS],
        errors=errors,
        printer_count=None if fleet is None else sum(fleet.values()),
    )


def week_counts(db: sqlite3.Connection, week: date) -> WeekCounts:
    """Return one UTC week's counts and flags, as a payload is built from."""
    view = statistics_view(db, week)
    flags = {
        str(flag): bool(enabled)
        for flag, enabled in db.execute(
            "SELECT flag, enabled FROM feature_flag_week WHERE week_start = ?",
            (day_number(week),),
        )
    }
    return WeekCounts(
        jobs=view.jobs,
        files=view.files,
        uploads=view.uploads,
        uptime_hours=view.uptime_hours,
        errors={str(error): count for error, count in view.errors.items()},
        feature_flags=flags,
    )


def printernizer_facts(db: sqlite3.Connection) -> PrinternizerFacts:
    """Return what Printernizer last reported about itself and its fleet."""
    runtime = meta_json(db, "runtime") or {}
    return PrinternizerFacts(
        app_version=meta_text(db, "app_version"),
        python_version=runtime.get("python_version"),
        platform=runtime.get("platform"),
        deployment_mode=runtime.get("deployment_mode"),
        fleet=meta_json(db, "fleet") or {},
    )
