"""The command line: serve, migrate, purge."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import sys
from typing import TYPE_CHECKING

import uvicorn

from printernizer_usage_server.app import create_app
from printernizer_usage_server.clock import utc_now
from printernizer_usage_server.database import create_engine, session_factory
from printernizer_usage_server.logging_policy import configure_cli_logging
from printernizer_usage_server.migration import upgrade_to_head
from printernizer_usage_server.purge_task import PeriodicPurge
from printernizer_usage_server.server import (
    NotLoopbackError,
    Tls,
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
    arguments = parse_arguments(argv)
    configure_cli_logging()
    try:
        settings = Settings.from_environ()
        tls = serving_tls(arguments) if arguments.command == "serve" else None
    except (SettingsError, NotLoopbackError, TlsFilesError) as error:
        print(f"printernizer-usage-server: {error}", file=sys.stderr)  # noqa: T201
        return USAGE_ERROR
    if arguments.command == "serve":
        config = uvicorn_config(
            create_app(settings),
            arguments.host,
            arguments.port,
            tls,
            settings.head_timeout_seconds,
        )
        uvicorn.Server(config).run()
    elif arguments.command == "migrate":
        asyncio.run(_migrate(settings))
    else:
        purged = asyncio.run(_purge(settings))
        print(purged)  # noqa: T201
    return 0


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the command line, parsed (argparse exits on a usage error)."""
    return _parser().parse_args(argv)


def serving_tls(arguments: argparse.Namespace) -> Tls | None:
    """Return the TLS `serve` speaks; refuse plain HTTP off loopback unless proxied."""
    tls = _tls(arguments)
    if tls is None and not arguments.behind_tls_proxy:
        check_loopback(arguments.host)
    return tls


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
        help="address to listen on; off loopback only with TLS or behind a TLS proxy",
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port")
    serve.add_argument("--certfile", type=Path, help="TLS certificate chain (PEM)")
    serve.add_argument("--keyfile", type=Path, help="TLS private key (PEM)")
    serve.add_argument(
        "--behind-tls-proxy",
        action="store_true",
        help="plain HTTP off loopback, for a reverse proxy that terminates TLS",
    )
    commands.add_parser("migrate", help="upgrade the database to the newest schema")
    commands.add_parser(
        "purge", help="drop weeks past the retention once; print how many went"
    )
    return parser


class TlsFilesError(ValueError):
    """A certificate without its key, or a key without its certificate."""


def _tls(arguments: argparse.Namespace) -> Tls | None:
    """Return the TLS files asked for; both or neither."""
    certfile, keyfile = arguments.certfile, arguments.keyfile
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        msg = "--certfile and --keyfile go together"
        raise TlsFilesError(msg)
    return Tls(certfile, keyfile)


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
        # The service's own run: it also clears what it deleted from the files.
        purge = PeriodicPurge(
            engine,
            session_factory(engine),
            utc_now,
            settings.retention_days,
            settings.purge_interval_seconds,
        )
        return await purge.run_once()
    finally:
        await engine.dispose()
