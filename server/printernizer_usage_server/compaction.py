"""Leave no bytes of deleted rows in the database's files.

SQLite overwrites a deleted row in place (secure_delete, see database.py),
but copies of an index entry that a page split or defragmentation left in a
page's free space stay: VACUUM writes the whole file anew. PostgreSQL only
marks a deleted or updated row dead; its bytes stay in the table's and its
indexes' files, and a plain VACUUM makes the space reusable without clearing
it. VACUUM FULL writes each table and its indexes into new files and removes
the old ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

# Rewritten at every periodic run: small (the last hour's installations), and
# every accepted week leaves a dead version of an acceptance time behind.
ALWAYS_REWRITTEN: Final = ("recent_acceptance",)
# Rewritten only after weeks were deleted: it holds every stored week.
REWRITTEN_AFTER_DELETIONS: Final = ("submission",)


async def rewrite_tables(engine: AsyncEngine, tables: Sequence[str]) -> None:
    """Rewrite `tables` on PostgreSQL; on SQLite, the whole file once weeks went."""
    if engine.dialect.name == "sqlite":
        if set(REWRITTEN_AFTER_DELETIONS) & set(tables):
            await _vacuum_sqlite(engine)
        return
    async with engine.connect() as connection:
        # VACUUM cannot run inside a transaction.
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql(f"VACUUM FULL {', '.join(tables)}")


async def _vacuum_sqlite(engine: AsyncEngine) -> None:
    # On the driver's own connection: every transaction through SQLAlchemy
    # begins at once (database.py), and VACUUM cannot run inside one.
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection  # aiosqlite's connection
        await driver.execute("VACUUM")
