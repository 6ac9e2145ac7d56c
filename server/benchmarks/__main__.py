"""Run the collection server's benchmarks on SQLite and PostgreSQL; print the table.

    python -m benchmarks [--rows 1000000] [--baseline-rows 10000] [--weeks 2000]

Exits 1 when a deletion or a purge at --rows costs more than LIMIT times
the same at --baseline-rows. Ingest and compaction are printed, not judged:
ingest is read against the HTTP floor, and a compaction rewrites the whole
table by design (at most once a day, see compaction.py).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
import shutil
import sys
import tempfile
from typing import Final

from printernizer_usage_server.database import create_engine
from printernizer_usage_server.migration import upgrade_to_head
from tests.databases import PostgresCluster

from . import ingest, stored_rows
from .table import Row, print_table

# The largest ratio of a deletion's or a purge's cost at --rows to its cost at
# --baseline-rows: both go through indexes, so the table's size barely counts.
LIMIT: Final = 3.0
# Generous: a SQLite file and a PostgreSQL database of the size asked, together.
BYTES_PER_ROW_ON_DISK: Final = 2_000


@dataclass(frozen=True)
class Database:
    """A fresh, empty database of one engine."""

    url: str
    sqlite_path: Path | None = None
    postgres_name: str | None = None


class Databases:
    """Fresh databases on demand: SQLite files and a durable PostgreSQL cluster."""

    def __init__(self, folder: Path, cluster: PostgresCluster) -> None:
        """Make databases in `folder` and in `cluster`."""
        self._folder = folder
        self.cluster = cluster
        self._files = 0

    @asynccontextmanager
    async def fresh(self, engine: str) -> AsyncIterator[Database]:
        """Yield an empty database of `engine`, dropped afterwards."""
        if engine == "sqlite":
            self._files += 1
            path = self._folder / f"bench-{self._files}.db"
            try:
                yield Database(f"sqlite+aiosqlite:///{path}", sqlite_path=path)
            finally:
                for file in self._folder.glob(path.name + "*"):
                    file.unlink()
            return
        database = self.cluster.new_database()
        try:
            yield Database(database.url, postgres_name=database.name)
        finally:
            self.cluster.drop_database(database)


async def stored_row_costs(
    databases: Databases, engine: str, count: int
) -> stored_rows.Costs:
    """Load `count` weeks into a fresh database of `engine`, then measure."""
    today = datetime.now(UTC).date()
    async with databases.fresh(engine) as database:
        server_engine = create_engine(database.url)
        try:
            await upgrade_to_head(server_engine)
            if database.sqlite_path is not None:
                stored_rows.load_sqlite(database.sqlite_path, count, today)
            elif database.postgres_name is not None:
                connection = await databases.cluster.connect(database.postgres_name)
                try:
                    await stored_rows.load_postgresql(connection, count, today)
                finally:
                    await connection.close()
            return await stored_rows.measure(server_engine, count, today)
        finally:
            await server_engine.dispose()


async def run(
    arguments: argparse.Namespace, databases: Databases, folder: Path
) -> list[Row]:
    """Measure every figure on both engines."""
    table = []
    size, baseline = f"{arguments.rows:,}", f"{arguments.baseline_rows:,}"
    expired = stored_rows.EXPIRED_ROWS
    for engine, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        async with databases.fresh(engine) as database:
            accepted, health = await ingest.rates(
                database.url, folder / f"serve-{engine}.log", arguments.weeks
            )
        table.append(
            Row(f"{name}: weeks accepted/s (vs /health/s)", accepted, health, "/s")
        )
        small = await stored_row_costs(databases, engine, arguments.baseline_rows)
        large = await stored_row_costs(databases, engine, arguments.rows)
        table += [
            Row(
                f"{name}: one deletion at {size} (vs {baseline})",
                large.deletion * 1e3,
                small.deletion * 1e3,
                "ms",
                LIMIT,
            ),
            Row(
                f"{name}: a purge of {expired} at {size} (vs {baseline})",
                large.purge * 1e3,
                small.purge * 1e3,
                "ms",
                LIMIT,
            ),
        ]
        table.append(
            Row(
                f"{name}: compaction at {size} (vs {baseline})",
                large.compaction * 1e3,
                small.compaction * 1e3,
                "ms",
            )
        )
    return table


def main() -> int:
    """Check the disk, start PostgreSQL, measure, print; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="stored weeks, the large size"
    )
    parser.add_argument(
        "--baseline-rows", type=int, default=10_000, help="stored weeks, the baseline"
    )
    parser.add_argument(
        "--weeks", type=int, default=2_000, help="weeks sent through HTTP per engine"
    )
    arguments = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pnz-server-bench-"))
    needed = arguments.rows * BYTES_PER_ROW_ON_DISK
    free = shutil.disk_usage(folder).free
    if free < needed:
        print(
            f"needs {needed / 1e9:.1f} GB free in {folder}, has {free / 1e9:.1f} GB",
            file=sys.stderr,
        )
        return 2
    cluster = PostgresCluster(durable=True)
    cluster.start()
    try:
        rows = asyncio.run(run(arguments, Databases(folder, cluster), folder))
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print_table(rows)
    return 0 if all(row.within for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
