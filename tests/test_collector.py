"""Counting new items the way Printernizer's lists allow, against the simulator."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import random
from typing import Literal

import aiohttp
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.printernizer_usage.api import PrinternizerClient
from custom_components.printernizer_usage.collector import (
    Collector,
    CollectorState,
    PollOutcome,
    error_dimension,
    remember,
)
from custom_components.printernizer_usage.const import (
    MAX_REMEMBERED_ITEMS,
    ErrorType,
    FeatureFlag,
    Listing,
    Metric,
    PrinterType,
)

from .hypothesis_profiles import examples
from .simulator.printernizer import PrinternizerSimulator

START = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
JOBS = (Metric.JOBS, "")
FILES = (Metric.FILES, "")
UPLOADS = (Metric.UPLOADS, "")
UPTIME = (Metric.UPTIME_HOURS, "")
PRINTER_ERRORS = (Metric.ERRORS, error_dimension(ErrorType.PRINTER_ERROR))


class Poller:
    """Polls like the coordinator does: collect, then commit what was saved."""

    def __init__(self, client: PrinternizerClient) -> None:
        """Start with nothing remembered."""
        self.client = client
        self.collector = Collector(CollectorState(salt=b"\x07" * 32))
        self.now = START

    async def poll(self, after: timedelta = timedelta(minutes=5)) -> PollOutcome:
        """Poll once, `after` the previous poll."""
        self.now += after
        outcome = await self.collector.async_poll(self.client, self.now)
        self.collector.commit(outcome)
        return outcome


@pytest.fixture
async def poller(printernizer: PrinternizerSimulator) -> AsyncIterator[Poller]:
    """Return a poller for the simulator."""
    async with aiohttp.ClientSession() as session:
        yield Poller(PrinternizerClient(session, printernizer.url))


ALLOWED_PATHS = {
    "/api/v1/health",
    "/api/v1/debug/system-info",
    "/api/v1/printers",
    "/api/v1/settings/printers",
    "/api/v1/jobs",
    "/api/v1/files",
    "/api/v1/library/files",
    "/api/v1/settings/application",
    "/api/v1/settings/watch-folders",
}


async def test_poll_uses_only_the_allowed_endpoints(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """A poll reads the documented endpoints and nothing else (no hidden calls)."""
    await poller.poll()
    printernizer.add_job()
    await poller.poll()
    assert set(printernizer.requests) == ALLOWED_PATHS
    assert len(printernizer.requests) == 2 * 9


async def test_first_poll_learns_the_baseline(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """What Printernizer already lists at setup is not counted as new."""
    first = await poller.poll()
    assert first.increments == {UPTIME: 1}
    assert first.baselines == {*Listing, "printers"}
    printernizer.add_job()
    printernizer.add_job()
    printernizer.add_file()
    printernizer.add_upload()
    second = await poller.poll()
    assert second.increments == {JOBS: 2, FILES: 1, UPLOADS: 1}
    assert second.baselines == frozenset()


async def test_items_are_counted_once(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Seeing an item again, on any later poll, never counts it again."""
    await poller.poll()
    printernizer.add_job()
    assert (await poller.poll()).increments == {JOBS: 1}
    assert (await poller.poll()).increments == {}


