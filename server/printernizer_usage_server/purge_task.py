"""The periodic purge: drop weeks past the retention and stale acceptance times.

Each run then leaves no bytes of what was deleted in the database's files
(see compaction.py), so that a deletion's remnants are gone within one
interval, which is at most a day.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

from printernizer_usage_server import storage
from printernizer_usage_server.clock import Clock, read_clock
from printernizer_usage_server.compaction import (
    ALWAYS_REWRITTEN,
    REWRITTEN_AFTER_DELETIONS,
    rewrite_tables,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

LOGGER: Final = logging.getLogger("printernizer_usage_server.purge")


class PeriodicPurge:
    """Purge now and then every `interval_seconds`, using `clock` for the time."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        retention_days: int,
        interval_seconds: float,
    ) -> None:
        """Prepare the purge; nothing runs until run_once or run_forever."""
        self._engine = engine
        self._sessions = sessions
        self._clock = clock
        self._retention_days = retention_days
        self._interval_seconds = interval_seconds
        self._attempts = 0
        self._attempted = asyncio.Condition()
        # Deletions noted, and how many of them a finished rewrite covers. A
        # process that stopped before its rewrite may have left remnants: one
        # is owed from the start.
        self._deletions = 1
        self._deletions_rewritten = 0

    def note_deletion(self, deleted: int) -> None:
        """Remember that weeks were deleted, for the next run to rewrite."""
        if deleted:
            self._deletions += 1

    async def run_once(self) -> int:
        """Purge once, then clear what was deleted from the files; return the count."""
        try:
            purged = await storage.purge(
                self._sessions, read_clock(self._clock), self._retention_days
            )
            self.note_deletion(purged)
            # A deletion noted while the rewrite runs is left for the next one.
            covered = self._deletions
            tables: tuple[str, ...] = ALWAYS_REWRITTEN
            if covered > self._deletions_rewritten:
                tables += REWRITTEN_AFTER_DELETIONS
            await rewrite_tables(self._engine, tables)
            self._deletions_rewritten = covered
        finally:
            async with self._attempted:
                self._attempts += 1
                self._attempted.notify_all()
        if purged:
            # Only a purge that removed something is worth a line: however
            # short the interval, an idle service leaves the log alone.
            LOGGER.info("purge deleted=%d", purged)
        return purged

    async def run_forever(self) -> None:
        """Purge every interval until cancelled; a failed run does not stop the next."""
        while True:
            await asyncio.sleep(self._interval_seconds)
            try:
                await self.run_once()
            except Exception:
                # A database that is briefly unavailable must not end the
                # retention promise for the life of the process.
                LOGGER.exception("purge failed; trying again next interval")

    @property
    def attempts(self) -> int:
        """Return how many purges were attempted since start, failed ones too."""
        return self._attempts

    async def wait_for_attempts(self, count: int) -> None:
        """Return once `count` purges have been attempted since start."""
        async with self._attempted:
            await self._attempted.wait_for(lambda: self._attempts >= count)
