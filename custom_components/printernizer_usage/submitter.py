"""Requests to the collection server: submit a week, request deletion, check health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
import json
import re
from typing import Final
from urllib.parse import quote

import aiohttp
from yarl import URL

from .outbox import MAX_WEEKLY_WAIT, AttemptResult, classify_response
from .outgoing import async_request
from .urls import is_loopback

# Kept equal to manifest.json's version by a test: reading the manifest here
# would be blocking file I/O inside Home Assistant's event loop.
VERSION: Final = "0.1.0"
USER_AGENT: Final = f"printernizer_usage/{VERSION}"
REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=10)
# The documented answers are a few hundred bytes; a 422 echoing our small
# payload stays far below this. A larger body is no answer of that server.
MAX_BODY_BYTES: Final = 64 * 1024
_CHUNK_BYTES: Final = 16 * 1024
# A path part that is a plain field name; anything else could be a value.
_FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECONDS: Final = re.compile(r"[0-9]+")


def is_api_key(value: object) -> bool:
    """Tell whether a value can be an API key: printable ASCII without spaces.

    Anything else (a line break, say) could not go into a header, or would
    change the request it went into.
    """
    return isinstance(value, str) and all("!" <= char <= "~" for char in value)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where submissions go, and the key that lets them in (if the server wants one)."""

    base_url: str
    api_key: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one request, reduced to what the outbox and repairs need."""

    result: AttemptResult
    http_status: int | None
    retry_after: timedelta | None = None
    # The path of the first field a 422 named, e.g. "usage_stats.job_count".
    rejected_field: str | None = None


async def async_submit(
    session: aiohttp.ClientSession,
    endpoint: Endpoint,
    body: bytes,
    idempotency_key: str,
) -> Attempt:
    """POST one week's payload to {base}/submit."""
    headers = _headers(endpoint)
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = idempotency_key
    return await _async_request(
        session, "POST", _url(endpoint.base_url, "submit"), headers, body
    )


async def async_request_deletion(
    session: aiohttp.ClientSession, endpoint: Endpoint, installation_id: str
) -> Attempt:
    """DELETE {base}/installation/{id}: everything that id submitted there."""
    path = f"installation/{quote(installation_id, safe='')}"
    return await _async_request(
        session, "DELETE", _url(endpoint.base_url, path), _headers(endpoint), None
    )


async def async_check_health(
    session: aiohttp.ClientSession, base_url: str
) -> AttemptResult:
    """Ask {base}/health; ACCEPTED means it answered with a 2xx."""
    attempt = await _async_request(
        session,
        "GET",
        _url(base_url, "health"),
        {"User-Agent": USER_AGENT},
        None,
    )
    return attempt.result


def _url(base_url: str, path: str) -> URL:
    # The path is quoted already and goes out as it is: re-read, an id of ".."
    # would be resolved as a dot segment and name another resource.
    return URL(f"{base_url.rstrip('/')}/{path}", encoded=True)


def _headers(endpoint: Endpoint) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    # The server takes an empty key for a missing one; sending it would only mislead.
    if endpoint.api_key:
        headers["X-API-Key"] = endpoint.api_key
    return headers


async def _async_request(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    headers: dict[str, str],
    body: bytes | None,
) -> Attempt:
    """Send one request and classify the answer; no content of it is kept or logged.

    A last gate: an address read back from a file (a deletion request's, say)
    is held to the rule the forms apply, so a hand-edited plain-http one gets
    nothing, not even the installation id in the path.
    """
    if url.scheme != "https" and not (
        url.scheme == "http" and is_loopback(url.host or "")
    ):
        return Attempt(AttemptResult.UNREACHABLE, None)
    try:
        async with async_request(
            session,
            method,
            url,
            headers=headers,
            data=body,
            client_timeout=REQUEST_TIMEOUT,
        ) as response:
            status = response.status
            # Only a 4xx verdict depends on the body. A 2xx body is never read,
            # so a connection lost after the server stored a week cannot make
            # that week look unsent (and be sent twice).
            answer = await _read_capped(response) if 400 <= status < 500 else b""
    except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError):
        # The connection never opened: nothing of the request left the machine.
        return Attempt(AttemptResult.UNREACHABLE, None)
    except TimeoutError:
        return Attempt(AttemptResult.TIMEOUT, None)
    except (aiohttp.ClientError, OSError):
        return Attempt(AttemptResult.CONNECTION_ERROR, None)
    result = classify_response(status, answer)
    limited = result is AttemptResult.RATE_LIMITED
    invalid = result is AttemptResult.INVALID_PAYLOAD
    return Attempt(
        result,
        status,
        retry_after=_retry_after(response.headers.get("Retry-After"))
        if limited
        else None,
        rejected_field=_rejected_field(answer) if invalid else None,
    )


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """Read a body; one over the cap reads as empty, which is not JSON."""
    raw = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return b""
    return bytes(raw)


def _retry_after(value: str | None) -> timedelta | None:
    """Read a Retry-After given in seconds; a date or anything else is ignored.

    The documented server sends none; the outbox waits at least an hour then.
    """
    if value is None or not _SECONDS.fullmatch(value := value.strip()):
        return None
    # The outbox never waits longer. Capping first keeps timedelta from
    # overflowing, and int() from refusing thousands of digits.
    longest = int(MAX_WEEKLY_WAIT.total_seconds())
    seconds = longest if len(value) > len(str(longest)) else min(int(value), longest)
    return timedelta(seconds=seconds)


def _rejected_field(answer: bytes) -> str | None:
    """Return the path of the first field a 422 body names, without any value.

    FastAPI puts the path in detail[0].loc, led by "body". The path is kept up
    to the first part that is neither an index nor a plain field name: such a
    part could be a value echoed from the payload, and a path without it still
    points the user to the right place.
    """
    # classify_response found this body to be JSON already.
    document = json.loads(answer)
    detail = document.get("detail") if isinstance(document, dict) else None
    if not isinstance(detail, list) or not detail or not isinstance(detail[0], dict):
        return None
    loc = detail[0].get("loc")
    if not isinstance(loc, list):
        return None
    if loc[:1] == ["body"]:
        loc = loc[1:]
    parts: list[str] = []
    for part in loc:
        if isinstance(part, bool) or not (
            isinstance(part, int)
            or (isinstance(part, str) and _FIELD_NAME.fullmatch(part))
        ):
            break
        parts.append(str(part))
    return ".".join(parts) or None
