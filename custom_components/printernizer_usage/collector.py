"""Turn what one poll of Printernizer shows into increments of the day buckets.

Printernizer's lists are newest first but have no date filter, their time stamps
mix UTC and local time, and a Printernizer restart can delete every job. So an
item is counted the first time its (salted, hashed) id is seen, never by time
stamp or by comparing totals. The first poll of each list only learns what is
already there.

A list is sorted by its `created_at` text, and the two formats Printernizer
writes ("2026-12-02 15:14:04" for API-created jobs, "2026-12-02T15:07:43.156133"
in local time for jobs of printer monitoring) do not sort by time: a known item
can sit above new ones of the same day. Only the day a stamp begins with is
reliable, so paging reads on through every recent day.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .api import ItemKeyer, PrinternizerClient, PrinternizerError, RuntimeFacts
from .const import (
    ERROR_COMPONENTS,
    MAX_REMEMBERED_ITEMS,
    PAGE_SIZE,
    ErrorType,
    FeatureFlag,
    Listing,
    Metric,
    PrinterType,
)

# Reading more pages than can be remembered could not tell old items from new.
MAX_PAGES_PER_POLL = MAX_REMEMBERED_ITEMS // PAGE_SIZE
PRINTERS_BASELINE = "printers"
# A stamp's day is its UTC day (API-created items) or its local day (printer
# monitoring), which is at most one day earlier: an item created after a read
# is never stamped more than a day before that read's UTC day.
RECENT_DAYS_BEFORE_LAST_READ = 1
ONE_DAY = timedelta(days=1)

_LISTING_METRICS = {
    Listing.JOBS: Metric.JOBS,
    Listing.DOWNLOADED_FILES: Metric.FILES,
    Listing.UPLOADS: Metric.UPLOADS,
}

type BucketKey = tuple[Metric, str]


def error_dimension(error: ErrorType) -> str:
    """Return the day-bucket dimension of an error: its type and component."""
    return f"{error}/{ERROR_COMPONENTS[error]}"


@dataclass(slots=True)
class CollectorState:
    """What the collector remembers between polls; the store persists it."""

    salt: bytes
    # Per list, the remembered item keys, oldest first.
    seen: dict[Listing, OrderedDict[bytes, None]] = field(default_factory=dict)
    # Lists (and the printers) whose first poll has already learned the baseline.
    baselines: set[str] = field(default_factory=set)
    printers_in_error: frozenset[bytes] = frozenset()
    last_uptime_hour: datetime | None = None
    # The UTC day each list was last read (a list that failed keeps its day).
    last_read: dict[Listing, date] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """Everything one poll that reached Printernizer adds; saved in one transaction.

    A part that failed (or that this Printernizer does not have) is None or
    absent, and the store keeps what it knew of it; each failure is counted.
    """

    observed_at: datetime
    increments: dict[BucketKey, int]
    errors: tuple[ErrorType, ...]
    # Per list read, the keys seen for the first time, oldest first.
    new_keys: dict[Listing, tuple[bytes, ...]]
    baselines: frozenset[str]
    printers_in_error: frozenset[bytes] | None
    uptime_hour: datetime
    fleet: dict[PrinterType, int] | None
    flags: dict[FeatureFlag, bool]
    app_version: str
    runtime: RuntimeFacts | None


@dataclass(frozen=True, slots=True)
class FailedPoll:
    """A poll that could not reach Printernizer's health check."""

    observed_at: datetime
    error: ErrorType

    @property
    def increments(self) -> dict[BucketKey, int]:
        """Count the failure in the error vocabulary."""
        return {(Metric.ERRORS, error_dimension(self.error)): 1}


class _PartialPoll:
    """Runs the parts of a poll, noting each failure instead of giving up."""

    def __init__(self) -> None:
        self.errors: list[ErrorType] = []

    async def attempt[T](self, read: Awaitable[T]) -> T | None:
        try:
            return await read
        except PrinternizerError as err:
            self.errors.append(err.kind)
            return None


