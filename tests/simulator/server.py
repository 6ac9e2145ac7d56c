"""Serving a simulator: an aiohttp app in a thread of its own, on loopback."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import socket
import threading
import time
from typing import Any

from aiohttp import web


def real_monotonic() -> float:
    """Return real monotonic time; tests freeze time.monotonic, not this."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class RealClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose timers run on real time even under a frozen clock."""

    def time(self) -> float:
        """Return real monotonic time."""
        return real_monotonic()


@dataclass
class Fault:
    """Misbehaviour for the next `times` requests whose path starts with prefix."""

    kind: str
    prefix: str = "/"
    times: int = 1
    delay: float = 0.0
    body: Any = None


def redirect_response(fault: Fault, request: web.Request) -> web.Response | None:
    """Answer a "redirect_3xx" fault: that status, to `body` plus the request path.

    A hostile or misconfigured server (or a proxy in front of it) does this to
    draw the request, its body and its headers to another host or to plain http.
    """
    if not fault.kind.startswith("redirect_"):
        return None
    return web.Response(
        status=int(fault.kind.removeprefix("redirect_")),
        headers={"Location": f"{fault.body}{request.path_qs}"},
    )


class LoopbackServer:
    """Serves `build_app()` on loopback from a thread with its own event loop.

    The test's own loop may run on a frozen clock; this one never does, so a
    simulator neither stalls a test nor is stalled by it.
    """

    thread_name = "simulator"

    def __init__(self) -> None:
        """Start with nothing served."""
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.base_path = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        """Return the app to serve."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Return the base URL it serves on."""
        return f"http://{self.host}:{self.port}{self.base_path}"

    def fail(
        self,
        kind: str,
        prefix: str = "/",
        times: int = 1,
        delay: float = 0.0,
        body: Any = None,
    ) -> None:
        """Misbehave on the next matching requests."""
        with self.lock:
            self.faults.append(Fault(kind, prefix, times, delay, body))

    def take_fault(self, path: str) -> Fault | None:
        """Return (and use up) the first fault for a path; call with the lock held."""
        for fault in self.faults:
            if path.startswith(fault.prefix):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def start(self, host: str = "127.0.0.1", port: int = 0, base_path: str = "") -> str:
        """Serve on host:port (0 picks a free port); return the base URL."""
        self.host = host
        self.base_path = base_path
        started = threading.Event()
        self._loop = RealClockLoop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._async_serve(port))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.thread_name)
        self._thread.start()
        started.wait()
        return self.url

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._async_unserve(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = None

    def refuse_connections(self) -> None:
        """Drop every connection and stop listening, as while restarting."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._async_unserve(), self._loop).result()

    def accept_connections(self) -> None:
        """Listen again on the same port."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(
            self._async_serve(self.port), self._loop
        ).result()

    async def _async_serve(self, port: int) -> None:
        self._runner = web.AppRunner(
            self.build_app(),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port, reuse_address=True)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _async_unserve(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
