"""Canaries: names, addresses, serials, keys and file names stay in the client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import json
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.printernizer_usage import store_path
from custom_components.printernizer_usage.const import (
    CONF_BASELINE_ID,
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    DOMAIN,
)

from .conftest import SEND_OFFSET
from .helpers import entity_states, home_assistant_log, refresh
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator, seed_demo_fleet
from .test_sharing import FIRST_WEEK, WEEK, start, travel

# Printernizer is reached through a path prefix (as behind a reverse proxy),
# so that its address is a canary too.
PRINTERNIZER_PREFIX = "/canary-proxy-prefix"

CANARIES = {
    "name": "CanaryPrinterName",
    "ip_address": "10.98.76.54",
    "serial_number": "SERIALCANARY0042",
    "api_key": "APIKEYCANARY9f3b",
    "access_code": "ACCESSCANARY77",
    "location": "CanaryBasementShelf",
    "file": "canary_secret_model.3mf",
    "job": "canary_job_name.gcode",
    "upload": "canary_upload_part.stl",
    "path": "/canary/private/folder",
    "printernizer_address": PRINTERNIZER_PREFIX,
}


@pytest.fixture
def printernizer(socket_enabled: None) -> Iterator[PrinternizerSimulator]:
    """Serve the simulator on the canary address."""
    simulator = PrinternizerSimulator()
    seed_demo_fleet(simulator)
    simulator.start(base_path=PRINTERNIZER_PREFIX)
    yield simulator
    simulator.stop()


def feed_canaries(printernizer: PrinternizerSimulator) -> None:
    """Put a canary in every place Printernizer could leak one."""
    printer = printernizer.add_printer(
        CANARIES["name"],
        "bambu_lab",
        ip_address=CANARIES["ip_address"],
        serial_number=CANARIES["serial_number"],
        api_key=CANARIES["api_key"],
        access_code=CANARIES["access_code"],
        location=CANARIES["location"],
    )
    printernizer.add_job(printer, job_name=CANARIES["job"])
    printernizer.add_file(printer, filename=CANARIES["file"])
    printernizer.add_file(printer, filename=CANARIES["file"], status="error")
    printernizer.add_upload(filename=CANARIES["upload"])
    printernizer.set_printer_status(printer, "error")
    printernizer.watch_folders["watch_folders"] = [CANARIES["path"]]
    printernizer.settings["library_path"] = CANARIES["path"]


def assert_no_canary(where: str, text: str) -> None:
    """Fail naming the canary and the place it was found."""
    for kind, canary in CANARIES.items():
        assert canary.lower() not in text.lower(), f"{kind} found in {where}"


async def test_no_canary_escapes(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    printernizer: PrinternizerSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After polls, failures, a recovered file and every read-out: no canary."""
    caplog.set_level(logging.DEBUG)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Printernizer",
        unique_id=printernizer.url,
        data={CONF_URL: printernizer.url, CONF_BASELINE_ID: "0123456789abcdef"},
    )
    path = store_path(hass, entry.entry_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"damaged" * 100)  # so that a repair issue exists too
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    feed_canaries(printernizer)
    await refresh(hass, entry)
    printernizer.set_printer_status(printernizer.printers[-1], "online")
    printernizer.fail("html", "/api/v1/settings/application")
    await refresh(hass, entry)
    printernizer.fail("json", "/api/v1/printers", body={"printers": CANARIES["name"]})
    await refresh(hass, entry)
    feed_canaries(printernizer)
    printernizer.refuse_connections()
    await refresh(hass, entry)
    printernizer.accept_connections()
    await refresh(hass, entry)

    states = entity_states(hass, entry)
    assert states["sensor.printernizer_usage_statistics_jobs_this_week"]["state"] == "2"
    errors = states["sensor.printernizer_usage_statistics_errors_this_week"]
    assert errors["attributes"]["printer_error"] == 2
    assert errors["attributes"]["connection_refused"] == 1
    assert_no_canary("entity states", json.dumps(states))
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert devices
    assert entities
    registries = json.dumps(
        [device.dict_repr for device in devices]
        + [entity.as_partial_dict for entity in entities],
        default=str,
    )
    assert_no_canary("the device and entity registries", registries)
    assert printernizer.url not in registries

    export = await hass.services.async_call(
        DOMAIN,
        "export_statistics",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert_no_canary("the export", json.dumps(export))
    assert await async_setup_component(hass, "diagnostics", {})
    client = await hass_client()
    response = await client.get(f"/api/diagnostics/config_entry/{entry.entry_id}")
    assert response.status == 200
    diagnostics = await response.text()
    assert_no_canary("the diagnostics download", diagnostics)
    # Newer Home Assistant versions put repair issues into the download as well.
    issues = ir.async_get(hass).issues.values()
    assert {issue.translation_key for issue in issues} == {"store_recovered"}
    assert_no_canary("repair issues", json.dumps([issue.to_json() for issue in issues]))

    assert await hass.config_entries.async_unload(entry.entry_id)
    files = list(path.parent.iterdir())
    # The store, the damaged copy moved aside, and the deletion targets that
    # note the copy was read.
    assert len(files) == 3
    for file in files:
        assert_no_canary(file.name, file.read_bytes().decode("latin-1"))
    log = home_assistant_log(caplog)
    assert_no_canary("the log", log)
    assert "printernizer_usage" in log  # the log was captured at all


COLLECTION_KEY = "COLLECTIONKEYCANARY5e1"


@pytest.mark.usefixtures("wednesday", "fixed_send_offset", "socket_enabled")
async def test_no_canary_reaches_the_collection_server_or_the_log(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    printernizer: PrinternizerSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Payloads carry no Printernizer canary; logs never show the server or key."""
    caplog.set_level(logging.DEBUG)
    collection = CollectionSimulator(api_key=COLLECTION_KEY)
    collection.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Printernizer",
            unique_id=printernizer.url,
            data={CONF_URL: printernizer.url, CONF_BASELINE_ID: "0123456789abcdef"},
            options={
                CONF_SHARE_STATISTICS: True,
                CONF_CONSENTED_POLICY: 1,
                CONF_COLLECTION_URL: collection.url,
                CONF_COLLECTION_API_KEY: COLLECTION_KEY,
            },
        )
        await start(hass, entry)
        await travel(hass, freezer, FIRST_WEEK + timedelta(hours=1))
        feed_canaries(printernizer)
        await refresh(hass, entry)
        await travel(hass, freezer, FIRST_WEEK + WEEK + SEND_OFFSET)
        (submission,) = collection.submissions
        assert_no_canary("a submission", json.dumps(submission.payload))
        assert_no_canary("its headers", json.dumps(submission.headers))
        await entry.runtime_data.sharing.async_request_remote_deletion()
        deletion_at = FIRST_WEEK + WEEK + SEND_OFFSET + timedelta(minutes=1)
        await travel(hass, freezer, deletion_at)
        assert len(collection.deletions) == 1
        assert await async_setup_component(hass, "diagnostics", {})
        client = await hass_client()
        response = await client.get(f"/api/diagnostics/config_entry/{entry.entry_id}")
        diagnostics = await response.text()
        assert_no_canary("the diagnostics download", diagnostics)
    finally:
        collection.stop()
    log = home_assistant_log(caplog)
    for where, text in (("the log", log), ("the diagnostics", diagnostics)):
        assert COLLECTION_KEY not in text, where
        assert collection.url not in text, where
    assert_no_canary("the log", log)
