"""The project's collection server (server/), run as its own process on loopback.

It runs in its own venv (server/.venv, made by scripts/test on the primary
leg), since its SQLAlchemy and pydantic differ from Home Assistant's pins.
Where that venv does not exist (the secondary leg), the tests that need the
server skip, unless PNZ_USAGE_TEST_REQUIRE_SERVER says it must be there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
import os
from pathlib import Path
import ssl
import subprocess
import sys
import time
from typing import Final
import urllib.request

import aiohttp
import pytest

from tests.simulator.server import free_loopback_port

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


def _start(
    folder: Path, port: int, arguments: list[str], api_key: str | None
) -> tuple[subprocess.Popen[bytes], RealCollectionServer]:
    """Start `serve` with `arguments` on `port`; its output goes to a log file."""
    python = server_python()
    database = folder / "collection.db"
    log = folder / "collection-server.log"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PNZ_USAGE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    if api_key is not None:
        environment["PNZ_USAGE_API_KEYS"] = api_key
    scheme = "https" if "--certfile" in arguments else "http"
    with log.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
            [
                str(python),
                "-m",
                "printernizer_usage_server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *arguments,
            ],
            cwd=SERVER_FOLDER,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return process, RealCollectionServer(f"{scheme}://127.0.0.1:{port}", database, log)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    process.wait()


def _fail_if_exited(
    server: RealCollectionServer, process: subprocess.Popen[bytes]
) -> None:
    if process.poll() is not None:
        sys.stderr.write(server.log.read_text(errors="replace"))
        pytest.fail(f"the collection server exited with {process.returncode}")


@asynccontextmanager
async def running_collection_server(
    folder: Path, certfile: Path, keyfile: Path, trust: ssl.SSLContext
) -> AsyncIterator[RealCollectionServer]:
    """Run the server over TLS with `certfile`, until the block ends.

    It is ready when /health answers over TLS that `trust` accepts.
    """
    process, server = _start(
        folder,
        free_loopback_port(),
        ["--certfile", str(certfile), "--keyfile", str(keyfile)],
        None,
    )
    try:
        connector = aiohttp.TCPConnector(ssl=trust)
        async with aiohttp.ClientSession(connector=connector) as session:
            while True:
                _fail_if_exited(server, process)
                with suppress(aiohttp.ClientConnectionError):
                    async with session.get(f"{server.base_url}/health") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(_READINESS_POLL_SECONDS)
        yield server
    finally:
        _stop(process)


@contextmanager
def serving_collection_server(
    folder: Path, api_key: str
) -> Iterator[RealCollectionServer]:
    """Run the server on plain HTTP (loopback only) with `api_key`, once it is up."""
    process, server = _start(folder, free_loopback_port(), [], api_key)
    try:
        while True:
            _fail_if_exited(server, process)
            health = f"{server.base_url}/health"
            with suppress(OSError), urllib.request.urlopen(health) as answer:  # noqa: S310 - our loopback URL
                if answer.status == 200:
                    break
            time.sleep(_READINESS_POLL_SECONDS)
        yield server
    finally:
        _stop(process)
