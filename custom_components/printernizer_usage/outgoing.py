"""Every HTTP request the integration makes, with no redirect ever followed.

Following one would let a server, or a proxy in front of it, send a request's
body and headers (a week's payload, the collection server's API key) to
another host or over plain http. A 3xx is handed back as the answer instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
from homeassistant.util.ssl import get_default_context
from yarl import URL


def new_collection_session() -> aiohttp.ClientSession:
    """Return a session for the collection server that links nothing; caller closes it.

    Home Assistant's shared session keeps the cookies a server sets and keeps
    connections open for the next request. Either would carry over from one
    request to the next (under a new installation id too, or from another
    entry) and tell the server they come from one installation. This one
    keeps neither, and checks certificates as Home Assistant does.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=get_default_context(), force_close=True),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


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
