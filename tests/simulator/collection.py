"""A collection-server simulator that speaks the documented submission protocol.

POST /submit validates like upstream's server (FastAPI-shaped 422 bodies),
then against schema 1.0 as the project's server does; it checks the API key
(403 without one, 401 for a wrong one; a body that is not JSON is 422 first),
allows 10 submissions per installation per clock hour (then 429
without Retry-After), stores duplicates, and answers 200 with a submission id
that is reused after deletions. DELETE /installation/{id} deletes and counts.
Faults can be injected: slow answers, refused connections, 5xx with HTML
bodies, truncated JSON, an answer lost or held back after the submission was
stored, redirects, and bodies that never end.

Run it alone with `python -m tests.simulator.collection` (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import threading
from typing import Any

from aiohttp import web

from tests.submission_schema import schema_errors

from .server import LoopbackServer, redirect_response
from .upstream_rules import Errors, error_item, validate_submission

SUBMISSIONS_PER_HOUR = 10


@dataclass
class Submission:
    """One accepted submission, as the server keeps it."""

    submission_id: int
    installation_id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    received_at: datetime
    # The server kept it, but its answer never reached the client.
    answer_lost: bool = False


class CollectionSimulator(LoopbackServer):
    """The collection server's protocol, with controls for tests.

    Faults: "slow", "html_500" / "html_502" / "html_503", "truncated",
    "lost" (the submission is stored, the answer never arrives), "stall" (the
    submission is stored, the answer waits for `release_stalled`),
    "endless" (an answer with the status given as the body, default 200,
    whose body never ends), and "redirect_301" ... "redirect_308" (to the
    base URL given as the body).
    """

    thread_name = "collection-simulator"

    def __init__(
        self,
        api_key: str | None = "test-api-key",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Start empty; `start` serves it."""
        super().__init__()
        self.api_key = api_key
        self.clock = clock
        self.submissions: list[Submission] = []
        # Accepted submissions per (installation, clock hour); deletions keep them.
        self.hourly_counts: dict[tuple[str, datetime], int] = {}
        self.deletions: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (method, path)
        # The headers and the client's address and port of every request, in order.
        self.headers_received: list[dict[str, str]] = []
        self.peers: list[tuple[str, int]] = []
        # Tag every client with a cookie, as a tracking server would.
        self.sets_cookies = False
        self.stalled = 0  # answers held back by a "stall" fault right now
        self._release: asyncio.Event | None = None

    # ----- controls ---------------------------------------------------------------

    def submissions_of(self, installation_id: str) -> list[Submission]:
        """Return what the server holds for an installation."""
        with self.lock:
            return [s for s in self.submissions if s.installation_id == installation_id]

    def release_stalled(self) -> None:
        """Let the answers held back by "stall" faults go (to whoever still listens)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(lambda: self._released().set())

    def _released(self) -> asyncio.Event:
        """Return the event stalled answers wait for (made on the server's loop)."""
        if self._release is None:
            self._release = asyncio.Event()
        return self._release

    # ----- serving ----------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Return the protocol's routes."""
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/health", self._health)
        app.router.add_post("/submit", self._submit)
        app.router.add_delete("/installation/{installation_id}", self._delete)
        return app

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        with self.lock:
            self.requests.append((request.method, request.path))
            self.headers_received.append(dict(request.headers))
            assert request.transport is not None
            self.peers.append(request.transport.get_extra_info("peername"))
            fault = self.take_fault(request.path)
        redirect = None if fault is None else redirect_response(fault, request)
        if redirect is not None:
            return redirect
        if fault is not None and fault.kind.startswith("html_"):
            status = int(fault.kind.removeprefix("html_"))
            return web.Response(
                status=status,
                text=f"<html><body><h1>{status}</h1>nginx</body></html>",
                content_type="text/html",
            )
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "endless":
            return await self._endless(request, fault.body or 200)
        response: web.StreamResponse = await handler(request)
        if self.sets_cookies:
            response.set_cookie("tracker", "client-42", max_age=365 * 24 * 3600)
        if fault is not None and fault.kind == "truncated":
            return web.Response(
                status=200, text='{"status": "succ', content_type="application/json"
            )
        if fault is not None and fault.kind == "lost":
            # The server did its work; the answer never arrives.
            self._lose_answer()
            assert request.transport is not None
            request.transport.close()
        if fault is not None and fault.kind == "stall":
            self._lose_answer()
            release = self._released()
            release.clear()
            with self.lock:
                self.stalled += 1
            try:
                await release.wait()
            finally:
                with self.lock:
                    self.stalled -= 1
        return response

    def _lose_answer(self) -> None:
        """Note that the answer to the latest submission will not arrive."""
        with self.lock:
            if self.submissions:
                self.submissions[-1].answer_lost = True

    async def _endless(self, request: web.Request, status: int) -> web.StreamResponse:
        """Answer with a JSON-looking body that goes on until the client leaves."""
        response = web.StreamResponse(
            status=status, headers={"Content-Type": "application/json"}
        )
        await response.prepare(request)
        chunk = b'{"detail": [' + b" " * 65536
        try:
            while True:
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return response

    def _key_problem(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        key = request.headers.get("X-API-Key", "")
        if not key:
            return web.json_response({"detail": "Not authenticated"}, status=403)
        if key != self.api_key:
            return web.json_response({"detail": "Invalid API key"}, status=401)
        return None

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy"})

    async def _submit(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response(
                {"detail": [error_item("json_invalid", [0], "JSON decode error", {})]},
                status=422,
            )
        if (problem := self._key_problem(request)) is not None:
            return problem
        if errors := validate_submission(body) or _schema_error_items(body):
            return web.json_response({"detail": errors}, status=422)
        installation_id = body["installation"]["installation_id"]
        now = self.clock()
        hour = now.replace(minute=0, second=0, microsecond=0)
        with self.lock:
            count = self.hourly_counts.get((installation_id, hour), 0)
            if count >= SUBMISSIONS_PER_HOUR:
                return web.json_response(
                    {"detail": "Rate limit exceeded. Try again later."}, status=429
                )
            self.hourly_counts[installation_id, hour] = count + 1
            submission_id = (
                max((s.submission_id for s in self.submissions), default=0) + 1
            )
            self.submissions.append(
                Submission(
                    submission_id,
                    installation_id,
                    body,
                    dict(request.headers),
                    now,
                )
            )
        return web.json_response(
            {
                "status": "success",
                "submission_id": submission_id,
                "message": "Submission received",
            }
        )

    async def _delete(self, request: web.Request) -> web.Response:
        if (problem := self._key_problem(request)) is not None:
            return problem
        installation_id = request.match_info["installation_id"]
        with self.lock:
            before = len(self.submissions)
            self.submissions = [
                s for s in self.submissions if s.installation_id != installation_id
            ]
            deleted = before - len(self.submissions)
            self.deletions.append(installation_id)
        return web.json_response(
            {
                "status": "success",
                "deleted_count": deleted,
                "message": f"Deleted {deleted} submissions",
            }
        )


def _schema_error_items(body: Any) -> Errors:
    """Return an item for each place schema 1.0 refuses, as the project's server does.

    Only the project's server checks the schema; a payload the integration
    builds must pass it, so every test that sends to the simulator checks that.
    """
    return [
        error_item(
            "value_error",
            path.split(".") if path else [],
            "Input is not allowed by schema 1.0",
            None,
        )
        for path in schema_errors(body)
    ]


def main() -> None:
    """Serve until interrupted, printing what arrives."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", default="dev-api-key")
    args = parser.parse_args()
    simulator = CollectionSimulator(api_key=args.api_key)
    url = simulator.start(args.host, args.port)
    print(f"Collection-server simulator on {url} (X-API-Key: {args.api_key})")  # noqa: T201
    stop = threading.Event()
    seen = 0
    try:
        while not stop.wait(2):
            with simulator.lock:
                new = simulator.submissions[seen:]
                seen = len(simulator.submissions)
            for submission in new:
                print(json.dumps(submission.payload, indent=2))  # noqa: T201
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
