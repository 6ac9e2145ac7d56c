"""Diagnostics tell how the integration is doing, with the address redacted."""

from __future__ import annotations

import json

# The diagnostics view imports the Supervisor client, which cannot be first
# imported under a frozen clock.
import aiohasupervisor  # noqa: F401
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import JSONEncoder
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension
from syrupy.matchers import path_type

from custom_components.printernizer_usage.diagnostics import (
    async_get_config_entry_diagnostics,
)

from .conftest import SEND_OFFSET
from .helpers import refresh
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_sharing import send_first_week

pytestmark = pytest.mark.usefixtures("wednesday")

# The file size depends on SQLite's page use and the send offset is random,
# not anything the code decides.
FILE_SIZE = path_type(
    {"store.file_size_bytes": (int,), "sharing.send_offset_seconds": (int,)}
)


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


@pytest.mark.usefixtures("fixed_send_offset")
async def test_sharing_diagnostics_without_secrets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Consent, schedule, outbox and the last payload; no server, key or id."""
    await send_first_week(hass, sharing_entry, freezer)
    installation_id = collection.submissions[0].installation_id
    # Called directly: the travel outlived the test client's access token.
    diagnostics = json.loads(
        json.dumps(
            await async_get_config_entry_diagnostics(hass, sharing_entry),
            cls=JSONEncoder,
        )
    )
    assert diagnostics["entry"]["options"]["collection_url"] == "**REDACTED**"
    assert diagnostics["entry"]["options"]["collection_api_key"] == "**REDACTED**"
    sharing = diagnostics["sharing"]
    assert sharing["state"] == "active"
    assert sharing["send_offset_seconds"] == SEND_OFFSET.total_seconds()
    assert [change["share"] for change in sharing["consent"]] == [True]
    assert [row["status"] for row in sharing["weekly"]] == ["sent"]
    payload = sharing["latest_payload"]
    assert payload["installation"]["installation_id"] == "**REDACTED**"
    assert payload["period"]["start"] == "2026-11-30T00:00:00Z"
    text = str(diagnostics)
    assert collection.url not in text
    assert str(collection.api_key) not in text
    assert installation_id not in text
