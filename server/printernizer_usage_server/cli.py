"""The command line: serve, migrate, purge."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

import uvicorn

from printernizer_usage_server import storage
from printernizer_usage_server.app import create_app
from printernizer_usage_server.clock import read_clock, utc_now
from printernizer_usage_server.database import create_engine, session_factory
from printernizer_usage_server.logging_policy import configure_cli_logging
from printernizer_usage_server.migration import upgrade_to_head
from printernizer_usage_server.server import (
    NotLoopbackError,
    check_loopback,
    uvicorn_config,
)
from printernizer_usage_server.settings import Settings, SettingsError

if TYPE_CHECKING:
    from collections.abc import Sequence

# What argparse returns for a usage error too.
USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process's exit status."""
    arguments = _parser().parse_args(argv)
    configure_cli_logging()
    try:
        settings = Settings.from_environ()
        if arguments.command == "serve":
            check_loopback(arguments.host)
    except (SettingsError, NotLoopbackError) as error:
        print(f"printernizer-usage-server: {error}", file=sys.stderr)  # noqa: T201
        return USAGE_ERROR
    if arguments.command == "serve":
        config = uvicorn_config(create_app(settings), arguments.host, arguments.port)
        uvicorn.Server(config).run()
    elif arguments.command == "migrate":
        asyncio.run(_migrate(settings))
    else:
        purged = asyncio.run(_purge(settings))
        print(purged)  # noqa: T201
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printernizer-usage-server",
        description="Collection server for Printernizer's usage statistics.",
        epilog="Settings come from PNZ_USAGE_* environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database, then serve HTTP")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="loopback address to listen on (no other until TLS arrives)",
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port")
    commands.add_parser("migrate", help="upgrade the database to the newest schema")
    commands.add_parser(
        "purge", help="drop weeks past the retention once; print how many went"
    )
    return parser


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _purge(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        # A purge on a database not yet migrated would find no table.
        await upgrade_to_head(engine)
        return await storage.purge(
            session_factory(engine), read_clock(utc_now), settings.retention_days
        )
    finally:
        await engine.dispose()
