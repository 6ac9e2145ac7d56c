"""The Printernizer client against the simulator: shapes, hazards, error classes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import cast

import aiohttp
import pytest

from custom_components.printernizer_usage import api
from custom_components.printernizer_usage.api import (
    ItemKeyer,
    PrinternizerClient,
    PrinternizerError,
)
from custom_components.printernizer_usage.const import (
    DeploymentMode,
    ErrorType,
    FeatureFlag,
    Listing,
    PlatformFamily,
    PrinterType,
)

from .simulator.printernizer import PrinternizerSimulator

KEYER = ItemKeyer(b"\x01" * 32)


@pytest.fixture
async def client(
    printernizer: PrinternizerSimulator,
) -> AsyncIterator[PrinternizerClient]:
    """Return a client for the simulator on a session of its own."""
    async with aiohttp.ClientSession() as session:
        yield PrinternizerClient(session, printernizer.url + "/")


async def test_reads_versions_and_runtime(client: PrinternizerClient) -> None:
    """Versions come from /health; the platform string is reduced to its family."""
    assert await client.async_app_version() == "2.42.0"
    facts = await client.async_runtime_facts()
    assert facts == api.RuntimeFacts(
        python_version="3.12.1",
        platform=PlatformFamily.LINUX,
        deployment_mode=DeploymentMode.HOMEASSISTANT,
    )


async def test_missing_endpoints(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """An older Printernizer without an endpoint gives unknowns, not errors."""
    printernizer.fail("404", "/api/v1/debug/system-info")
    printernizer.fail("404", "/api/v1/settings/", times=2)
    assert await client.async_runtime_facts() == api.UNKNOWN_RUNTIME
    assert await client.async_feature_flags() == {}
    printernizer.fail("404", "/api/v1/library/files")
    assert await client.async_item_page(Listing.UPLOADS, 1, KEYER) is None
    printernizer.fail("404", "/api/v1/printers")
    assert await client.async_printers(KEYER) is None


async def test_printers_prefer_configured_type(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """OctoPrint printers listed as prusa_core get their configured type."""
    printernizer.add_printer("Mystery", "unknown", configured_type="")
    printers = await client.async_printers(KEYER)
    assert [printer.printer_type for printer in printers] == [
        PrinterType.BAMBU_LAB,
        PrinterType.PRUSA,
        PrinterType.OCTOPRINT,
        PrinterType.OTHER,
    ]
    assert len({printer.key for printer in printers}) == 4
    assert not any(printer.in_error for printer in printers)


async def test_printers_without_ids_are_skipped(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """A printer entry without an id cannot be followed, so it is left out."""
    printernizer.fail(
        "json",
        "/api/v1/printers",
        body={"printers": [{"name": "no id", "status": "error"}, {"id": "p1"}]},
    )
    printers = await client.async_printers(KEYER)
    assert [printer.key for printer in printers] == [KEYER.key("printers", "p1")]


async def test_printer_pages(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """A fleet larger than one page is read completely."""
    for number in range(150):
        printernizer.add_printer(f"Farm {number}", "bambu_lab")
    assert len(await client.async_printers(KEYER)) == 153


async def test_feature_flags(client: PrinternizerClient) -> None:
    """Only the exposed booleans are read, under the statistics' names."""
    assert await client.async_feature_flags() == {
        FeatureFlag.LIBRARY: True,
        FeatureFlag.TIMELAPSE: False,
        FeatureFlag.AUTO_JOB_CREATION: True,
        FeatureFlag.WATCH_FOLDERS: True,
    }