async def test_jobs_stuck_running_are_counted(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """A job counts when it appears, whatever its status ever becomes."""
    await poller.poll()
    printernizer.add_job(status="running")
    printernizer.add_job(status="pending")
    assert (await poller.poll()).increments == {JOBS: 2}


async def test_counting_across_a_wiped_history(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """A Printernizer restart that deletes all jobs neither loses nor invents any."""
    await poller.poll()
    printernizer.add_job()
    assert (await poller.poll()).increments == {JOBS: 1}
    printernizer.wipe_jobs()
    assert (await poller.poll()).increments == {}
    for _ in range(3):
        printernizer.add_job()
    assert (await poller.poll()).increments == {JOBS: 3}


async def test_baseline_knows_older_items_that_move_up(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """After newer jobs are deleted, older ones on page one are not new."""
    for _ in range(150):
        printernizer.add_job()
    await poller.poll()
    printernizer.wipe_jobs(newest=100)
    assert (await poller.poll()).increments == {}


async def test_a_failing_part_does_not_lose_the_rest(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """One broken route is counted as an error; everything else still counts."""
    await poller.poll()
    printernizer.fail("500", "/api/v1/settings/watch-folders", times=2)
    printernizer.fail("500", "/api/v1/printers")
    printernizer.add_job()
    outcome = await poller.poll()
    server_errors = (Metric.ERRORS, error_dimension(ErrorType.SERVER_ERROR))
    assert outcome.increments == {JOBS: 1, server_errors: 2}
    assert outcome.errors == (ErrorType.SERVER_ERROR, ErrorType.SERVER_ERROR)
    assert outcome.fleet is None
    assert outcome.printers_in_error is None
    assert outcome.flags == {}
    before = poller.collector.state.printers_in_error
    printernizer.set_printer_status(printernizer.printers[0], "error")
    outcome = await poller.poll()
    assert outcome.increments == {server_errors: 1, PRINTER_ERRORS: 1}
    assert poller.collector.state.printers_in_error != before


async def test_a_failing_list_keeps_its_place(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Items of a list that failed to read are counted at the next poll, once."""
    await poller.poll()
    for _ in range(150):
        printernizer.add_upload()
    printernizer.fail("truncated", "/api/v1/library/files")
    outcome = await poller.poll()
    assert UPLOADS not in outcome.increments
    assert outcome.errors == (ErrorType.INVALID_RESPONSE,)
    assert (await poller.poll()).increments == {UPLOADS: 150}


async def test_a_list_this_printernizer_lacks(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """An older Printernizer without a list: skipped, not an error, baseline later."""
    printernizer.fail("404", "/api/v1/library/files")
    outcome = await poller.poll()
    assert Listing.UPLOADS not in outcome.baselines
    assert outcome.errors == ()
    printernizer.add_upload()
    assert UPLOADS not in (await poller.poll()).increments  # learns it now
    printernizer.add_upload()
    assert (await poller.poll()).increments == {UPLOADS: 1}


async def test_rate_limited_backlog_is_counted(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """A backlog deeper than Printernizer's burst limit is still read in one poll."""
    await poller.poll()
    for _ in range(1500):
        printernizer.add_job()
    printernizer.rate_limit = True
    outcome = await poller.poll()
    assert outcome.increments[JOBS] == 1500
    assert outcome.errors == ()


async def test_reads_further_pages_only_while_needed(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Pages are read until one holds a known item, so cost follows new items."""
    await poller.poll()
    for _ in range(250):
        printernizer.add_job()
    printernizer.requests.clear()
    assert (await poller.poll()).increments == {JOBS: 250}
    assert printernizer.requests.count("/api/v1/jobs") == 3
    printernizer.add_job()
    printernizer.requests.clear()
    assert (await poller.poll()).increments == {JOBS: 1}
    assert printernizer.requests.count("/api/v1/jobs") == 1


async def test_poll_cost_does_not_grow_with_history(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """With 2,000 jobs listed, a quiet poll after the baseline reads one page."""
    for _ in range(2000):
        printernizer.add_job()
    await poller.poll()
    printernizer.requests.clear()
    await poller.poll()
    assert printernizer.requests.count("/api/v1/jobs") == 1
    assert printernizer.requests.count("/api/v1/files") == 1  # the downloads
    assert printernizer.requests.count("/api/v1/library/files") == 1


async def test_same_second_items_below_a_known_one(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Jobs of the same second are listed oldest first: a new one can sit below."""
    printernizer.wipe_jobs()
    printernizer.add_job(created_at="2026-11-25T10:00:00")
    await poller.poll()
    new = printernizer.add_job(created_at="2026-11-25T10:00:00")
    assert printernizer.jobs[-1] is new
    assert (await poller.poll()).increments == {JOBS: 1}


async def test_local_time_stamps_interleave(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Auto-created jobs stamped in local time sort above newer UTC jobs."""
    printernizer.wipe_jobs()
    for minute in range(10):
        printernizer.add_job(created_at=f"2026-11-25T11:{minute:02}:00.123456")
    await poller.poll()
    printernizer.add_job(created_at="2026-11-25T10:30:00")
    printernizer.add_job(created_at="2026-11-25T11:30:00.654321")
    assert (await poller.poll()).increments == {JOBS: 2}


async def _mixed_stamps_day(
    poller: Poller, printernizer: PrinternizerSimulator, old_jobs: int
) -> int:
    """Play the day measured on Printernizer 2.42.0; return the jobs requests.

    After `old_jobs` of history, printer monitoring makes a job at 08:00 (its
    stamp in local time, UTC+1, with a `T`); later 110 jobs come through the
    API (UTC, with a space) and sort below it, although they are newer.
    """
    printernizer.wipe_jobs()
    printernizer.set_clock(START.replace(hour=0) - timedelta(days=30))
    printernizer.add_history(jobs=old_jobs)
    await poller.poll()
    printernizer.local_offset = timedelta(hours=1)
    printernizer.set_clock(START.replace(hour=8, minute=0))
    printernizer.add_job()
    assert (await poller.poll()).increments == {JOBS: 1}
    for _ in range(110):
        printernizer.add_job(created_by="api")
    assert printernizer.jobs[0].created_at.startswith(f"{START.date()}T09:00")
    printernizer.requests.clear()
    assert (await poller.poll()).increments == {JOBS: 110}
    return printernizer.requests.count("/api/v1/jobs")


async def test_jobs_below_a_known_job_of_the_same_day(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """The two stamp formats sort as text: every new job of the day still counts."""
    assert await _mixed_stamps_day(poller, printernizer, old_jobs=300) == 2


async def test_mixed_stamps_cost_ignores_history(
    printernizer: PrinternizerSimulator,
) -> None:
    """Reading on through recent days costs the same after 300 or 3,000 old jobs."""
    requests = []
    for old_jobs in (300, 3000):
        async with aiohttp.ClientSession() as session:
            poller = Poller(PrinternizerClient(session, printernizer.url))
            requests.append(await _mixed_stamps_day(poller, printernizer, old_jobs))
    assert requests == [2, 2]


@pytest.mark.parametrize("restarted", [False, True])
async def test_new_jobs_below_known_ones_after_days_away(
    poller: Poller, printernizer: PrinternizerSimulator, restarted: bool
) -> None:
    """After days without a poll, the days since the last read are still recent.

    A page of known monitoring jobs of that day sits above the API jobs made
    after the last read; days later, that day is no longer today or yesterday.
    """
    printernizer.wipe_jobs()
    printernizer.set_clock(poller.now.replace(hour=1))
    for _ in range(150):
        printernizer.add_job()
    await poller.poll()
    for _ in range(30):
        printernizer.add_job(created_by="api")
    assert " " in printernizer.jobs[150].created_at  # below the known page
    if restarted:
        state = poller.collector.state
        poller.collector = Collector(
            CollectorState(
                salt=state.salt,
                seen=state.seen,
                baselines=state.baselines,
                last_uptime_hour=state.last_uptime_hour,
            )
        )
    assert (await poller.poll(after=timedelta(days=4))).increments[JOBS] == 30


async def test_a_list_that_failed_for_days_reads_from_its_last_read(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Jobs made while the list failed, below a known job of that day, still count.

    The rest of Printernizer answered, so polls went on; the list's own last
    read (which the store keeps across restarts) decides what is recent.
    """
    printernizer.wipe_jobs()
    printernizer.set_clock(poller.now - timedelta(days=30))
    printernizer.add_history(jobs=300)
    await poller.poll()
    printernizer.local_offset = timedelta(hours=10)
    printernizer.set_clock(poller.now.replace(hour=9, minute=0))
    printernizer.add_job()
    assert (await poller.poll()).increments == {JOBS: 1}
    printernizer.fail("500", "/api/v1/jobs", times=10**6)
    printernizer.set_clock(poller.now.replace(hour=11))
    for _ in range(120):
        printernizer.add_job(created_by="api")  # that day, sorting below it
    await poller.poll(after=timedelta(days=1))
    printernizer.set_clock(poller.now)
    for _ in range(60):
        printernizer.add_job()
    await poller.poll(after=timedelta(days=1))
    with printernizer.lock:
        printernizer.faults.clear()
    state = poller.collector.state
    poller.collector = Collector(  # a restart: what the store kept
        CollectorState(
            salt=state.salt,
            seen=state.seen,
            baselines=state.baselines,
            printers_in_error=state.printers_in_error,
            last_uptime_hour=state.last_uptime_hour,
            last_read=state.last_read,
        )
    )
    assert (await poller.poll()).increments == {JOBS: 180}


async def test_a_clock_far_ahead_costs_no_more_with_history(
    printernizer: PrinternizerSimulator,
) -> None:
    """Stamps a month ahead are no recent day: a quiet poll reads one page."""
    pages = []
    for old_jobs in (300, 3000):
        async with aiohttp.ClientSession() as session:
            poller = Poller(PrinternizerClient(session, printernizer.url))
            printernizer.wipe_jobs()
            printernizer.set_clock(poller.now + timedelta(days=30))
            printernizer.add_history(jobs=old_jobs)
            await poller.poll()
            printernizer.requests.clear()
            await poller.poll()
            pages.append(printernizer.requests.count("/api/v1/jobs"))
    assert pages == [1, 1]


# Between two polls: how long, and how many jobs monitoring and the API make.
_BETWEEN_POLLS = st.tuples(
    st.sampled_from(
        [timedelta(minutes=5), timedelta(hours=5), timedelta(days=1), timedelta(days=3)]
    ),
    st.integers(0, 160),
    st.integers(0, 160),
)


@settings(
    max_examples=examples(25),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    local_hours=st.integers(-12, 14),
    old_jobs=st.integers(0, 250),
    between_polls=st.lists(_BETWEEN_POLLS, min_size=1, max_size=4),
    shuffler=st.randoms(use_true_random=False),
)
def test_every_job_counts_once_under_text_order(
    printernizer: PrinternizerSimulator,
    local_hours: int,
    old_jobs: int,
    between_polls: list[tuple[timedelta, int, int]],
    shuffler: random.Random,
) -> None:
    """In any time zone, with both stamp formats mixed, each new job counts once."""

    async def play() -> None:
        async with aiohttp.ClientSession() as session:
            poller = Poller(PrinternizerClient(session, printernizer.url))
            printernizer.wipe_jobs()
            printernizer.local_offset = timedelta(hours=local_hours)
            printernizer.set_clock(poller.now - timedelta(days=20))
            printernizer.add_history(jobs=old_jobs)
            await poller.poll()
            for gap, by_monitor, by_api in between_polls:
                # Made after the last poll and before the next, interleaved.
                printernizer.set_clock(poller.now + timedelta(seconds=1))
                makers: list[Literal["monitor", "api"]] = ["monitor"] * by_monitor
                makers += ["api"] * by_api
                shuffler.shuffle(makers)
                for made_by in makers:
                    printernizer.add_job(created_by=made_by)
                outcome = await poller.poll(after=gap)
                assert outcome.increments.get(JOBS, 0) == by_monitor + by_api

    asyncio.run(play())


async def test_duplicates_within_one_poll(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """An item seen on two pages while the list shifts is counted once."""
    await poller.poll()
    printernizer.wipe_jobs()
    jobs = [printernizer.add_job() for _ in range(150)]
    # Page one as read before five jobs were deleted: page two then repeats
    # jobs 45-49, and jobs 145-149 are not listed at all.
    page_one = [{"id": job.id} for job in reversed(jobs[45:145])]
    printernizer.fail(
        "json",
        "/api/v1/jobs",
        body={"jobs": page_one, "pagination": {"total_pages": 2}},
    )
    outcome = await poller.poll()
    assert outcome.increments[JOBS] == 145


async def test_printer_errors_and_no_failed_downloads(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """Printers count when they enter error; files marked failed are not read.

    Printernizer never marks a file as failed (a failed download is answered
    503 and the file stays available), so that list is not polled at all.
    """
    bambu = printernizer.printers[0]
    printernizer.set_printer_status(printernizer.printers[1], "error")
    printernizer.add_file(status="error")
    assert PRINTER_ERRORS not in (await poller.poll()).increments
    printernizer.set_printer_status(bambu, "error")
    printernizer.add_file(status="error")
    requests = len(printernizer.requests)
    outcome = await poller.poll()
    assert outcome.increments == {PRINTER_ERRORS: 1}
    # One file list a poll: the downloaded files.
    assert printernizer.requests[requests:].count("/api/v1/files") == 1
    assert (await poller.poll()).increments == {}
    printernizer.set_printer_status(bambu, "online")
    await poller.poll()
    printernizer.set_printer_status(bambu, "error")
    assert (await poller.poll()).increments == {PRINTER_ERRORS: 1}


async def test_uptime_counts_hours_with_a_poll(poller: Poller) -> None:
    """Each UTC hour with at least one successful poll counts once."""
    assert (await poller.poll()).increments == {UPTIME: 1}  # 10:10
    assert (await poller.poll(timedelta(minutes=45))).increments == {}  # 10:55
    assert (await poller.poll(timedelta(minutes=10))).increments == {UPTIME: 1}
    assert (await poller.poll(timedelta(hours=5))).increments == {UPTIME: 1}


async def test_fleet_flags_and_versions(poller: Poller) -> None:
    """The outcome carries types, flags and versions, in vocabulary terms only."""
    outcome = await poller.poll()
    assert outcome.fleet == {
        PrinterType.BAMBU_LAB: 1,
        PrinterType.PRUSA: 1,
        PrinterType.OCTOPRINT: 1,
    }
    assert outcome.flags[FeatureFlag.WATCH_FOLDERS] is True
    assert outcome.app_version == "2.42.0"
    assert outcome.runtime.python_version == "3.12.1"


async def test_remembered_items_are_bounded(
    poller: Poller, printernizer: PrinternizerSimulator
) -> None:
    """At most 5,000 ids per list are remembered, the oldest forgotten first."""
    await poller.poll()
    for _ in range(MAX_REMEMBERED_ITEMS + 300):
        printernizer.add_upload()
    outcome = await poller.poll()
    # Reading stops at 5,000 new items, as more could not be told apart.
    assert outcome.increments[UPLOADS] == MAX_REMEMBERED_ITEMS
    seen = poller.collector.state.seen[Listing.UPLOADS]
    assert len(seen) == MAX_REMEMBERED_ITEMS
    newest = await poller.client.async_item_page(
        Listing.UPLOADS, 1, poller.collector._keyer
    )
    assert set(newest.keys) <= set(seen)
    assert (await poller.poll()).increments == {}


@given(
    st.lists(st.binary(min_size=8, max_size=8), unique=True, max_size=40),
    st.lists(st.binary(min_size=8, max_size=8), unique=True, max_size=40),
    st.integers(min_value=1, max_value=50),
)
def test_remember_keeps_the_newest(
    old: list[bytes], new: list[bytes], limit: int
) -> None:
    """The remembered set never exceeds its bound and keeps the newest keys."""
    old = old[-limit:]
    new = [key for key in new if key not in old]
    merged = remember(OrderedDict.fromkeys(old), tuple(new), limit)
    everything = old + new
    assert list(merged) == everything[-limit:]
