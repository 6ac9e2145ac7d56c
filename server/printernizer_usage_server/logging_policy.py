"""Which loggers may speak, and how the command line sets logging up."""

from __future__ import annotations

import logging
from typing import Final

LOGGER_NAME: Final = "printernizer_usage_server"
# At DEBUG these write SQL parameters and result rows (aiosqlite shows each
# call with its arguments), which hold installation ids. Raising the root
# logger's level for a look must not put ids into the logs.
_DATA_LOGGERS: Final = ("aiosqlite", "sqlalchemy")


# uvicorn writes an access line (client address, full path and query) as soon
# as this logger has a handler; access_log=False only removes its handlers.
_ACCESS_LOGGER: Final = "uvicorn.access"


def guard_loggers() -> None:
    """Keep data loggers at WARNING or above, and uvicorn's access log off."""
    for name in _DATA_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    logging.getLogger(_ACCESS_LOGGER).disabled = True


def configure_cli_logging() -> None:
    """Send INFO and above to standard error, one line per record, with no time.

    A deletion's line names its day and no more; a time of day beside it, or
    beside each accepted week, would be more than the service keeps.
    """
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s %(message)s",
    )
    guard_loggers()
