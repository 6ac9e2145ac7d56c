"""The hand-written migrations create exactly what the models declare."""

from __future__ import annotations

from pathlib import Path
import sqlite3
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
from sqlalchemy.engine import Connection

from printernizer_usage_server.cli import main
from printernizer_usage_server.database import create_engine
from printernizer_usage_server.migration import alembic_config, upgrade_to_head
from printernizer_usage_server.models import Base
from tests.databases import DatabaseUnderTest


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(database: Path) -> set[str]:
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows} - {"sqlite_sequence"}
    finally:
        connection.close()


async def test_migrated_schema_matches_the_models(database: DatabaseUnderTest) -> None:
    """Alembic's comparison finds no difference after an upgrade to head."""
    engine = create_engine(database.url)
    try:
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()

    assert differences == []


async def test_upgrade_is_repeatable_and_downgrade_removes_everything(
    tmp_path: Path,
) -> None:
    """A second upgrade changes nothing; downgrading to base drops both tables."""
    database = tmp_path / "m.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "base")

    try:
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)
        assert _tables(database) == {
            "alembic_version",
            "submission",
            "recent_acceptance",
        }
        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
    finally:
        await engine.dispose()

    assert _tables(database) == {"alembic_version"}


def test_migrate_command_creates_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`printernizer-usage-server migrate` brings a new file to head."""
    database = tmp_path / "new.db"
    monkeypatch.setenv("PNZ_USAGE_DATABASE_URL", f"sqlite+aiosqlite:///{database}")

    assert main(["migrate"]) == 0

    assert _tables(database) == {"alembic_version", "submission", "recent_acceptance"}
