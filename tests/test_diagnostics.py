"""Diagnostics tell how the integration is doing, with the address redacted."""

from __future__ import annotations

from collections.abc import Iterator
import json
from typing import Any

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
from .test_sharing import export, send_first_week

pytestmark = pytest.mark.usefixtures("wednesday")

# The file size depends on SQLite's page use, not on anything the code decides.
FILE_SIZE = path_type({"store.file_size_mib": (int,)})


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


def leaves(value: Any) -> Iterator[Any]:
    """Yield every value inside a JSON document."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


@pytest.mark.usefixtures("fixed_send_offset")
async def test_diagnostics_give_nothing_to_find_a_server_row_by(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reader of a public bug report learns states and sizes, nothing a server holds.

    Every text of the week the server received (the id, its first_seen, the
    period, the versions, the country), the time it arrived, the send offset
    and the consent times are looked for in the diagnostics file; so are the
    server's address and key.
    """
    await send_first_week(hass, sharing_entry, freezer)
    [held] = collection.submissions
    # Called directly: the travel outlived the test client's access token.
    diagnostics = json.loads(
        json.dumps(
            await async_get_config_entry_diagnostics(hass, sharing_entry),
            cls=JSONEncoder,
        )
    )
    text = json.dumps(diagnostics)
    arrived = held.received_at
    consented = await export(hass, sharing_entry)
    sought = {
        *(value for value in leaves(held.payload) if isinstance(value, str)),
        arrived.isoformat(),
        arrived.date().isoformat(),
        arrived.strftime("%Y-%m-%dT%H:"),
        *(change["at"] for change in consented["consent_history"]),
        collection.url,
        collection.api_key,
    }
    found = sorted(value for value in sought if value and value in text)
    assert found == []
    assert str(int(SEND_OFFSET.total_seconds())) not in text
    # Nor a number that dates the first week or matches the server's log.
    assert "attempts" not in text
    assert "size" not in text.replace("file_size_mib", "")
    # What it does show: states.
    sharing = diagnostics["sharing"]
    assert sharing["state"] == "active"
    assert sharing["consent"] == {"sharing": True, "policy_version": 1}
    assert sharing["week_statuses"] == ["sent"]
    latest = sharing["latest_week"]
    assert latest["status"] == "sent"
    assert latest["fields"]["installation"]["installation_id"] == "str"
