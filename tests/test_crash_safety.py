"""Killing the process that writes the store never damages or confuses it."""

from __future__ import annotations

import os
from pathlib import Path
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from typing import IO

from custom_components.printernizer_usage.store import LocalStatisticsStore

from .crash_writer import START, outbox_after

TRIALS = 60
ROOT = Path(__file__).parent.parent


def written_steps(
    requests: IO[str], reports: IO[str], path: Path, rng: random.Random
) -> int:
    """Have a writer write `path`, SIGKILL it at a random moment; return its last step.

    The moment is drawn after the writer has finished its first step, so every
    trial kills it somewhere inside a later step.
    """
    requests.write(f"{path}\n")
    requests.flush()
    started, pid = reports.readline().split()
    assert started == "started", started
    first = reports.readline()
    assert first.strip() == "1", first
    # Not time.sleep: the suite's blocking-call detection watches this thread.
    threading.Event().wait(rng.uniform(0, 0.05))
    os.kill(int(pid), signal.SIGKILL)
    steps = ["1"]
    while (line := reports.readline().strip()) != "done":
        assert line, "the writer server ended early"
        steps.append(line)
    return int(steps[-1])


def jobs_counted(path: Path) -> int:
    """Return the jobs the file has counted, read without the integration."""
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (total,) = connection.execute(
            "SELECT COALESCE(SUM(count), 0) FROM day_bucket WHERE metric = 'jobs'"
        ).fetchone()
    finally:
        connection.close()
    return int(total)


def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """Integrity holds; counts and outbox are the last step's or the next one's."""
    rng = random.Random(20261127)  # fixed, so a failure can be repeated
    with subprocess.Popen(
        [sys.executable, "-m", "tests.crash_writer"],
        cwd=ROOT,
        # Without coverage's subprocess hook: killed writers report nothing.
        env={k: v for k, v in os.environ.items() if not k.startswith("COV_CORE")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdin is not None
        assert server.stdout is not None
        for trial in range(TRIALS):
            path = tmp_path / f"trial-{trial}.db"
            acknowledged = written_steps(server.stdin, server.stdout, path, rng)
            counted = jobs_counted(path)
            # The step in flight may have committed its poll, its outbox, or both.
            assert counted in (acknowledged, acknowledged + 1), (trial, acknowledged)
            store, moved_aside = LocalStatisticsStore.open(path, START)
            try:
                assert moved_aside is None
                outbox = store.load_sharing().outbox
            finally:
                store.close()
            assert outbox.weekly in (
                outbox_after(counted - 1).weekly,
                outbox_after(counted).weekly,
            ), (trial, acknowledged, counted)
        server.stdin.close()
        assert server.wait() == 0
