"""The project's collection server (server/), run as its own process on loopback.

It runs in its own venv (server/.venv, made by scripts/test on the primary
leg), since its SQLAlchemy and pydantic differ from Home Assistant's pins.
Where that venv does not exist (the secondary leg), the tests that need the
server skip, unless PNZ_USAGE_TEST_REQUIRE_SERVER says it must be there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
import os
from pathlib import Path
import socket
import ssl
import subprocess
import sys
from typing import Final

import aiohttp
import pytest

SERVER_FOLDER: Final = Path(__file__).parents[1] / "server"
SERVER_PYTHON: Final = SERVER_FOLDER / ".venv" / "bin" / "python"
REQUIRE_SERVER: Final = "PNZ_USAGE_TEST_REQUIRE_SERVER"
# Between two looks at whether the server answers yet; no limit on how many.
_READINESS_POLL_SECONDS: Final = 0.05


@dataclass(frozen=True)
class RealCollectionServer:
    """A running server: its address, its SQLite file and its log."""

    base_url: str
    database: Path
    log: Path

    def database_bytes(self) -> bytes:
        """Return the raw bytes of the database and any journal beside it."""
        files = sorted(self.database.parent.glob(self.database.name + "*"))
        return b"".join(path.read_bytes() for path in files)


def server_python() -> Path:
    """Return the server venv's interpreter, or skip (fail where it is required)."""
    if SERVER_PYTHON.exists():
        return SERVER_PYTHON
    message = f"the collection server's venv ({SERVER_PYTHON}) is not made here"
    if os.environ.get(REQUIRE_SERVER):
        pytest.fail(message)
    pytest.skip(f"{message}; scripts/test makes it on the primary leg")


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def running_collection_server(
    folder: Path,
    certfile: Path,
    keyfile: Path,
    trust: ssl.SSLContext,
    port: int | None = None,
) -> AsyncIterator[RealCollectionServer]:
    """Run the server over TLS with `certfile`, until the block ends.

    It is ready when /health answers over TLS that `trust` accepts.
    """
    python = server_python()
    port = port or free_loopback_port()
    database = folder / "collection.db"
    log = folder / "collection-server.log"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PNZ_USAGE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            "printernizer_usage_server",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--certfile",
            str(certfile),
            "--keyfile",
            str(keyfile),
            cwd=SERVER_FOLDER,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = RealCollectionServer(f"https://127.0.0.1:{port}", database, log)
    try:
        await _wait_until_serving(server, process, trust)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def _wait_until_serving(
    server: RealCollectionServer,
    process: asyncio.subprocess.Process,
    trust: ssl.SSLContext,
) -> None:
    connector = aiohttp.TCPConnector(ssl=trust)
    async with aiohttp.ClientSession(connector=connector) as session:
        while True:
            if process.returncode is not None:
                sys.stderr.write(server.log.read_text(errors="replace"))
                pytest.fail(f"the collection server exited with {process.returncode}")
            try:
                async with session.get(f"{server.base_url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(_READINESS_POLL_SECONDS)
