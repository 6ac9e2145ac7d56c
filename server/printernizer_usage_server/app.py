"""The FastAPI application: routes, request log, migrations and periodic purge."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

from fastapi import FastAPI

from printernizer_usage_server.clock import Clock, utc_now
from printernizer_usage_server.database import create_engine, session_factory
from printernizer_usage_server.logging_policy import guard_loggers
from printernizer_usage_server.migration import upgrade_to_head
from printernizer_usage_server.purge_task import PeriodicPurge
from printernizer_usage_server.request_log import RequestLogMiddleware
from printernizer_usage_server.routes import build_router
from printernizer_usage_server.runtime import Runtime

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from printernizer_usage_server.settings import Settings


def create_app(settings: Settings, clock: Clock = utc_now) -> FastAPI:
    """Return the service as an ASGI app; `clock` returns the aware UTC time."""
    guard_loggers()
    runtime = Runtime(settings=settings, clock=clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        try:
            await upgrade_to_head(engine)
            runtime.sessions = session_factory(engine)
            runtime.purger = PeriodicPurge(
                engine,
                runtime.sessions,
                clock,
                settings.retention_days,
                settings.purge_interval_seconds,
            )
            # A service that was down past a row's retention drops it before
            # it serves anything.
            await runtime.purger.run_once()
            periodic = asyncio.create_task(runtime.purger.run_forever())
            try:
                yield
            finally:
                periodic.cancel()
                with suppress(asyncio.CancelledError):
                    await periodic
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Printernizer usage statistics collection server",
        # No documentation routes: the service answers its protocol only.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # A trailing slash is a path the service does not have, not a redirect.
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.include_router(build_router(runtime))
    app.add_middleware(RequestLogMiddleware)
    return app
