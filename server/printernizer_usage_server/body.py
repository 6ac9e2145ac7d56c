"""Read a request body with a hard cap, and parse it as JSON."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request


class BodyTooLargeError(Exception):
    """The body is longer than the cap."""


class NotJsonError(Exception):
    """The body is not a JSON document."""


async def read_capped(request: Request, limit: int) -> bytes:
    """Return the body; raise BodyTooLargeError once it passes `limit` bytes."""
    # The stream is read chunk by chunk (the server holds back the rest), so a
    # declared or chunked body of any size costs at most the cap and one chunk.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            # Stop reading: the rest is never buffered.
            raise BodyTooLargeError
        chunks.append(chunk)
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
