"""uvicorn's HTTP/1.1, but a request's head must arrive in time.

uvicorn times a connection out only between requests, and cancels even that
at the first byte: a client that opens connections and sends half a request
head holds each one, with its file descriptor and buffers, for as long as it
likes. Here every connection must complete a request head within a deadline,
when it opens and again after each answer, or it is closed. (A body that
does not arrive in time is the app's to refuse: body.py.)
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
        self._start_head_deadline()

    def on_response_complete(self) -> None:
        """Start the next request's deadline once an answer is out."""
        super().on_response_complete()
        self._start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline with the connection."""
        self._stop_head_deadline()
        super().connection_lost(exc)

    def _start_head_deadline(self) -> None:
        self._stop_head_deadline()
        self._head_deadline = self.loop.call_later(
            self.head_timeout_seconds, self._head_overdue
        )

    def _stop_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        # IDLE: h11 has not seen a whole request head since the deadline began
        # (a partial one stays in its buffer).
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def with_head_timeout(seconds: float) -> type[HeadTimeoutProtocol]:
    """Return the protocol class uvicorn serves with, its deadline `seconds` long."""
    return type(
        "HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout_seconds": seconds}
    )
