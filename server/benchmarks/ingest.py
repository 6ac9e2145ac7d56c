"""Ingest through the real HTTP service: weeks accepted per second.

The baseline is the same process answering GET /health, which costs the
HTTP stack and no database; the figure is what storing a week adds to that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
import os
from pathlib import Path
import socket
import subprocess
import sys
import time
from typing import Final
import uuid

import httpx

from tests.payloads import week

SERVER_FOLDER: Final = Path(__file__).parents[1]
# Requests in flight at once, as from many installations.
CONCURRENCY: Final = 8
READINESS_POLL_SECONDS: Final = 0.1
# A hang guard, not a speed limit.
HANG_GUARD: Final = httpx.Timeout(120)


@asynccontextmanager
async def serving(database_url: str, log: Path) -> AsyncIterator[str]:
    """Run `serve` on loopback with `database_url`; yield its URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PNZ_USAGE_DATABASE_URL": database_url,
    }
    command = [
        sys.executable,
        "-m",
        "printernizer_usage_server",
        "serve",
        "--port",
        str(port),
    ]
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=SERVER_FOLDER,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=HANG_GUARD) as client:
            while True:
                if process.returncode is not None:
                    msg = f"the server exited with {process.returncode}; see {log}"
                    raise RuntimeError(msg)
                try:
                    if (await client.get(f"{base_url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(READINESS_POLL_SECONDS)
        yield base_url
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def per_second(count: int, request: Callable[[int], Awaitable[None]]) -> float:
    """Return how many of `count` requests complete a second, CONCURRENCY at once."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await request(number)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)


async def rates(database_url: str, log: Path, count: int) -> tuple[float, float]:
    """Return (weeks accepted, health answers) per second on `database_url`."""
    today = datetime.now(UTC).date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    # Built beforehand, so that the client's own work is not what is measured.
    bodies = [week(last_monday, str(uuid.uuid4())) for _ in range(count)]
    async with (
        serving(database_url, log) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=HANG_GUARD) as client,
    ):

        async def health(_number: int) -> None:
            (await client.get("/health")).raise_for_status()

        async def submit(number: int) -> None:
            (await client.post("/submit", json=bodies[number])).raise_for_status()

        await per_second(CONCURRENCY * 10, health)  # connections open, code warm
        health_rate = await per_second(count, health)
        submit_rate = await per_second(count, submit)
    return submit_rate, health_rate
