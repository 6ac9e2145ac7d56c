"""Client for the Printernizer REST API that keeps only what the statistics need."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import json
from typing import Any

import aiohttp

REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=10)


class PrinternizerErrorKind(StrEnum):
    """Why a request to Printernizer failed, in the error vocabulary of the payload."""

    CONNECTION_TIMEOUT = "connection_timeout"
    CONNECTION_REFUSED = "connection_refused"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    INVALID_RESPONSE = "invalid_response"


class PrinternizerError(Exception):
    """A request to Printernizer failed; the message never holds response content."""

    def __init__(self, kind: PrinternizerErrorKind) -> None:
        """Remember the kind of failure only."""
        super().__init__(kind.value)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class HealthInfo:
    """What `/api/v1/health` tells about the server."""

    status: str


class PrinternizerClient:
    """Reads the Printernizer endpoints the integration is allowed to use."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Use Home Assistant's shared session for every request."""
        self._session = session
        self._base_url = base_url.rstrip("/")

    async def async_health(self) -> HealthInfo:
        """Check that the server is Printernizer and answers."""
        body = await self._async_get_json("/api/v1/health")
        status = body.get("status")
        if status not in ("healthy", "degraded", "unhealthy"):
            raise PrinternizerError(PrinternizerErrorKind.INVALID_RESPONSE)
        return HealthInfo(status=status)

    async def _async_get_json(self, path: str) -> dict[str, Any]:
        """GET a path and return its JSON object, classifying every failure."""
        try:
            async with self._session.get(
                f"{self._base_url}{path}", timeout=REQUEST_TIMEOUT
            ) as response:
                if response.status == 429:
                    raise PrinternizerError(PrinternizerErrorKind.RATE_LIMITED)
                if response.status >= 500:
                    raise PrinternizerError(PrinternizerErrorKind.SERVER_ERROR)
                if response.status != 200:
                    raise PrinternizerError(PrinternizerErrorKind.INVALID_RESPONSE)
                text = await response.text()
        except TimeoutError as err:
            raise PrinternizerError(PrinternizerErrorKind.CONNECTION_TIMEOUT) from err
        except (aiohttp.ClientConnectionError, OSError) as err:
            raise PrinternizerError(PrinternizerErrorKind.CONNECTION_REFUSED) from err
        except aiohttp.ClientError as err:
            raise PrinternizerError(PrinternizerErrorKind.INVALID_RESPONSE) from err
        try:
            body = json.loads(text)
        except ValueError as err:
            raise PrinternizerError(PrinternizerErrorKind.INVALID_RESPONSE) from err
        if not isinstance(body, dict):
            raise PrinternizerError(PrinternizerErrorKind.INVALID_RESPONSE)
        return body
