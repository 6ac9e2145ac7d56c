"""A Printernizer that answers too much, forever, or nested garbage cannot hurt.

Every bound here is a count, never a time: items per page, pages per poll,
new items per poll, bytes per answer, and JSON nesting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import json

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.api import (
    MAX_BODY_BYTES,
    MAX_CONFIGURED_PRINTERS,
    ItemKeyer,
    PrinternizerClient,
    PrinternizerError,
)
from custom_components.printernizer_usage.collector import MAX_PAGES_PER_POLL
from custom_components.printernizer_usage.const import (
    MAX_REMEMBERED_ITEMS,
    PAGE_SIZE,
    ErrorType,
    Listing,
)

from .helpers import refresh
from .simulator.printernizer import PrinternizerSimulator
from .test_init import JOBS

KEYER = ItemKeyer(b"\x02" * 32)
NESTED = b"[" * 100_000 + b"]" * 100_000  # 200 kB, deeper than any parser recurses


@pytest.fixture
async def client(
    printernizer: PrinternizerSimulator,
) -> AsyncIterator[PrinternizerClient]:
    """Return a client for the simulator on a session of its own."""
    async with aiohttp.ClientSession() as session:
        yield PrinternizerClient(session, printernizer.url)


def page_of(count: int) -> dict[str, object]:
    """Return a jobs page holding `count` items, whatever was asked for."""
    return {
        "jobs": [{"id": f"job-{number}"} for number in range(count)],
        "pagination": {"page": 1, "total_pages": 1},
    }


async def test_a_page_longer_than_asked_for_is_invalid(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """125,000 items where 100 were asked for is no answer of Printernizer's."""
    assert len(json.dumps(page_of(125_000))) < MAX_BODY_BYTES * 2
    for count in (PAGE_SIZE + 1, 125_000):
        printernizer.fail("json", "/api/v1/jobs", body=page_of(count))
        with pytest.raises(PrinternizerError) as caught:
            await client.async_item_page(Listing.JOBS, 1, KEYER)
        assert caught.value.kind is ErrorType.INVALID_RESPONSE
    printernizer.fail("json", "/api/v1/jobs", body=page_of(PAGE_SIZE))
    page = await client.async_item_page(Listing.JOBS, 1, KEYER)
    assert len(page.keys) == PAGE_SIZE


async def test_too_many_configured_printers_is_invalid(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """The printer settings are an object by id; a flood of ids is refused."""
    flood = {f"p{n}": {"type": "prusa"} for n in range(MAX_CONFIGURED_PRINTERS + 1)}
    printernizer.fail("json", "/api/v1/settings/printers", body=flood)
    with pytest.raises(PrinternizerError) as caught:
        await client.async_printers(KEYER)
    assert caught.value.kind is ErrorType.INVALID_RESPONSE


type Read = Callable[[PrinternizerClient], Awaitable[object]]
READS: list[tuple[str, Read]] = [
    ("/api/v1/health", lambda client: client.async_app_version()),
    ("/api/v1/jobs", lambda client: client.async_item_page(Listing.JOBS, 1, KEYER)),
    ("/api/v1/settings/application", lambda client: client.async_feature_flags()),
]


@pytest.mark.parametrize(("path", "read"), READS, ids=[path for path, _ in READS])
async def test_deep_nesting_is_an_invalid_response(
    client: PrinternizerClient,
    printernizer: PrinternizerSimulator,
    path: str,
    read: Read,
) -> None:
    """A body nested deeper than the parser recurses is invalid, not a crash."""
    printernizer.fail("raw", path, body=NESTED)
    with pytest.raises(PrinternizerError) as caught:
        await read(client)
    assert caught.value.kind is ErrorType.INVALID_RESPONSE


async def test_a_nested_health_check_does_not_stop_the_entry(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """The entry loads, says Printernizer answered wrongly, and counts it."""
    printernizer.fail("raw", "/api/v1/health", body=NESTED, times=1000)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    coordinator = mock_config_entry.runtime_data.coordinator
    assert coordinator.data.last_error is ErrorType.INVALID_RESPONSE
    assert hass.states.get(JOBS).state == "0"


async def test_endless_pages_of_new_items_are_bounded(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """A poll reads at most the pages it can remember, and counts at most that."""
    printernizer.fail("endless", "/api/v1/jobs", times=10_000)
    with printernizer.lock:
        printernizer.requests.clear()
    await refresh(hass, init_integration)
    pages = [path for path in printernizer.requests if path == "/api/v1/jobs"]
    assert len(pages) == MAX_PAGES_PER_POLL
    counted = int(hass.states.get(JOBS).state)
    assert counted == MAX_PAGES_PER_POLL * PAGE_SIZE <= MAX_REMEMBERED_ITEMS
    await refresh(hass, init_integration)
    assert int(hass.states.get(JOBS).state) == 2 * counted
    seen = init_integration.runtime_data.coordinator.collector.state.seen
    assert len(seen[Listing.JOBS]) == MAX_REMEMBERED_ITEMS