class Collector:
    """Reads one poll's worth of Printernizer state and says what is new."""

    def __init__(self, state: CollectorState) -> None:
        """Start from the state the store loaded."""
        self.state = state
        self._keyer = ItemKeyer(state.salt)

    async def async_poll(
        self, client: PrinternizerClient, now: datetime
    ) -> PollOutcome:
        """Read Printernizer; raises PrinternizerError when its health check fails.

        Every other part may fail on its own: it is counted as an error and
        left out, and the rest of the poll still counts. Nothing is remembered
        here: `commit` does that once the store has saved the outcome, so a
        failed save can never lose or double an item.
        """
        app_version = await client.async_app_version()
        poll = _PartialPoll()
        runtime = await poll.attempt(client.async_runtime_facts())
        printers = await poll.attempt(client.async_printers(self._keyer))
        new_keys: dict[Listing, tuple[bytes, ...]] = {}
        for listing in Listing:
            keys = await poll.attempt(self._async_read_new_keys(client, listing, now))
            if keys is not None:
                new_keys[listing] = keys
        flags = await poll.attempt(client.async_feature_flags())

        increments: Counter[BucketKey] = Counter()
        learned: set[str] = set()
        for listing, keys in new_keys.items():
            if listing not in self.state.baselines:
                learned.add(listing)
            else:
                increments[_LISTING_METRICS[listing], ""] += len(keys)

        in_error: frozenset[bytes] | None = None
        if printers is not None:
            in_error = frozenset(
                printer.key for printer in printers if printer.in_error
            )
            if PRINTERS_BASELINE in self.state.baselines:
                entered_error = len(in_error - self.state.printers_in_error)
                if entered_error:
                    dimension = error_dimension(ErrorType.PRINTER_ERROR)
                    increments[Metric.ERRORS, dimension] += entered_error
            else:
                learned.add(PRINTERS_BASELINE)

        for error in poll.errors:
            increments[Metric.ERRORS, error_dimension(error)] += 1
        uptime_hour = now.replace(minute=0, second=0, microsecond=0)
        if uptime_hour != self.state.last_uptime_hour:
            increments[Metric.UPTIME_HOURS, ""] += 1

        return PollOutcome(
            observed_at=now,
            increments={key: count for key, count in increments.items() if count},
            errors=tuple(poll.errors),
            new_keys=new_keys,
            baselines=frozenset(learned),
            printers_in_error=in_error,
            uptime_hour=uptime_hour,
            fleet=None
            if printers is None
            else dict(Counter(printer.printer_type for printer in printers)),
            flags=flags or {},
            app_version=app_version,
            runtime=runtime,
        )

    async def _async_read_new_keys(
        self, client: PrinternizerClient, listing: Listing, now: datetime
    ) -> tuple[bytes, ...] | None:
        """Return the keys not seen before, oldest first; None without the list.

        The first page is always read whole. A further page is read while the
        page just read held no known item, or held an item stamped on a day a
        new item can carry (see `_recent_days`); items of the same second
        and the two stamp formats break the order within those days. So a poll
        costs the new items, the items of the last two days and one page,
        however long the history. Learning the baseline reads on (up to the
        remembered bound), so that older items moving up after deletions are
        still known.
        """
        seen = self.state.seen.get(listing, OrderedDict())
        learning_baseline = listing not in self.state.baselines
        first_recent_day, last_recent_day = self._recent_days(listing, now)
        fresh: dict[bytes, None] = {}
        for page_number in range(1, MAX_PAGES_PER_POLL + 1):
            page = await client.async_item_page(listing, page_number, self._keyer)
            if page is None:
                return None
            page_held_known = False
            for key in page.keys:
                if key in seen:
                    page_held_known = True
                else:
                    fresh[key] = None
            page_is_recent = (
                page.oldest_day is not None
                and first_recent_day <= page.oldest_day <= last_recent_day
            )
            if not page.has_more or not (
                learning_baseline or not page_held_known or page_is_recent
            ):
                break
        return tuple(reversed(fresh))

    def _recent_days(self, listing: Listing, now: datetime) -> tuple[date, date]:
        """Return the first and last day a new item can be stamped with.

        New since the list's last read (or, in a file from before that was
        kept, the last poll). A day after tomorrow is no stamp of a new item
        but of a clock far ahead; taken as recent, it would make every poll
        read every page.
        """
        today = now.date()
        last_read = self.state.last_read.get(listing)
        if last_read is None and self.state.last_uptime_hour is not None:
            last_read = self.state.last_uptime_hour.date()
        first = min(today, last_read or today)
        return first - timedelta(days=RECENT_DAYS_BEFORE_LAST_READ), today + ONE_DAY

    def commit(self, outcome: PollOutcome) -> None:
        """Remember what the store has just saved."""
        state = self.state
        for listing, keys in outcome.new_keys.items():
            state.seen[listing] = remember(state.seen.get(listing, OrderedDict()), keys)
            state.last_read[listing] = outcome.observed_at.date()
        state.baselines |= outcome.baselines
        if outcome.printers_in_error is not None:
            state.printers_in_error = outcome.printers_in_error
        state.last_uptime_hour = outcome.uptime_hour


def remember(
    seen: OrderedDict[bytes, None],
    keys: tuple[bytes, ...],
    limit: int = MAX_REMEMBERED_ITEMS,
) -> OrderedDict[bytes, None]:
    """Add new keys to a remembered set, forgetting the oldest beyond the limit.

    Each key costs O(1): the set is changed in place (copying it would make a
    poll cost more the more is remembered), keys that would be forgotten at
    once are never added, and the oldest goes with OrderedDict.popitem (a
    plain dict's first key is found by skipping every one deleted before it).
    """
    seen.update(dict.fromkeys(keys[-limit:]))
    while len(seen) > limit:
        seen.popitem(last=False)
    return seen
