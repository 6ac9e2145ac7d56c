"""The command line: serve on loopback only, and settings errors as messages."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from printernizer_usage_server.cli import USAGE_ERROR, main
from printernizer_usage_server.server import NotLoopbackError, check_loopback
from tests.payloads import SAMPLE_ID

SERVER_DIR = Path(__file__).parents[1]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_hosts_are_allowed(host: str) -> None:
    """Everything in 127.0.0.0/8, ::1 and localhost."""
    check_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.org", ""])  # noqa: S104
def test_other_hosts_are_refused(host: str) -> None:
    """Plain HTTP must not leave this machine."""
    with pytest.raises(NotLoopbackError, match="loopback"):
        check_loopback(host)


def test_serve_refuses_a_public_host_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The error names the host, loopback, and the ways to serve TLS."""
    status = main(["serve", "--host", "0.0.0.0"])  # noqa: S104

    assert status == USAGE_ERROR
    error = capsys.readouterr().err
    assert "'0.0.0.0'" in error
    assert "loopback" in error
    assert "--certfile" in error
    assert "--behind-tls-proxy" in error


def test_bad_settings_stop_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad variable is reported by name, without a traceback."""
    monkeypatch.setenv("PNZ_USAGE_RETENTION_DAYS", "forever")

    assert main(["migrate"]) == USAGE_ERROR
    assert "PNZ_USAGE_RETENTION_DAYS" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    """No command: argparse's usage error."""
    with pytest.raises(SystemExit) as stopped:
        main([])

    assert stopped.value.code == USAGE_ERROR
    assert "serve" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_serve_runs_the_service_until_interrupted(tmp_path: Path) -> None:
    """`python -m printernizer_usage_server serve` serves until SIGINT."""
    port = _free_port()
    database = tmp_path / "served.db"
    environment = {
        **os.environ,
        "PNZ_USAGE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PYTHONPATH": str(SERVER_DIR),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "printernizer_usage_server",
        "serve",
        "--port",
        str(port),
        env=environment,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    output: list[str] = []
    try:
        # Start-up is over when uvicorn says so; no waiting on a timer.
        while "Application startup complete" not in "".join(output):
            line = await process.stderr.readline()
            assert line, "".join(output)
            output.append(line.decode())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/health")
            deletion = await client.delete(f"/installation/{SAMPLE_ID}")
    finally:
        process.send_signal(signal.SIGINT)
        rest = await process.stderr.read()
        status = await process.wait()

    assert health.json() == {"status": "ok"}
    logs = "".join(output) + rest.decode()
    assert "request method=GET route=/health status=200" in logs
    assert deletion.status_code == 200
    assert re.search(r"deletion day=\d{4}-\d{2}-\d{2} deleted=0\n", logs)
    # No line carries a time of day: the deletion's day is all that is kept.
    assert not re.search(r"\d{2}:\d{2}:\d{2}", logs), logs
    # uvicorn shuts down in order, then ends by the signal it was sent, as
    # a well-behaved program does.
    assert "Application shutdown complete" in logs
    assert status == -signal.SIGINT
    assert database.exists()
