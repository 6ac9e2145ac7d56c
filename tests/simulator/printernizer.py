"""A Printernizer simulator: the REST endpoints the integration reads, on loopback.

It serves the documented shapes (secrets in /printers included, as the real
server does) and can reproduce each known hazard on demand: wiped job history,
jobs stuck running, 429 with Retry-After, 500 envelopes, HTML and truncated
bodies, refused connections and slow answers. It runs in a thread with its own
event loop, so a test's frozen clock cannot stall it.

Run it alone with `python -m tests.simulator.printernizer` (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import json
import random
import threading
from typing import Any, Literal
import uuid

from aiohttp import web

from .server import Fault, LoopbackServer, real_monotonic, redirect_response

VERSION = "2.42.0"


ERROR_CODES = {429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_SERVER_ERROR"}


@dataclass
class SimPrinter:
    """A printer with everything Printernizer reveals about it, secrets included."""

    id: str
    name: str
    printer_type: str  # as /printers reports it (OctoPrint shows as prusa_core)
    configured_type: str  # as /settings/printers reports it
    status: str = "online"
    ip_address: str = "192.168.1.50"
    serial_number: str = "01S00A000000000"
    api_key: str = "printer-api-key"
    access_code: str = "12345678"
    location: str = "Workshop"


@dataclass
class SimItem:
    """A job, printer file or library upload; `created_at` is naive, as served."""

    id: str
    created_at: str
    fields: dict[str, Any] = field(default_factory=dict)


def _made_up_body(fault: Fault, request: web.Request) -> web.Response:
    """Answer with a body of the fault's making.

    "json" serialises the fault's body; "raw" sends its bytes as they are (for
    what JSON cannot build, such as nesting no parser survives); "endless" is
    a full page of items never seen before, with always one more page (and,
    if the fault's body is a number, that many bytes of padding).
    """
    if fault.kind == "json":
        return web.json_response(fault.body)
    if fault.kind == "raw":
        return web.Response(body=fault.body, content_type="application/json")
    page = int(request.query.get("page", "1"))
    items = [{"id": uuid.uuid4().hex} for _ in range(int(request.query["limit"]))]
    pagination = {"page": page, "has_next": True, "total_pages": 10**9}
    padding = "x" * (fault.body or 0)
    return web.json_response(
        {"jobs": items, "files": items, "pagination": pagination, "pad": padding}
    )


class PrinternizerSimulator(LoopbackServer):
    """Printernizer's REST API, with controls for tests and demonstrations."""

    thread_name = "printernizer-simulator"

    def __init__(self, *, rate_limit: bool = False) -> None:
        """Start empty; `start` serves it."""
        super().__init__()
        self.printers: list[SimPrinter] = []
        self.jobs: list[SimItem] = []  # newest first, as Printernizer lists them
        self.files: list[SimItem] = []
        # The same files by status, so a filtered page costs no more with history.
        self.files_by_status: dict[str, list[SimItem]] = {}
        self.uploads: list[SimItem] = []
        self.settings: dict[str, Any] = {
            "library_enabled": True,
            "timelapse_enabled": False,
            "job_creation_auto_create": True,
            "library_path": "/data/printernizer/library",
            "host": "0.0.0.0",  # noqa: S104 - what Printernizer reports, not a bind
            "port": 8000,
            "database_path": "/data/printernizer/printernizer.db",
        }
        self.watch_folders: dict[str, Any] = {
            "watch_folders": ["/share/3d-prints/incoming"],
            "enabled": True,
            "recursive": True,
        }
        self.system_info: dict[str, Any] = {
            "app_version": VERSION,
            "python_version": "3.12.1",
            "platform": "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36",
            "machine": "x86_64",
            "deployment_mode": "homeassistant",
        }
        self.health_version = VERSION
        self.requests: list[str] = []  # paths requested, in order
        self.items_served = 0  # list items sent in pages, for measuring poll cost
        self.rate_limit = rate_limit
        self.retry_after = "1"  # what Printernizer sends with a 429
        self._bucket: dict[str, tuple[float, float]] = {}
        self._ids = itertools.count(1)
        self._clock = datetime(2026, 11, 23, 8, 0, 0)  # noqa: DTZ001 - served naive
        self.local_offset = timedelta(0)  # the host's time zone, for monitor stamps

    # ----- state changes (thread-safe) -------------------------------------

    def _next_stamp(
        self, stamp: str | None, created_by: Literal["monitor", "api"] = "monitor"
    ) -> str:
        """Stamp an item as Printernizer does, by who created it.

        Jobs made through the API get whole UTC seconds with a space; items
        made by printer monitoring get local time with microseconds and a
        `T`. The lists sort these stamps as text.
        """
        if stamp is not None:
            return stamp
        self._clock += timedelta(seconds=1)
        if created_by == "api":
            return self._clock.strftime("%Y-%m-%d %H:%M:%S")
        local = self._clock + self.local_offset
        return local.isoformat(timespec="microseconds")

    def set_clock(self, moment: datetime) -> None:
        """Stamp the next items from this UTC moment on, one second apart."""
        with self.lock:
            self._clock = moment.replace(tzinfo=None) - timedelta(seconds=1)

    def add_printer(
        self,
        name: str,
        printer_type: str,
        *,
        configured_type: str | None = None,
        **secrets: str,
    ) -> SimPrinter:
        """Add a printer; `secrets` overrides ip_address, serial_number and so on."""
        with self.lock:
            printer = SimPrinter(
                id=f"printer_{next(self._ids)}",
                name=name,
                printer_type=printer_type,
                configured_type=configured_type or printer_type,
                **secrets,
            )
            self.printers.append(printer)
            return printer

    def set_printer_status(self, printer: SimPrinter, status: str) -> None:
        """Change a printer's status (for example to "error")."""
        with self.lock:
            printer.status = status

    def add_job(
        self,
        printer: SimPrinter | None = None,
        *,
        job_name: str = "benchy.3mf",
        status: str = "running",
        created_at: str | None = None,
        created_by: Literal["monitor", "api"] = "monitor",
    ) -> SimItem:
        """Add a job; it stays "running" unless told otherwise, as auto-jobs do."""
        with self.lock:
            job = self._job(
                printer, job_name, status, self._next_stamp(created_at, created_by)
            )
            _insert_newest_first(self.jobs, job)
            return job

    def _job(
        self,
        printer: SimPrinter | None,
        job_name: str,
        status: str,
        created_at: str,
    ) -> SimItem:
        printer = printer or (self.printers[0] if self.printers else None)
        return SimItem(
            id=str(uuid.uuid4()),
            created_at=created_at,
            fields={
                "printer_id": printer.id if printer else "unknown",
                "printer_type": printer.printer_type if printer else "unknown",
                "job_name": job_name,
                "filename": job_name,
                "status": status,
            },
        )

    def add_file(
        self,
        printer: SimPrinter | None = None,
        *,
        filename: str = "calibration_cube.3mf",
        status: str = "downloaded",
        created_at: str | None = None,
    ) -> SimItem:
        """Add a printer file; like Printernizer, its id embeds the file name."""
        with self.lock:
            item = self._file(printer, filename, status, created_at)
            _insert_newest_first(self.files, item)
            _insert_newest_first(self.files_by_status.setdefault(status, []), item)
            return item

    def _file(
        self,
        printer: SimPrinter | None,
        filename: str,
        status: str,
        created_at: str | None,
    ) -> SimItem:
        printer = printer or self.printers[0]
        return SimItem(
            id=f"{printer.id}_{filename}_{next(self._ids)}",
            created_at=self._next_stamp(created_at),
            fields={
                "printer_id": printer.id,
                "filename": filename,
                "source": "printer",
                "status": status,
                "file_size": 123456,
                "file_path": f"/cache/{printer.id}/{filename}",
            },
        )

    def add_upload(
        self, *, filename: str = "upload.stl", created_at: str | None = None
    ) -> SimItem:
        """Add a file uploaded to the library."""
        with self.lock:
            item = self._upload(filename, created_at)
            _insert_newest_first(self.uploads, item)
            return item

    def _upload(self, filename: str, created_at: str | None) -> SimItem:
        checksum = uuid.uuid4().hex * 2
        return SimItem(
            id=checksum,
            created_at=self._next_stamp(created_at),
            fields={
                "checksum": checksum,
                "filename": filename,
                "library_path": f"/library/uploads/{filename}",
                "sources": json.dumps([{"type": "upload", "name": filename}]),
            },
        )

    def add_history(self, *, jobs: int = 0, files: int = 0, uploads: int = 0) -> None:
        """Add many completed jobs, downloads and uploads at once, newer than the rest.

        One item at a time would make a history of 100,000 jobs take minutes.
        """
        with self.lock:
            new_jobs = [
                self._job(None, "part.3mf", "completed", self._next_stamp(None))
                for _ in range(jobs)
            ]
            new_files = [
                self._file(None, "part.3mf", "downloaded", None) for _ in range(files)
            ]
            new_uploads = [self._upload("model.stl", None) for _ in range(uploads)]
            self.jobs[:0] = reversed(new_jobs)
            self.files[:0] = reversed(new_files)
            downloaded = self.files_by_status.setdefault("downloaded", [])
            downloaded[:0] = reversed(new_files)
            self.uploads[:0] = reversed(new_uploads)

    def wipe_jobs(self, newest: int | None = None) -> None:
        """Delete every job (or the newest ones), as a Printernizer restart can."""
        with self.lock:
            del self.jobs[:newest]

    # ----- serving ------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Return Printernizer's routes, under the base path if one is set."""
        app = web.Application(middlewares=[self._middleware])
        routes = [
            ("/api/v1/health", self._health),
            ("/api/v1/system/info", self._system_info),
            ("/api/v1/debug/system-info", self._debug_system_info),
            ("/api/v1/printers", self._printers),
            ("/api/v1/settings/printers", self._printer_settings),
            ("/api/v1/jobs", self._jobs),
            ("/api/v1/files", self._files),
            ("/api/v1/files/statistics", self._file_statistics),
            ("/api/v1/library/files", self._uploads),
            ("/api/v1/settings/application", self._application_settings),
            ("/api/v1/settings/watch-folders", self._watch_folders),
        ]
        for path, handler in routes:
            app.router.add_get(f"{self.base_path}{path}", handler)
        return app

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Any],
    ) -> web.StreamResponse:
        path = request.path.removeprefix(self.base_path)
        with self.lock:
            self.requests.append(path)
            fault = self.take_fault(path)
            limited = self._rate_limited(request, path)
        if limited:
            return _error_envelope(429, headers={"Retry-After": self.retry_after})
        if fault is not None:
            response = await self._apply_fault(fault, request)
            if response is not None:
                return response
        with self.lock:
            result: web.StreamResponse = await handler(request)
        return result

    def _rate_limited(self, request: web.Request, path: str) -> bool:
        """100 requests a minute with a burst of 20 per client; health is exempt."""
        if not self.rate_limit or path == "/api/v1/health":
            return False
        client = request.remote or ""
        now = real_monotonic()
        tokens, last = self._bucket.get(client, (20.0, now))
        tokens = min(20.0, tokens + (now - last) * 100 / 60)
        if tokens < 1:
            self._bucket[client] = (tokens, now)
            return True
        self._bucket[client] = (tokens - 1, now)
        return False

    async def _apply_fault(
        self, fault: Fault, request: web.Request
    ) -> web.StreamResponse | None:
        if (redirect := redirect_response(fault, request)) is not None:
            return redirect
        if fault.kind == "404":
            return web.json_response({"detail": "Not Found"}, status=404)
        if fault.kind.isdigit():
            headers = {"Retry-After": self.retry_after} if fault.kind == "429" else {}
            return _error_envelope(int(fault.kind), headers=headers)
        if fault.kind in ("json", "raw", "endless"):
            return _made_up_body(fault, request)
        if fault.kind == "html":
            return web.Response(
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        if fault.kind == "truncated":
            return web.Response(
                text='{"status": "healthy", "printers": [{"id": "printer_1", "na',
                content_type="application/json",
            )
        if fault.kind == "huge":
            return web.Response(
                body=b'{"padding": "' + b"x" * (10 * 1024 * 1024) + b'"}',
                content_type="application/json",
            )
        if fault.kind == "huge_chunked":
            stream = web.StreamResponse(headers={"Content-Type": "application/json"})
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            # The client hangs up once it has read its cap, as it should.
            with suppress(ConnectionError):
                for _ in range(40):
                    await stream.write(b" " * (256 * 1024))
                await stream.write_eof()
            return stream
        if fault.kind == "short_body":
            stream = web.StreamResponse(
                headers={"Content-Type": "application/json", "Content-Length": "1000"}
            )
            await stream.prepare(request)
            await stream.write(b'{"status": ')
            assert request.transport is not None
            request.transport.close()
            return stream
        if fault.kind == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        await asyncio.sleep(fault.delay)  # "slow": answer normally, late
        return None

    # ----- endpoints (called with the lock held) ----------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "healthy",
                "version": self.health_version,
                "environment": "production",
                "uptime_seconds": None,
                "printer_count": 0,
                "timestamp": self._clock.isoformat(),
            }
        )

    async def _system_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "version": "unknown",
                "timezone": "Europe/Berlin",
                "database_size_mb": 1.5,
                "uptime_seconds": 3600,
            }
        )

    async def _debug_system_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.system_info)

    async def _printers(self, request: web.Request) -> web.Response:
        page, limit = _paging(request, 100)
        selected = self.printers[(page - 1) * limit : page * limit]
        body = {
            "printers": [
                {
                    "id": printer.id,
                    "name": printer.name,
                    "printer_type": printer.printer_type,
                    "status": printer.status,
                    "ip_address": printer.ip_address,
                    "location": printer.location,
                    "connection_config": {
                        "ip_address": printer.ip_address,
                        "api_key": printer.api_key,
                        "access_code": printer.access_code,
                        "serial_number": printer.serial_number,
                    },
                    "is_active": True,
                }
                for printer in selected
            ],
            "total_count": len(self.printers),
            "pagination": _pagination(page, limit, len(self.printers)),
        }
        return web.json_response(body)

    async def _printer_settings(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                printer.id: {
                    "printer_id": printer.id,
                    "name": printer.name,
                    "type": printer.configured_type,
                    "ip_address": printer.ip_address,
                    "is_active": True,
                }
                for printer in self.printers
            }
        )

    async def _jobs(self, request: web.Request) -> web.Response:
        page, limit = _paging(request, 1000)
        return web.json_response(
            {
                "jobs": self._page_of(self.jobs, page, limit),
                "total_count": len(self.jobs),
                "pagination": _pagination(page, limit, len(self.jobs)),
            }
        )

    async def _files(self, request: web.Request) -> web.Response:
        page, limit = _paging(request, 1000)
        status = request.query.get("status")
        files = self.files if status is None else self.files_by_status.get(status, [])
        return web.json_response(
            {
                "files": self._page_of(files, page, limit),
                "total_count": len(files),
                "pagination": _pagination(page, limit, len(files)),
            }
        )

    async def _file_statistics(self, request: web.Request) -> web.Response:
        # Printernizer's own statistics have known counting bugs; never used.
        return web.json_response({"total_files": len(self.files), "total_size": 0})

    async def _uploads(self, request: web.Request) -> web.Response:
        page, limit = _paging(request, 200)
        pagination = _pagination(page, limit, len(self.uploads))
        pagination["has_next"] = page < pagination["total_pages"]
        return web.json_response(
            {
                # Library files carry no created_at: the stamp is their own.
                "files": self._page_of(
                    self.uploads, page, limit, stamp_field="added_to_library"
                ),
                "pagination": pagination,
            }
        )

    def _page_of(
        self,
        items: list[SimItem],
        page: int,
        limit: int,
        stamp_field: str = "created_at",
    ) -> list[dict[str, Any]]:
        """Return one page by slicing, never sorting: its cost ignores history."""
        served = [
            {"id": item.id, **item.fields, stamp_field: item.created_at}
            for item in items[(page - 1) * limit : page * limit]
        ]
        self.items_served += len(served)
        return served

    async def _application_settings(self, request: web.Request) -> web.Response:
        return web.json_response(self.settings)

    async def _watch_folders(self, request: web.Request) -> web.Response:
        return web.json_response(self.watch_folders)


