"""Client for the Printernizer REST API that keeps only what the statistics need.

Names, ids, addresses, serial numbers, keys, access codes and paths are read
here and go no further: the types this module returns have no field for them,
and item and printer ids leave it only as salted hashes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
import hashlib
import json
from typing import Any, Final

import aiohttp

from . import sanitise
from .const import (
    ITEM_KEY_BYTES,
    PAGE_SIZE,
    DeploymentMode,
    ErrorType,
    FeatureFlag,
    Listing,
    PlatformFamily,
    PrinterType,
)
from .outgoing import async_request

REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=20, connect=10)
# A page of 100 items is far below this; anything larger is not a real answer.
MAX_BODY_BYTES: Final = 2 * 1024 * 1024
# Real answers are a few kB; a larger body is parsed in a worker thread, so a
# hostile one cannot hold the event loop.
MAX_BODY_BYTES_IN_LOOP: Final = 64 * 1024
# Fleets are small; this only stops a misbehaving server from paging forever.
MAX_PRINTER_PAGES: Final = 20
MAX_CONFIGURED_PRINTERS: Final = MAX_PRINTER_PAGES * PAGE_SIZE
# Printernizer answers 429 with Retry-After: 1 beyond a burst of 20 requests;
# waiting that long a few times lets a poll with many pages finish.
RATE_LIMIT_RETRIES: Final = 3
MAX_RETRY_AFTER_SECONDS: Final = 5
PRINTER_SCOPE: Final = "printers"


class PrinternizerError(Exception):
    """A request to Printernizer failed; the message never holds response content."""

    def __init__(self, kind: ErrorType, retry_after: float | None = None) -> None:
        """Remember the kind of failure, in the error vocabulary."""
        super().__init__(kind.value)
        self.kind = kind
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RuntimeFacts:
    """Printernizer's runtime, reduced to the vocabularies of the statistics."""

    python_version: str | None
    platform: PlatformFamily
    deployment_mode: DeploymentMode


UNKNOWN_RUNTIME: Final = RuntimeFacts(
    python_version=None,
    platform=PlatformFamily.OTHER,
    deployment_mode=DeploymentMode.UNKNOWN,
)


@dataclass(frozen=True, slots=True)
class PrinterState:
    """One printer: a salted hash of its id, its type and whether it is in error."""

    key: bytes
    printer_type: PrinterType
    in_error: bool


@dataclass(frozen=True, slots=True)
class ItemPage:
    """Salted hashes of the item ids on one page, in Printernizer's order.

    `oldest_day` is the earliest day any item on the page is stamped with
    (None when no stamp is readable); it is used for paging, never kept.
    """

    keys: tuple[bytes, ...]
    has_more: bool
    oldest_day: date | None


class ItemKeyer:
    """Turns Printernizer ids into salted hashes, so no id itself is ever kept."""

    def __init__(self, salt: bytes) -> None:
        """Use the installation's secret salt as the hash key."""
        self._salt = salt

    def key(self, scope: str, raw_id: str) -> bytes:
        """Hash an id within a scope (a listing, or the printers)."""
        return hashlib.blake2b(
            raw_id.encode(),
            key=self._salt,
            person=scope.encode()[:16],
            digest_size=ITEM_KEY_BYTES,
        ).digest()


@dataclass(frozen=True, slots=True)
class _ListingEndpoint:
    path: str
    params: Mapping[str, str]
    items_field: str


_LISTINGS: Final = {
    Listing.JOBS: _ListingEndpoint("/api/v1/jobs", {}, "jobs"),
    Listing.DOWNLOADED_FILES: _ListingEndpoint(
        "/api/v1/files",
        {"status": "downloaded", "order_by": "created_at", "order_dir": "desc"},
        "files",
    ),
    Listing.UPLOADS: _ListingEndpoint(
        "/api/v1/library/files", {"source_type": "upload"}, "files"
    ),
}

# Printernizer's setting name for each flag it exposes in /settings/application.
_APPLICATION_FLAGS: Final = {
    "library_enabled": FeatureFlag.LIBRARY,
    "timelapse_enabled": FeatureFlag.TIMELAPSE,
    "job_creation_auto_create": FeatureFlag.AUTO_JOB_CREATION,
}


