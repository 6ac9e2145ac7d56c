"""Local statistics in one SQLite file per config entry.

Activity is kept as day buckets (UTC day, metric, dimension, count), never as
events, so the file grows with days and not with printing. Every method of
`LocalStatisticsStore` blocks; Home Assistant reaches it only through
`store_worker.StoreWorker`, which runs it on a thread of its own.
"""

from __future__ import annotations

from .database import day_number
from .local_store import LocalStatisticsStore
from .recovery import (
    StoreSchemaTooNewError,
    delete_store_files,
    is_corruption,
    moved_aside_copies,
)
from .schema import SCHEMA_VERSION
from .sharing_rows import LoggedAttempt, SharingRecord
from .statistics import StatisticsView

__all__ = [
    "SCHEMA_VERSION",
    "LocalStatisticsStore",
    "LoggedAttempt",
    "SharingRecord",
    "StatisticsView",
    "StoreSchemaTooNewError",
    "day_number",
    "delete_store_files",
    "is_corruption",
    "moved_aside_copies",
]