async def test_feature_flags_ignore_non_booleans(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """A flag with a value that is not a boolean is left out, never guessed."""
    printernizer.settings["timelapse_enabled"] = "yes"
    printernizer.watch_folders["enabled"] = 1
    flags = await client.async_feature_flags()
    assert FeatureFlag.TIMELAPSE not in flags
    assert FeatureFlag.WATCH_FOLDERS not in flags


@pytest.mark.parametrize("listing", list(Listing))
async def test_item_pages(
    client: PrinternizerClient, printernizer: PrinternizerSimulator, listing: Listing
) -> None:
    """Every list pages by 100 and reports whether another page exists."""
    for _ in range(130):
        printernizer.add_job()
        printernizer.add_file()
        printernizer.add_file(status="error")
        printernizer.add_upload()
    first = await client.async_item_page(listing, 1, KEYER)
    second = await client.async_item_page(listing, 2, KEYER)
    assert len(first.keys) == 100
    assert first.has_more
    assert not second.has_more
    assert not set(first.keys) & set(second.keys)


async def test_item_keys_are_salted_hashes(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """Ids never leave the client: keys depend on the salt and the list."""
    printernizer.wipe_jobs()
    job = printernizer.add_job()
    page = await client.async_item_page(Listing.JOBS, 1, KEYER)
    assert page.keys == (KEYER.key(Listing.JOBS, job.id),)
    assert job.id.encode() not in page.keys[0]
    assert ItemKeyer(b"\x02" * 32).key(Listing.JOBS, job.id) != page.keys[0]
    assert KEYER.key(Listing.UPLOADS, job.id) != page.keys[0]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("500", ErrorType.SERVER_ERROR),
        ("503", ErrorType.SERVER_ERROR),
        ("403", ErrorType.INVALID_RESPONSE),
        ("404", ErrorType.INVALID_RESPONSE),
        ("html", ErrorType.INVALID_RESPONSE),
        ("truncated", ErrorType.INVALID_RESPONSE),
        ("huge", ErrorType.INVALID_RESPONSE),
        ("huge_chunked", ErrorType.INVALID_RESPONSE),
        ("short_body", ErrorType.INVALID_RESPONSE),
        ("reset", ErrorType.CONNECTION_REFUSED),
    ],
)
async def test_faults_are_classified(
    client: PrinternizerClient,
    printernizer: PrinternizerSimulator,
    fault: str,
    kind: ErrorType,
) -> None:
    """Each hazard becomes one error of the vocabulary, and nothing else."""
    # aiohttp retries a request once when the connection drops; reset both.
    printernizer.fail(fault, times=2)
    with pytest.raises(PrinternizerError) as caught:
        await client.async_app_version()
    assert caught.value.kind is kind
    assert str(caught.value) == kind.value


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_an_invalid_response_and_never_followed(
    client: PrinternizerClient, printernizer: PrinternizerSimulator, status: int
) -> None:
    """A proxy's redirect (to a login page, another host) is not followed."""
    other = PrinternizerSimulator()
    other.start()
    try:
        printernizer.fail(f"redirect_{status}", times=2, body=other.url)
        with pytest.raises(PrinternizerError) as health:
            await client.async_app_version()
        with pytest.raises(PrinternizerError) as jobs:
            await client.async_item_page(Listing.JOBS, 1, KEYER)
    finally:
        other.stop()
    assert health.value.kind is jobs.value.kind is ErrorType.INVALID_RESPONSE
    assert other.requests == []


async def test_rate_limits_are_waited_out(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """A few 429 answers are waited out; beyond that the request is rate limited."""
    printernizer.retry_after = "0"
    printernizer.fail("429", times=api.RATE_LIMIT_RETRIES)
    assert await client.async_app_version() == "2.42.0"
    assert printernizer.requests.count("/api/v1/health") == api.RATE_LIMIT_RETRIES + 1
    printernizer.fail("429", times=api.RATE_LIMIT_RETRIES + 1)
    with pytest.raises(PrinternizerError) as caught:
        await client.async_app_version()
    assert caught.value.kind is ErrorType.RATE_LIMITED


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({}, 1.0), ({"Retry-After": "2"}, 2.0), ({"Retry-After": "-5"}, 0.0),
     ({"Retry-After": "soon"}, 1.0), ({"Retry-After": "3600"}, 5.0)],
)  # fmt: skip
def test_retry_after_bounds(headers: dict[str, str], seconds: float) -> None:
    """Missing, negative, unreadable or huge Retry-After values get sane waits."""
    response = cast("aiohttp.ClientResponse", SimpleNamespace(headers=headers))
    assert api._retry_after(response) == seconds