class PrinternizerClient:
    """Reads the Printernizer endpoints the integration is allowed to use.

    Only the health check must exist. Every other endpoint may be missing in
    an older Printernizer; its method then returns None (or unknown values).
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Use Home Assistant's shared session for every request."""
        self._session = session
        self._base_url = base_url.rstrip("/")

    async def async_app_version(self) -> str:
        """Check that Printernizer answers its health check; return its version."""
        body = await self._async_get_object("/api/v1/health")
        if body is None or body.get("status") not in (
            "healthy",
            "degraded",
            "unhealthy",
        ):
            raise PrinternizerError(ErrorType.INVALID_RESPONSE)
        return sanitise.app_version(body.get("version"))

    async def async_runtime_facts(self) -> RuntimeFacts:
        """Return Printernizer's Python version, OS family and deployment mode."""
        body = await self._async_get_object("/api/v1/debug/system-info")
        if body is None:
            return UNKNOWN_RUNTIME
        return RuntimeFacts(
            python_version=sanitise.python_version(body.get("python_version")),
            platform=sanitise.platform_family(body.get("platform")),
            deployment_mode=sanitise.deployment_mode(body.get("deployment_mode")),
        )

    async def async_printers(self, keyer: ItemKeyer) -> tuple[PrinterState, ...] | None:
        """Return every printer's type and error state, preferring configured types."""
        configured = await self._async_configured_printer_types()
        printers: list[PrinterState] = []
        for page in range(1, MAX_PRINTER_PAGES + 1):
            body = await self._async_get_object(
                "/api/v1/printers", {"page": str(page), "limit": str(PAGE_SIZE)}
            )
            if body is None:
                return None
            items = _list_field(body, "printers")
            for item in items:
                printer_id = _item_id(item)
                if printer_id is None:
                    continue
                reported = sanitise.printer_type(item.get("printer_type"))
                printers.append(
                    PrinterState(
                        key=keyer.key(PRINTER_SCOPE, printer_id),
                        printer_type=configured.get(printer_id)
                        or reported
                        or PrinterType.OTHER,
                        in_error=item.get("status") == "error",
                    )
                )
            if not _has_more(body, page, len(items)):
                break
        return tuple(printers)

    async def async_item_page(
        self, listing: Listing, page: int, keyer: ItemKeyer
    ) -> ItemPage | None:
        """Return the hashed ids on one page of a newest-first item list."""
        endpoint = _LISTINGS[listing]
        body = await self._async_get_object(
            endpoint.path,
            {**endpoint.params, "limit": str(PAGE_SIZE), "page": str(page)},
        )
        if body is None:
            return None
        items = _list_field(body, endpoint.items_field)
        keys = tuple(
            keyer.key(listing, item_id)
            for item_id in map(_item_id, items)
            if item_id is not None
        )
        days = [
            day
            for day in (sanitise.listed_day(item.get("created_at")) for item in items)
            if day is not None
        ]
        return ItemPage(
            keys=keys,
            has_more=_has_more(body, page, len(items)),
            oldest_day=min(days, default=None),
        )

    async def async_feature_flags(self) -> dict[FeatureFlag, bool]:
        """Return the feature flags Printernizer exposes, and only those."""
        flags: dict[FeatureFlag, bool] = {}
        application = await self._async_get_object("/api/v1/settings/application")
        if application is not None:
            for setting, flag in _APPLICATION_FLAGS.items():
                value = application.get(setting)
                if isinstance(value, bool):
                    flags[flag] = value
        watch_folders = await self._async_get_object("/api/v1/settings/watch-folders")
        if watch_folders is not None and isinstance(
            enabled := watch_folders.get("enabled"), bool
        ):
            flags[FeatureFlag.WATCH_FOLDERS] = enabled
        return flags

    async def _async_configured_printer_types(self) -> dict[str, PrinterType]:
        """Map printer ids to the type set in Printernizer's configuration."""
        body = await self._async_get_object("/api/v1/settings/printers")
        types: dict[str, PrinterType] = {}
        if body is not None and len(body) > MAX_CONFIGURED_PRINTERS:
            raise PrinternizerError(ErrorType.INVALID_RESPONSE)
        for printer_id, settings in (body or {}).items():
            if isinstance(settings, dict) and (
                configured := sanitise.printer_type(settings.get("type"))
            ):
                types[printer_id] = configured
        return types

    async def _async_get_object(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> dict[str, Any] | None:
        """GET a JSON object, waiting out a few rate limits; None for a 404."""
        retries = 0
        while True:
            try:
                return await self._async_get_object_once(path, params)
            except PrinternizerError as err:
                if err.retry_after is None or retries == RATE_LIMIT_RETRIES:
                    raise
                wait = err.retry_after
            retries += 1
            await asyncio.sleep(wait)

    async def _async_get_object_once(
        self, path: str, params: Mapping[str, str] | None
    ) -> dict[str, Any] | None:
        """GET a JSON object once.

        Every failure becomes a PrinternizerError of the error vocabulary; the
        body is never logged or kept, because Printernizer puts secrets in some.
        """
        try:
            async with async_request(
                self._session,
                "GET",
                f"{self._base_url}{path}",
                params=params,
                client_timeout=REQUEST_TIMEOUT,
            ) as response:
                if response.status == 404:
                    return None
                if response.status == 429:
                    raise PrinternizerError(
                        ErrorType.RATE_LIMITED, _retry_after(response)
                    )
                if response.status >= 500:
                    raise PrinternizerError(ErrorType.SERVER_ERROR)
                # A redirect (from a proxy in front, say) is not followed.
                if response.status != 200:
                    raise PrinternizerError(ErrorType.INVALID_RESPONSE)
                raw = await _read_limited(response)
        except TimeoutError as err:
            raise PrinternizerError(ErrorType.CONNECTION_TIMEOUT) from err
        except (aiohttp.ClientConnectionError, OSError) as err:
            raise PrinternizerError(ErrorType.CONNECTION_REFUSED) from err
        except aiohttp.ClientError as err:
            raise PrinternizerError(ErrorType.INVALID_RESPONSE) from err
        try:
            if len(raw) > MAX_BODY_BYTES_IN_LOOP:
                loop = asyncio.get_running_loop()
                body = await loop.run_in_executor(None, json.loads, raw)
            else:
                body = json.loads(raw)
        except (ValueError, RecursionError) as err:
            # RecursionError: nested deeper than the parser goes.
            raise PrinternizerError(ErrorType.INVALID_RESPONSE) from err
        if not isinstance(body, dict):
            raise PrinternizerError(ErrorType.INVALID_RESPONSE)
        # Some endpoints wrap their answer as {"status": "success", "data": {...}}.
        data = body.get("data")
        if body.get("status") == "success" and isinstance(data, dict):
            return data
        return body


def _retry_after(response: aiohttp.ClientResponse) -> float:
    """Return how long to wait after a 429, within sensible bounds."""
    try:
        seconds = int(response.headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1
    return float(min(max(seconds, 0), MAX_RETRY_AFTER_SECONDS))


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    """Read a body, refusing one larger than any real Printernizer answer."""
    if (response.content_length or 0) > MAX_BODY_BYTES:
        raise PrinternizerError(ErrorType.INVALID_RESPONSE)
    raw = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise PrinternizerError(ErrorType.INVALID_RESPONSE)
    return bytes(raw)


def _list_field(body: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    """Return the item objects of a list answer, at most the page size asked for."""
    items = body.get(field)
    if not isinstance(items, list) or len(items) > PAGE_SIZE:
        raise PrinternizerError(ErrorType.INVALID_RESPONSE)
    return [item for item in items if isinstance(item, dict)]


def _item_id(item: Mapping[str, Any]) -> str | None:
    """Return an item's id as text, or None when it has no usable id."""
    value = item.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text or None


def _has_more(body: Mapping[str, Any], page: int, item_count: int) -> bool:
    """Tell from the pagination block (or a full page) whether another page exists."""
    pagination = body.get("pagination")
    if isinstance(pagination, dict):
        has_next = pagination.get("has_next")
        if isinstance(has_next, bool):
            return has_next
        total_pages = pagination.get("total_pages")
        if isinstance(total_pages, int) and not isinstance(total_pages, bool):
            return page < total_pages
    return item_count >= PAGE_SIZE
