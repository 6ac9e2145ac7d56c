"""Canaries: names, addresses, serials, keys and file names stay in the client."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.printernizer_usage import store_path
from custom_components.printernizer_usage.const import DOMAIN

from .helpers import entity_states, refresh
from .simulator.printernizer import PrinternizerSimulator

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
}


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
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After polls, failures and every read-out, no canary appears anywhere."""
    caplog.set_level(logging.DEBUG)
    feed_canaries(printernizer)
    await refresh(hass, init_integration)
    printernizer.set_printer_status(printernizer.printers[-1], "online")
    await refresh(hass, init_integration)
    printernizer.fail("json", "/api/v1/printers", body={"printers": CANARIES["name"]})
    await refresh(hass, init_integration)
    feed_canaries(printernizer)
    await refresh(hass, init_integration)

    states = entity_states(hass, init_integration)
    assert states["sensor.printernizer_usage_statistics_jobs_this_week"]["state"] == "2"
    errors = states["sensor.printernizer_usage_statistics_errors_this_week"]
    assert errors["attributes"]["printer_error"] == 2
    assert errors["attributes"]["file_download_failed"] == 2
    assert_no_canary("entity states", json.dumps(states))

    export = await hass.services.async_call(
        DOMAIN,
        "export_statistics",
        {"config_entry_id": init_integration.entry_id},
        blocking=True,
        return_response=True,
    )
    assert_no_canary("the export", json.dumps(export))
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert_no_canary("diagnostics", json.dumps(diagnostics))

    path = store_path(hass, init_integration.entry_id)
    for file in path.parent.iterdir():
        assert_no_canary(file.name, file.read_bytes().decode("latin-1"))
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert Path(path).exists()
    assert_no_canary("the database", path.read_bytes().decode("latin-1"))

    assert_no_canary("the log", caplog.text)
    assert "printernizer_usage" in caplog.text  # the log was captured at all
