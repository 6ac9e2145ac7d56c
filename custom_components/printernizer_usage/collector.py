"""Turn what one poll of Printernizer shows into increments of the day buckets.

Printernizer's lists are newest first but have no date filter, their time stamps
mix UTC and local time, and a Printernizer restart can delete every job. So an
item is counted the first time its (salted, hashed) id is seen, never by time
stamp or by comparing totals. The first poll of each list only learns what is
already there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from .api import ItemKeyer, PrinternizerClient, RuntimeFacts
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
    # Per list, the remembered item keys, oldest first (dicts keep insertion order).
    seen: dict[Listing, dict[bytes, None]] = field(default_factory=dict)
    # Lists (and the printers) whose first poll has already learned the baseline.
    baselines: set[str] = field(default_factory=set)
    printers_in_error: frozenset[bytes] = frozenset()
    last_uptime_hour: datetime | None = None


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """Everything one successful poll adds; saved by the store in one transaction."""

    observed_at: datetime
    increments: dict[BucketKey, int]
    # Per list, keys seen for the first time, oldest first.
    new_keys: dict[Listing, tuple[bytes, ...]]
    baselines: frozenset[str]
    printers_in_error: frozenset[bytes]
    uptime_hour: datetime
    fleet: dict[PrinterType, int]
    flags: dict[FeatureFlag, bool]
    app_version: str
    runtime: RuntimeFacts


@dataclass(frozen=True, slots=True)
class FailedPoll:
    """A poll that did not get everything; only its error is counted."""

    observed_at: datetime
    error: ErrorType

    @property
    def increments(self) -> dict[BucketKey, int]:
        """Count the failure in the error vocabulary."""
        return {(Metric.ERRORS, error_dimension(self.error)): 1}


class Collector:
    """Reads one poll's worth of Printernizer state and says what is new."""

    def __init__(self, state: CollectorState) -> None:
        """Start from the state the store loaded."""
        self.state = state
        self._keyer = ItemKeyer(state.salt)

    async def async_poll(
        self, client: PrinternizerClient, now: datetime
    ) -> PollOutcome:
        """Read Printernizer; raises PrinternizerError when any request fails.

        Nothing is remembered here: `commit` does that once the store has saved
        the outcome, so a failed save can never lose or double an item.
        """
        app_version = await client.async_app_version()
        runtime = await client.async_runtime_facts()
        printers = await client.async_printers(self._keyer)
        new_keys: dict[Listing, tuple[bytes, ...]] = {}
        for listing in Listing:
            new_keys[listing] = await self._async_read_new_keys(client, listing)
        flags = await client.async_feature_flags()

        increments: Counter[BucketKey] = Counter()
        learned: frozenset[str] = frozenset(
            listing for listing in Listing if listing not in self.state.baselines
        )
        for listing, keys in new_keys.items():
            if listing in learned or not keys:
                continue
            if listing is Listing.FAILED_FILES:
                dimension = error_dimension(ErrorType.FILE_DOWNLOAD_FAILED)
                increments[Metric.ERRORS, dimension] += len(keys)
            else:
                increments[_LISTING_METRICS[listing], ""] += len(keys)

        in_error = frozenset(printer.key for printer in printers if printer.in_error)
        if PRINTERS_BASELINE in self.state.baselines:
            entered_error = len(in_error - self.state.printers_in_error)
            if entered_error:
                dimension = error_dimension(ErrorType.PRINTER_ERROR)
                increments[Metric.ERRORS, dimension] += entered_error
        else:
            learned |= {PRINTERS_BASELINE}

        uptime_hour = now.replace(minute=0, second=0, microsecond=0)
        if uptime_hour != self.state.last_uptime_hour:
            increments[Metric.UPTIME_HOURS, ""] += 1

        return PollOutcome(
            observed_at=now,
            increments=dict(increments),
            new_keys={listing: keys for listing, keys in new_keys.items() if keys},
            baselines=learned,
            printers_in_error=in_error,
            uptime_hour=uptime_hour,
            fleet=dict(Counter(printer.printer_type for printer in printers)),
            flags=flags,
            app_version=app_version,
            runtime=runtime,
        )

    async def _async_read_new_keys(
        self, client: PrinternizerClient, listing: Listing
    ) -> tuple[bytes, ...]:
        """Return the keys not seen before, oldest first.

        The whole first page is always read, since items of the same second and
        items stamped in local time break the newest-first order. A further page
        is read only while the page just read held no known item.
        """
        seen = self.state.seen.get(listing, {})
        fresh: dict[bytes, None] = {}
        for page_number in range(1, MAX_PAGES_PER_POLL + 1):
            page = await client.async_item_page(listing, page_number, self._keyer)
            page_held_known = False
            for key in page.keys:
                if key in seen:
                    page_held_known = True
                else:
                    fresh[key] = None
            learning_baseline = listing not in self.state.baselines
            if learning_baseline or page_held_known or not page.has_more:
                break
        return tuple(reversed(fresh))

    def commit(self, outcome: PollOutcome) -> None:
        """Remember what the store has just saved."""
        state = self.state
        for listing, keys in outcome.new_keys.items():
            state.seen[listing] = remember(state.seen.get(listing, {}), keys)
        state.baselines |= outcome.baselines
        state.printers_in_error = outcome.printers_in_error
        state.last_uptime_hour = outcome.uptime_hour


def remember(
    seen: dict[bytes, None],
    keys: tuple[bytes, ...],
    limit: int = MAX_REMEMBERED_ITEMS,
) -> dict[bytes, None]:
    """Add new keys to a remembered set, forgetting the oldest beyond the limit."""
    seen.update(dict.fromkeys(keys))
    excess = len(seen) - limit
    if excess > 0:
        return dict.fromkeys(list(seen)[excess:])
    return seen
