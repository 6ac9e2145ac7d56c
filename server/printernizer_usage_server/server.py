"""How uvicorn serves the app: TLS or loopback, no access log, no proxy headers."""

from __future__ import annotations

from dataclasses import dataclass
import ipaddress
from typing import TYPE_CHECKING

import uvicorn

from printernizer_usage_server.head_timeout import with_head_timeout
from printernizer_usage_server.settings import DEFAULT_HEAD_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from pathlib import Path

    from fastapi import FastAPI


@dataclass(frozen=True)
class Tls:
    """The certificate chain and private key the service serves TLS with."""

    certfile: Path
    keyfile: Path


class NotLoopbackError(ValueError):
    """A host to listen on that is not on this machine's loopback."""


def check_loopback(host: str) -> None:
    """Refuse plain HTTP on a host off loopback: there, only TLS may be spoken."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        msg = (
            f"refusing plain HTTP on {host!r}: off loopback (127.0.0.0/8, ::1, "
            "localhost) the service speaks TLS only; give --certfile and "
            "--keyfile, or --behind-tls-proxy when a reverse proxy in front "
            "terminates TLS"
        )
        raise NotLoopbackError(msg)


def uvicorn_config(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 8080,
    tls: Tls | None = None,
    head_timeout_seconds: float = DEFAULT_HEAD_TIMEOUT_SECONDS,
) -> uvicorn.Config:
    """Return the uvicorn configuration the service runs with.

    A request's head must arrive within `head_timeout_seconds` of the
    connection's start or of the last answer (head_timeout.py).
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=with_head_timeout(head_timeout_seconds),
        ssl_certfile=None if tls is None else str(tls.certfile),
        ssl_keyfile=None if tls is None else str(tls.keyfile),
        # uvicorn's access log writes the client's address and the full path.
        access_log=False,
        # Forwarded-for headers would put a client address into the scope.
        proxy_headers=False,
        # The caller configures logging; uvicorn must not replace it.
        log_config=None,
        # Explicit, because at TRACE uvicorn logs each client address.
        log_level="info",
        server_header=False,
        # The service speaks HTTP only; a WebSocket implementation (if one is
        # installed) would log the address and path of every upgrade.
        ws="none",
    )