def _insert_newest_first(items: list[SimItem], item: SimItem) -> None:
    """Insert where ORDER BY created_at DESC puts it: after equal stamps.

    Printernizer lists rows of the same second oldest first, and local-time
    stamps sort "later" than UTC ones, so this order is only roughly newest first.
    """
    index = 0
    while index < len(items) and items[index].created_at >= item.created_at:
        index += 1
    items.insert(index, item)


def _paging(request: web.Request, max_limit: int) -> tuple[int, int]:
    try:
        page = max(1, int(request.query.get("page", "1")))
        limit = min(max_limit, max(1, int(request.query.get("limit", "50"))))
    except ValueError:
        raise web.HTTPUnprocessableEntity from None
    return page, limit


def _pagination(page: int, limit: int, total: int) -> dict[str, Any]:
    return {
        "page": page,
        "limit": limit,
        "total_items": total,
        "total_pages": (total + limit - 1) // limit,
    }


def _error_envelope(status: int, headers: dict[str, str]) -> web.Response:
    return web.json_response(
        {
            "status": "error",
            "message": "simulated failure",
            "error_code": ERROR_CODES.get(status, f"HTTP_{status}"),
            "details": {},
            "timestamp": datetime.now(UTC).replace(tzinfo=None).isoformat(),
        },
        status=status,
        headers=headers,
    )


