"""The HTTP routes, exactly as the submission protocol describes them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from printernizer_usage_server import storage
from printernizer_usage_server.auth import KeyCheck, check_api_key
from printernizer_usage_server.body import (
    BodyTooLargeError,
    BodyTooSlowError,
    NotJsonError,
    parse_json,
    read_capped,
)
from printernizer_usage_server.clock import read_clock
from printernizer_usage_server.schema import installation_id_pattern
from printernizer_usage_server.stored_fields import stored_fields
from printernizer_usage_server.validation import (
    payload_errors,
    period_timing_errors,
)

if TYPE_CHECKING:
    from printernizer_usage_server.runtime import Runtime

AUDIT_LOGGER: Final = logging.getLogger("printernizer_usage_server.audit")
RATE_LIMIT_DETAIL: Final = (
    "Rate limit exceeded. One submission per hour per installation is accepted."
)
_JSON_INVALID: Final = {
    "type": "json_invalid",
    "loc": ["body"],
    "msg": "JSON decode error",
    "input": {},
}


def build_router(runtime: Runtime) -> APIRouter:
    """Return the service's routes, working on `runtime`."""
    router = APIRouter()

    @router.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.post("/submit")
    async def submit(request: Request) -> JSONResponse:
        payload = await _readable_payload(runtime, request)
        if isinstance(payload, JSONResponse):
            return payload
        now = read_clock(runtime.clock)
        errors = payload_errors(payload) or period_timing_errors(
            payload, now, runtime.settings.retention_days
        )
        if errors:
            return _detail(422, errors)
        outcome = await storage.submit(runtime.sessions, stored_fields(payload), now)
        if isinstance(outcome, storage.RateLimited):
            return _detail(
                429,
                RATE_LIMIT_DETAIL,
                headers={"Retry-After": str(outcome.retry_after_seconds)},
            )
        message = (
            "Submission was received before"
            if outcome.repeat
            else "Submission received"
        )
        return JSONResponse(
            {
                "status": "success",
                "submission_id": outcome.submission_id,
                "message": message,
            }
        )

    @router.delete("/installation/{installation_id}")
    async def delete_installation(
        installation_id: str, request: Request
    ) -> JSONResponse:
        refusal = _key_refusal(runtime, request)
        if refusal is not None:
            return refusal
        if not installation_id_pattern().fullmatch(installation_id):
            return _detail(
                422,
                [
                    {
                        "type": "string_pattern_mismatch",
                        "loc": ["path", "installation_id"],
                        "msg": "Installation id should be a lowercase UUID version 4",
                        "input": installation_id,
                    }
                ],
            )
        deleted = await storage.delete_installation(runtime.sessions, installation_id)
        runtime.purger.note_deletion(deleted)
        # The audit trail shows that deletions happen, never whose.
        AUDIT_LOGGER.info(
            "deletion day=%s deleted=%d",
            read_clock(runtime.clock).date().isoformat(),
            deleted,
        )
        return JSONResponse(
            {
                "status": "success",
                "deleted_count": deleted,
                "message": "Installation data deleted",
            }
        )

    return router


async def _readable_payload(runtime: Runtime, request: Request) -> Any:
    """Return the parsed body, or the answer refusing it before it is checked."""
    try:
        body = await read_capped(
            request,
            runtime.settings.max_body_bytes,
            runtime.settings.body_timeout_seconds,
        )
    except BodyTooLargeError:
        return _detail(413, "Payload too large")
    except BodyTooSlowError:
        return _detail(408, "Request body not received in time")
    # Upstream answers a body that is not JSON with 422 before it looks at
    # the key; clients are written against that order.
    try:
        payload = parse_json(body)
    except NotJsonError:
        return _detail(422, [_JSON_INVALID])
    refusal = _key_refusal(runtime, request)
    return payload if refusal is None else refusal


def _key_refusal(runtime: Runtime, request: Request) -> JSONResponse | None:
    """Return the answer refusing the request's key, or None if it may pass."""
    check = check_api_key(runtime.settings.api_keys, request.headers.get("x-api-key"))
    if check is KeyCheck.MISSING:
        return _detail(403, "Not authenticated")
    if check is KeyCheck.INVALID:
        return _detail(401, "Invalid API key")
    return None


def _detail(
    status: int, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)
