"""Read a request body with a hard cap, and parse it as JSON."""

from __future__ import annotations

import asyncio
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request


class BodyTooLargeError(Exception):
    """The body is longer than the cap."""


class BodyTooSlowError(Exception):
    """The body did not arrive in full within the time allowed."""


class NotJsonError(Exception):
    """The body is not a JSON document."""


async def read_capped(request: Request, limit: int, seconds: float) -> bytes:
    """Return the body within `seconds`, or raise; at most `limit` bytes of it.

    BodyTooLargeError once it passes `limit`; BodyTooSlowError when it takes
    longer: a client that trickles its body in must not hold a connection
    and its buffer for as long as it likes.
    """
    # The stream is read chunk by chunk (the server holds back the rest), so a
    # declared or chunked body of any size costs at most the cap and one chunk.
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    # Stop reading: the rest is never buffered.
                    raise BodyTooLargeError
                chunks.append(chunk)
    except TimeoutError as error:
        raise BodyTooSlowError from error
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Return the parsed document; NaN and Infinity are not JSON and are refused."""
    try:
        return json.loads(
            body, parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except (ValueError, RecursionError) as error:
        # ValueError covers bad syntax, bad UTF-8 and integers too long to
        # convert; RecursionError, nesting deeper than the parser goes.
        raise NotJsonError from error


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


def _finite_float(text: str) -> float:
    # 1e400 would become infinity, which no JSON answer can carry back.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number
