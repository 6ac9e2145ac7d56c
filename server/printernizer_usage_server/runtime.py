"""What the routes share while the app runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from printernizer_usage_server.clock import Clock
    from printernizer_usage_server.purge_task import PeriodicPurge
    from printernizer_usage_server.settings import Settings


@dataclass
class Runtime:
    """The settings and clock from the start, the database once the app has started."""

    settings: Settings
    clock: Clock
    # Set by the app's lifespan, before the first request is served.
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    purger: PeriodicPurge = field(init=False)
