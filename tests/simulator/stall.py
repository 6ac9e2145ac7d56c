"""A server that accepts connections and never answers: a stalled peer.

Given an https:// address, a client sends its TLS ClientHello and waits for a
ServerHello that never comes, so the request stays in its handshake with the
body not sent; given http://, it sends the whole request and waits for an
answer. Either way the request stays in flight until the client gives up.
"""

from __future__ import annotations

import asyncio
import threading

from .server import RealClockLoop


class StallingServer:
    """Listens on loopback from a thread of its own; reads, never writes."""

    def __init__(self) -> None:
        """Listen nowhere until started."""
        self.port = 0
        self.connections = 0
        self.received = bytearray()
        self.lock = threading.Lock()
        self._loop = RealClockLoop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def https_url(self) -> str:
        """Return an https base URL on it (a TLS handshake that stalls)."""
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start listening on a free loopback port."""
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._hold, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="stalling-server")
        self._thread.start()
        started.wait()

    def stop(self) -> None:
        """Stop listening, drop every connection and end the thread."""
        assert self._thread is not None
        server = self._server

        async def close() -> None:
            assert server is not None
            server.close()
            server.close_clients()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _hold(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with self.lock:
            self.connections += 1
        while chunk := await reader.read(65536):
            with self.lock:
                self.received += chunk
        writer.close()
