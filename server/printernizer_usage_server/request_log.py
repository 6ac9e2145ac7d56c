"""One log line per request: method, route template and status, nothing more."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from printernizer_usage_server.database import is_temporarily_unavailable

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER: Final = logging.getLogger("printernizer_usage_server.request")
# The answer to a request that failed; it says nothing of why.
_FAILED_START: Final = {
    "type": "http.response.start",
    "status": 500,
    "headers": [(b"content-type", b"application/json")],
}
_FAILED_BODY: Final = {
    "type": "http.response.body",
    "body": b'{"detail":"Internal Server Error"}',
}
# The answer when the database is busy or briefly gone: the client's outbox
# keeps the week and sends it again later.
RETRY_AFTER_SECONDS: Final = 60
_UNAVAILABLE_START: Final = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json"),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    ],
}
_UNAVAILABLE_BODY: Final = {
    "type": "http.response.body",
    "body": b'{"detail":"Service temporarily unavailable"}',
}
# Anything else is logged as OTHER: the method is the client's text.
_KNOWN_METHODS: Final = frozenset(
    {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
)


class RequestLogMiddleware:
    """Log each request by its route template, hide the client, contain failures."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap `app`."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        # Nothing below may learn where the request came from.
        scope["client"] = None
        status = 500  # what the client gets if the app raises, unless told below
        started = False

        async def send_noting_status(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        except Exception as error:  # noqa: BLE001 - every failure ends here
            # Not raised on: the server would log the traceback, and a
            # database's message can quote the values it refused, an
            # installation id among them. The kind of failure is enough.
            LOGGER.error(
                "request failed route=%s error=%s",
                _route_template(scope),
                type(error).__name__,
            )
            if not started and scope["type"] == "http":
                unavailable = is_temporarily_unavailable(error)
                status = 503 if unavailable else 500
                await send(_UNAVAILABLE_START if unavailable else _FAILED_START)
                await send(_UNAVAILABLE_BODY if unavailable else _FAILED_BODY)
        finally:
            LOGGER.info(
                "request method=%s route=%s status=%d",
                _method(scope),
                _route_template(scope),
                status,
            )


def _method(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if method in _KNOWN_METHODS else "OTHER"


def _route_template(scope: Scope) -> str:
    """Return the matched route's path template; never the path that was asked for."""
    # FastAPI leaves the matched route in the scope; the concrete path may hold
    # an installation id, and an unmatched one anything at all.
    template = getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else "<unmatched>"