def seed_demo_fleet(simulator: PrinternizerSimulator) -> None:
    """Three printers and a little history, as a small workshop would have."""
    bambu = simulator.add_printer("Bambu X1C", "bambu_lab")
    simulator.add_printer("Prusa MK4", "prusa_core", configured_type="prusa")
    simulator.add_printer(
        "Ender via OctoPrint", "prusa_core", configured_type="octoprint"
    )
    for _ in range(5):
        simulator.add_job(bambu, status="completed")
        simulator.add_file(bambu)
    simulator.add_upload()


@contextmanager
def serving_demo_fleet() -> Iterator[PrinternizerSimulator]:
    """Serve the demo fleet on 127.0.0.1 until the block ends."""
    simulator = PrinternizerSimulator()
    seed_demo_fleet(simulator)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


def keep_printing(
    simulator: PrinternizerSimulator, stop: threading.Event, interval: float
) -> None:
    """Add activity every interval seconds until stop is set."""
    rng = random.Random(42)
    while not stop.wait(interval):
        printer = rng.choice(simulator.printers)
        simulator.add_job(printer)
        if rng.random() < 0.6:
            simulator.add_file(printer, filename=f"part_{rng.randint(1, 99)}.3mf")
        if rng.random() < 0.3:
            simulator.add_upload(filename=f"model_{rng.randint(1, 99)}.stl")
        if rng.random() < 0.1:
            status = "error" if printer.status != "error" else "online"
            simulator.set_printer_status(printer, status)


def main() -> None:
    """Serve a demo fleet that keeps printing, until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--interval", type=float, default=30.0, help="seconds between new jobs"
    )
    args = parser.parse_args()
    simulator = PrinternizerSimulator(rate_limit=True)
    seed_demo_fleet(simulator)
    url = simulator.start(args.host, args.port)
    print(f"Printernizer simulator serving a demo fleet on {url}")  # noqa: T201
    stop = threading.Event()
    try:
        keep_printing(simulator, stop, args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
