"""Bring a database to the newest schema revision with Alembic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

# Found inside the package, so that an installed wheel migrates as a checkout does.
SCRIPT_LOCATION: Final = "printernizer_usage_server:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic configuration; env.py runs on `connection`."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Apply every migration the database lacks, in one transaction."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
