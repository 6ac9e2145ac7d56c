"""How uvicorn serves the app: no access log, no proxy headers, loopback only."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI


class NotLoopbackError(ValueError):
    """A host to listen on that is not on this machine's loopback."""


def check_loopback(host: str) -> None:
    """Refuse a listening host off loopback: until TLS comes, plain HTTP stays local."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        msg = (
            f"refusing to listen on {host!r}: this version serves plain HTTP and "
            "listens only on loopback (127.0.0.0/8, ::1, localhost); TLS for "
            "other hosts comes in a later version"
        )
        raise NotLoopbackError(msg)


def uvicorn_config(
    app: FastAPI, host: str = "127.0.0.1", port: int = 8080
) -> uvicorn.Config:
    """Return the uvicorn configuration the service runs with."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
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
