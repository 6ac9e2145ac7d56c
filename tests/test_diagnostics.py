"""Diagnostics tell how the integration is doing, with the address redacted."""

from __future__ import annotations

# The diagnostics view imports the Supervisor client, which cannot be first
# imported under a frozen clock.
import aiohasupervisor  # noqa: F401
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.matchers import path_type

from .helpers import refresh
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator

pytestmark = pytest.mark.usefixtures("wednesday")

# The file size depends on SQLite's page use, not on what the code does.
FILE_SIZE = path_type({"store.file_size_bytes": (int,)})


async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """The diagnostics of an entry after some activity and a failed poll."""
    printernizer.add_job()
    await refresh(hass, init_integration)
    printernizer.fail("truncated")
    await refresh(hass, init_integration)

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert diagnostics == snapshot.use_extension(JSONSnapshotExtension)(
        matcher=FILE_SIZE
    )
    assert printernizer.url not in str(diagnostics)


async def test_sharing_secrets_are_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """The collection server and its key never appear in diagnostics."""
    sharing_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(sharing_entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, sharing_entry
    )
    assert diagnostics["entry"]["options"]["collection_url"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["collection_api_key"] == "**REDACTED**"
    assert diagnostics["sharing"]["state"] == "active"
    text = str(diagnostics)
    assert collection.url not in text
    assert str(collection.api_key) not in text
