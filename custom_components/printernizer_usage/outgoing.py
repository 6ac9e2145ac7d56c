"""Every HTTP request the integration makes, with no redirect ever followed.

Following one would let a server, or a proxy in front of it, send a request's
body and headers (a week's payload, the collection server's API key) to
another host or over plain http. A 3xx is handed back as the answer instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from yarl import URL


def async_create_collection_session(
    hass: HomeAssistant, *, auto_cleanup: bool = True
) -> aiohttp.ClientSession:
    """Return a session for the collection server that keeps no cookies.

    Home Assistant's shared session keeps every cookie a server sets and sends
    it back with every later request: under a new installation id too, or from
    another entry, which would link them. This one uses the same connections
    and certificate checks, and forgets cookies. Made while an entry sets up,
    it ends with the entry; with auto_cleanup off, the caller detaches it.
    """
    return async_create_clientsession(
        hass, auto_cleanup=auto_cleanup, cookie_jar=aiohttp.DummyCookieJar()
    )


@asynccontextmanager
async def async_collection_session_once(
    hass: HomeAssistant,
) -> AsyncIterator[aiohttp.ClientSession]:
    """Yield a cookie-less collection session for a few requests, then let it go."""
    session = async_create_collection_session(hass, auto_cleanup=False)
    try:
        yield session
    finally:
        session.detach()


@asynccontextmanager
async def async_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    client_timeout: aiohttp.ClientTimeout,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Send one request on `session` and yield its answer, a redirect included."""
    async with session.request(
        method,
        url,
        headers=headers,
        params=params,
        data=data,
        timeout=client_timeout,
        allow_redirects=False,
    ) as response:
        yield response
