"""Sensors: this UTC week's statistics, the fleet and Printernizer's connectivity."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from custom_components.printernizer_usage.const import DOMAIN

from .helpers import entity_states, refresh
from .simulator.printernizer import PrinternizerSimulator

pytestmark = pytest.mark.usefixtures("wednesday")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Keep snapshots as JSON, the same on every Home Assistant version."""
    return snapshot.use_extension(JSONSnapshotExtension)


async def test_entities_after_activity(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    freezer: FrozenDateTimeFactory,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity, its state and attributes after a little activity."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert entity_states(hass, mock_config_entry) == snapshot(name="after_setup")

    printer = printernizer.printers[0]
    for _ in range(3):
        printernizer.add_job(printer)
    printernizer.add_file(printer)
    printernizer.add_file(printer, status="error")
    printernizer.add_upload()
    printernizer.set_printer_status(printer, "error")
    freezer.tick(3600)
    await refresh(hass, mock_config_entry)
    printernizer.fail("500")
    await refresh(hass, mock_config_entry)
    assert entity_states(hass, mock_config_entry) == snapshot(name="after_activity")


async def test_weekly_counts_restart_on_monday_utc(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The weekly sensors follow UTC weeks, the same weeks a submission uses."""
    printernizer.add_job()
    freezer.move_to("2026-11-29T23:59:00+00:00")
    await refresh(hass, init_integration)
    jobs = "sensor.printernizer_usage_statistics_jobs_this_week"
    uptime = "sensor.printernizer_usage_statistics_uptime_this_week"
    assert hass.states.get(jobs).state == "1"
    assert hass.states.get(uptime).state == "2"
    freezer.move_to("2026-11-30T00:00:00+00:00")
    await refresh(hass, init_integration)
    assert hass.states.get(jobs).state == "0"
    assert hass.states.get(uptime).state == "1"


async def test_the_device_names_printernizer_and_its_version(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
) -> None:
    """Model and version as Printernizer reports it; never its address."""
    devices = dr.async_get(hass)

    def device() -> dr.DeviceEntry:
        [found] = dr.async_entries_for_config_entry(devices, init_integration.entry_id)
        assert (DOMAIN, init_integration.entry_id) in found.identifiers
        return found

    assert device().model == "Printernizer"
    assert device().sw_version == printernizer.health_version
    assert device().configuration_url is None
    printernizer.health_version = "2.43.1"
    await refresh(hass, init_integration)
    assert device().sw_version == "2.43.1"
    printernizer.health_version = "see http://10.0.0.7/admin"  # not a version
    await refresh(hass, init_integration)
    assert device().sw_version is None
    assert printernizer.url not in str(device().dict_repr)
