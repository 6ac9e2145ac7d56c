"""Every HTTP request the integration makes, with no redirect ever followed.

Following one would let a server, or a proxy in front of it, send a request's
body and headers (a week's payload, the collection server's API key) to
another host or over plain http. A 3xx is handed back as the answer instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
from yarl import URL


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
