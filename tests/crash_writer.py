"""Writers of the store that a test kills at random moments.

Step n records a poll that counts one new job, then saves an outbox in which
week n has just been sent and week n + 1 is in flight; only after both are
committed does the writer print n. A test kills it at a random moment and
checks that the file holds step n, or step n + 1 in full or in part, and
nothing else.

Run: python -m tests.crash_writer. It imports the integration once, then, for
each file path read from standard input, forks a writer for that file. The
writer prints `started <pid>` and its steps; once the writer has died, this
process prints `done`. Forking keeps each trial's time on writing, not on
starting an interpreter and importing Home Assistant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import os
from pathlib import Path
import sys
import traceback

from custom_components.printernizer_usage.collector import PollOutcome
from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.const import Listing, Metric
from custom_components.printernizer_usage.outbox import (
    AttemptResult,
    Outbox,
    WeeklyRow,
    WeeklyStatus,
)
from custom_components.printernizer_usage.store import LocalStatisticsStore

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
FIRST_WEEK = date(2026, 1, 5)
INSTALLATION_ID = "0f8b6e6a-3c1e-4d7b-9a51-2f4c8d9e1a23"
ENDPOINT = "https://collection.invalid"


def week_row(week: int, status: WeeklyStatus) -> WeeklyRow:
    """Return the row of the week-th week, sent or in flight."""
    sent = status is WeeklyStatus.SENT
    return WeeklyRow(
        period_start=FIRST_WEEK + timedelta(weeks=week),
        installation_id=INSTALLATION_ID,
        body=b'{"schema_version":"1.0","week":%d}' % week,
        due_at=START,
        status=status,
        attempts=1,
        last_result=AttemptResult.ACCEPTED if sent else None,
        endpoints=(ENDPOINT,),
    )


def outbox_after(step: int) -> Outbox:
    """Return the outbox as step `step` leaves it."""
    sent = tuple(week_row(week, WeeklyStatus.SENT) for week in range(step))
    in_flight = week_row(step, WeeklyStatus.IN_FLIGHT)
    return Outbox(weekly=(*sent, in_flight), last_weekly_request_at=START)


def say(line: str) -> None:
    """Write one line of the protocol in a single system call.

    One short write to a pipe is atomic, so a kill never leaves half a line.
    print() would not do: unbuffered (PYTHONUNBUFFERED), it writes the text
    and the line end separately, and a kill between them glued the step to
    the server's "done" ("67done"), which hung the test.
    """
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def write_until_killed(path: Path) -> None:
    """Write steps to the file at `path` until killed."""
    say(f"started {os.getpid()}")
    store, _ = LocalStatisticsStore.open(path, START)
    store.load_collector_state("crash")
    history = ConsentHistory().opt_in(START - timedelta(weeks=52), 1)
    for step in range(1, 1_000_000):
        now = START + timedelta(seconds=step)
        store.record_poll(
            PollOutcome(
                observed_at=now,
                increments={(Metric.JOBS, ""): 1},
                errors=(),
                new_keys={Listing.JOBS: (step.to_bytes(8, "big"),)},
                baselines=frozenset(),
                printers_in_error=frozenset(),
                uptime_hour=now.replace(minute=0, second=0),
                fleet=None,
                flags={},
                app_version="2.7.0",
                runtime=None,
            )
        )
        store.save_sharing(history, outbox_after(step))
        say(str(step))


def serve() -> None:
    """Fork a writer for each path on standard input; say when it has died."""
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                write_until_killed(Path(line.strip()))
            except Exception:  # noqa: BLE001 - shown, then the writer ends
                traceback.print_exc()
            finally:
                os._exit(1)
        os.waitpid(pid, 0)
        say("done")


if __name__ == "__main__":
    serve()