async def test_real_rate_limit_with_many_pages(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """Printernizer's own limit (burst 20, 100 a minute) does not stop paging."""
    for _ in range(2500):
        printernizer.add_job()
    printernizer.rate_limit = True
    pages = [
        await client.async_item_page(Listing.JOBS, page, KEYER) for page in range(1, 27)
    ]
    assert sum(len(page.keys) for page in pages if page) == 2505
    assert printernizer.requests.count("/api/v1/jobs") > 26  # some were retried


async def test_refused_connection(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """A Printernizer that is restarting refuses connections."""
    printernizer.refuse_connections()
    with pytest.raises(PrinternizerError) as caught:
        await client.async_app_version()
    assert caught.value.kind is ErrorType.CONNECTION_REFUSED
    printernizer.accept_connections()
    assert await client.async_app_version() == "2.42.0"


async def test_slow_answer_times_out(
    client: PrinternizerClient,
    printernizer: PrinternizerSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request that takes too long is a timeout."""
    monkeypatch.setattr(api, "REQUEST_TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    printernizer.fail("slow", delay=1.0)
    with pytest.raises(PrinternizerError) as caught:
        await client.async_app_version()
    assert caught.value.kind is ErrorType.CONNECTION_TIMEOUT


@pytest.mark.parametrize(
    "body",
    [{"status": "ok"}, {"detail": "Not Found"}, ["healthy"], "healthy"],
)
async def test_health_of_another_server(
    client: PrinternizerClient, printernizer: PrinternizerSimulator, body: object
) -> None:
    """A JSON answer that is not Printernizer's health is an invalid response."""
    printernizer.fail("json", "/api/v1/health", body=body)
    with pytest.raises(PrinternizerError) as caught:
        await client.async_app_version()
    assert caught.value.kind is ErrorType.INVALID_RESPONSE


async def test_wrapped_answers_are_unwrapped(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """Answers wrapped as {"status": "success", "data": ...} are read the same."""
    printernizer.fail(
        "json",
        "/api/v1/debug/system-info",
        body={"status": "success", "data": printernizer.system_info},
    )
    facts = await client.async_runtime_facts()
    assert facts.deployment_mode is DeploymentMode.HOMEASSISTANT


async def test_list_without_its_field_is_invalid(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """A list answer without the list is not Printernizer's shape."""
    printernizer.fail("json", "/api/v1/jobs", body={"jobs": "none", "pagination": {}})
    with pytest.raises(PrinternizerError) as caught:
        await client.async_item_page(Listing.JOBS, 1, KEYER)
    assert caught.value.kind is ErrorType.INVALID_RESPONSE


async def test_items_without_usable_ids_are_skipped(
    client: PrinternizerClient, printernizer: PrinternizerSimulator
) -> None:
    """Items that cannot be told apart are ignored rather than guessed."""
    items = [{"id": 7}, {"id": ""}, {"id": True}, {"id": None}, {"name": "x"}, "junk"]
    printernizer.fail("json", "/api/v1/jobs", body={"jobs": items})
    page = await client.async_item_page(Listing.JOBS, 1, KEYER)
    assert page == api.ItemPage(
        keys=(KEYER.key(Listing.JOBS, "7"),), has_more=False, oldest_day=None
    )


@pytest.mark.parametrize(
    ("pagination", "item_count", "has_more"),
    [
        ({"has_next": True, "total_pages": 1}, 1, True),
        ({"has_next": False, "total_pages": 9}, 100, False),
        ({"total_pages": 2}, 100, True),
        ({"total_pages": 1}, 100, False),
        ({"total_pages": True}, 100, True),
        (None, 100, True),
        (None, 99, False),
    ],
)
async def test_pagination_variants(
    client: PrinternizerClient,
    printernizer: PrinternizerSimulator,
    pagination: dict[str, object] | None,
    item_count: int,
    has_more: bool,
) -> None:
    """Whether another page exists comes from the pagination block, else a full page."""
    body: dict[str, object] = {"jobs": [{"id": n} for n in range(item_count)]}
    if pagination is not None:
        body["pagination"] = pagination
    printernizer.fail("json", "/api/v1/jobs", body=body)
    page = await client.async_item_page(Listing.JOBS, 1, KEYER)
    assert page.has_more is has_more
