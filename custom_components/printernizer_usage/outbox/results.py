"""What a request to the collection server came back with, and what it means."""

from __future__ import annotations

from enum import StrEnum
import json
from typing import Final


class AttemptResult(StrEnum):
    """What one request to the collection server came back with."""

    ACCEPTED = "accepted"
    NOT_FOUND = "not_found"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    INVALID_PAYLOAD = "invalid_payload"
    CLIENT_ERROR = "client_error"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    # Lost after the connection opened: the request may have arrived.
    CONNECTION_ERROR = "connection_error"
    # No connection could be opened (refused, name or TLS failure): nothing left.
    UNREACHABLE = "unreachable"
    NON_JSON_BODY = "non_json_body"
    # A 3xx: following it could carry the request elsewhere or to plain http.
    REDIRECTED = "redirected"


REJECTIONS: Final = frozenset(
    {
        AttemptResult.NOT_FOUND,
        AttemptResult.UNAUTHORIZED,
        AttemptResult.FORBIDDEN,
        AttemptResult.INVALID_PAYLOAD,
        AttemptResult.CLIENT_ERROR,
        AttemptResult.REDIRECTED,
    }
)
# The server kept nothing of an attempt that ended so; any other failure may
# have come after it stored the week (an answer lost, a proxy's 502).
NOTHING_KEPT: Final = REJECTIONS | {
    AttemptResult.RATE_LIMITED,
    AttemptResult.UNREACHABLE,
}
_CLIENT_ERRORS: Final = {
    401: AttemptResult.UNAUTHORIZED,
    403: AttemptResult.FORBIDDEN,
    404: AttemptResult.NOT_FOUND,
    422: AttemptResult.INVALID_PAYLOAD,
}


def is_rejection(result: AttemptResult) -> bool:
    """Tell whether a result is the server's final refusal of a request."""
    return result in REJECTIONS


def classify_response(status: int, body: bytes) -> AttemptResult:
    """Classify an HTTP answer of the collection server.

    Any 2xx means the server stored the submission, whatever its body. A 3xx
    is never followed (HTTPS-only and the key's confinement forbid it) and so
    is a refusal. A 4xx whose body is not JSON did not come from the collection
    server (a proxy page, say), so it is retried rather than taken as a verdict.
    """
    if 200 <= status < 300:
        return AttemptResult.ACCEPTED
    if 300 <= status < 400:
        return AttemptResult.REDIRECTED
    if status == 429:
        return AttemptResult.RATE_LIMITED
    if not 400 <= status < 500:
        return AttemptResult.SERVER_ERROR
    try:
        json.loads(body)
    except (ValueError, RecursionError):  # too deeply nested is not JSON to us
        return AttemptResult.NON_JSON_BODY
    return _CLIENT_ERRORS.get(status, AttemptResult.CLIENT_ERROR)
