"""A collection server that tries to recognise its clients gets nothing to go on.

Home Assistant's shared HTTP session keeps the cookies servers set and sends
them back, and keeps connections open for the next request. Either would
carry over from one week to the next, under a new installation id too, and
link the two.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
)

from .conftest import entry_for
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_sharing import FIRST_WEEK, OFFSET, WEEK, start, travel

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")


@pytest.fixture
def tagging(socket_enabled: None) -> Iterator[CollectionSimulator]:
    """Serve a collection server that sets a tracking cookie on every answer."""
    simulator = CollectionSimulator()
    simulator.sets_cookies = True
    simulator.start()
    yield simulator
    simulator.stop()


async def test_no_cookie_goes_back_to_the_collection_server(
    hass: HomeAssistant,
    printernizer: PrinternizerSimulator,
    tagging: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Weeks, a new id and deletion requests all arrive without a cookie.

    The address is a host name: cookies are kept for names, not for bare IPs.
    """
    entry = entry_for(
        printernizer,
        {
            CONF_SHARE_STATISTICS: True,
            CONF_CONSENTED_POLICY: 1,
            CONF_COLLECTION_URL: tagging.url.replace("127.0.0.1", "localhost"),
            CONF_COLLECTION_API_KEY: tagging.api_key,
        },
    )
    await start(hass, entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    sharing = entry.runtime_data.sharing
    await sharing.async_regenerate_installation_id()
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET)
    await sharing.async_request_remote_deletion()
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + 2 * OFFSET)
    # Two weeks went, one per id, and a deletion request for each id.
    assert [method for method, _ in tagging.requests].count("POST") == 2
    assert len(set(tagging.deletions)) == 2
    assert [h for h in tagging.headers_received if "Cookie" in h] == []


async def test_no_connection_carries_two_requests(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Each request opens a connection of its own, whatever the server would keep.

    A kept-alive connection that carried the old id's deletion request and
    the new id's week would tell the server that they are one installation.
    """
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET)
    assert [method for method, _ in collection.requests] == ["POST", "DELETE", "POST"]
    assert len(set(collection.peers)) == len(collection.peers)
