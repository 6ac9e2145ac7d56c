"""uvicorn's HTTP/1.1, but a request's head must arrive in time.

uvicorn times a connection out only between requests, and cancels even that
at the first byte: a client that opens connections and sends half a request
head holds each one, with its file descriptor and buffers, for as long as it
likes. Here every connection must complete a request head within a deadline,
when it opens and again after each answer, or it is closed; a connection
whose answer went out before its body was all in is closed at the deadline.
(A body that does not arrive in time is the app's to refuse: body.py.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio


class HeadTimeoutProtocol(H11Protocol):
    """Close a connection whose next request head is not in by the deadline."""

    head_timeout_seconds: ClassVar[float]
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the first request's deadline as the connection opens."""
        super().connection_made(transport)
        self._start_head_deadline(close_anyway=False)

    def on_response_complete(self) -> None:
        """Start the next request's deadline once an answer is out.

        An answer given before the request's body was all in (a refusal, or a
        route that reads no body) ends the connection at the deadline, however
        the rest of the body comes: it could trickle in for ever, each byte
        resetting uvicorn's keep-alive timer. (Closed at once, the client
        might lose the answer to a reset.)
        """
        super().on_response_complete()
        self._start_head_deadline(close_anyway=self.conn.their_state is h11.SEND_BODY)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline with the connection."""
        self._stop_head_deadline()
        super().connection_lost(exc)

    def _start_head_deadline(self, *, close_anyway: bool) -> None:
        self._stop_head_deadline()
        self._head_deadline = self.loop.call_later(
            self.head_timeout_seconds, self._head_overdue, close_anyway
        )

    def _stop_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self, close_anyway: bool) -> None:
        # IDLE: h11 has not seen a whole request head since the deadline began
        # (a partial one stays in its buffer).
        overdue = close_anyway or self.conn.their_state is h11.IDLE
        if overdue and not self.transport.is_closing():
            self.transport.close()


def with_head_timeout(seconds: float) -> type[HeadTimeoutProtocol]:
    """Return the protocol class uvicorn serves with, its deadline `seconds` long."""
    return type(
        "HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout_seconds": seconds}
    )
