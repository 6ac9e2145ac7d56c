"""An opt-out or an endpoint change cuts off a request already on its way.

The collection server here accepts the connection and never completes the
TLS handshake, as a slow or hostile server (or network) can: the request is
in flight, the week's body not yet sent. What is cut off after the request
began may have reached the server, so it is kept as possibly sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_SHARE_STATISTICS,
    DOMAIN,
)

from .conftest import ENTRY_ID
from .simulator.collection import CollectionSimulator
from .simulator.stall import StallingServer
from .test_sharing import (
    FIRST_WEEK,
    OFFSET,
    WEEK,
    export,
    queue_first_week,
    sensor,
    start,
    travel,
    until,
)

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")


@pytest.fixture
def stalling(socket_enabled: None) -> Iterator[StallingServer]:
    """Serve a collection address whose TLS handshake never completes."""
    server = StallingServer()
    server.start()
    yield server
    server.stop()


async def send_into_the_stall(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    stalling: StallingServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Point the entry at the stalling server and let its first week set off."""
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            CONF_COLLECTION_URL: stalling.https_url(),
            CONF_COLLECTION_API_KEY: "",
        },
    )
    await queue_first_week(hass, entry, freezer)
    send_at = FIRST_WEEK + WEEK + OFFSET
    freezer.move_to(send_at)
    async_fire_time_changed(hass, send_at)
    await until(lambda: bool(stalling.received))  # the ClientHello is there


def sending_has_ended(entry: MockConfigEntry) -> bool:
    """Tell whether the entry's send in progress has come to an end."""
    task = entry.runtime_data.sharing._send_task
    return task is not None and task.done()


async def opt_out_mid_request(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Untick sharing while the request stalls; wait until the send has ended."""
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_SHARE_STATISTICS: False}
    )
    await until(lambda: sending_has_ended(entry))
    await hass.async_block_till_done()


async def test_an_opt_out_cuts_off_a_request_in_its_tls_handshake(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    stalling: StallingServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The request stops at once; the week is possibly sent, and shown as such."""
    await send_into_the_stall(hass, sharing_entry, stalling, freezer)
    await opt_out_mid_request(hass, sharing_entry)
    assert b"POST" not in stalling.received  # the body never left
    data = await export(hass, sharing_entry)
    assert [row["status"] for row in data["weekly_submissions"]] == ["possibly_sent"]
    assert sensor(hass, "sharing") == "off"
    assert sensor(hass, "pending_submissions") == "1"


async def test_an_opt_out_while_the_answer_is_awaited_keeps_it_possibly_sent(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The server stored the week, its answer is held back: possibly sent, not lost.

    The user is offered a deletion request to that server; none goes by itself.
    """
    collection.fail("stall", "/submit")
    sharing_entry.add_to_hass(hass)
    await queue_first_week(hass, sharing_entry, freezer)
    send_at = FIRST_WEEK + WEEK + OFFSET
    freezer.move_to(send_at)
    async_fire_time_changed(hass, send_at)
    try:
        await until(lambda: collection.stalled == 1)
        await opt_out_mid_request(hass, sharing_entry)
    finally:
        collection.release_stalled()
    [held] = collection.submissions
    assert held.answer_lost
    data = await export(hass, sharing_entry)
    [row] = data["weekly_submissions"]
    assert row["status"] == "possibly_sent"
    assert row["payload"] == held.payload
    assert row["endpoints"] == [collection.url]
    assert data["deletion_requests"] == []
    assert collection.deletions == []
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"possibly_sent_{ENTRY_ID}")
    assert issue is not None
    assert issue.is_fixable


async def test_an_endpoint_change_cuts_off_the_request_to_the_old_server(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    stalling: StallingServer,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The old server's request stops; the new server never gets that week."""
    await send_into_the_stall(hass, sharing_entry, stalling, freezer)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={
            **sharing_entry.options,
            CONF_COLLECTION_URL: collection.url,
            CONF_COLLECTION_API_KEY: collection.api_key,
        },
    )
    await until(lambda: sending_has_ended(sharing_entry))
    await hass.async_block_till_done()
    data = await export(hass, sharing_entry)
    [row] = data["weekly_submissions"]
    assert row["status"] == "possibly_sent"
    assert collection.submissions == []


async def test_a_restart_under_another_endpoint_keeps_the_week_possibly_sent(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    stalling: StallingServer,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Stopped mid-request, then pointed elsewhere: not resent, and the user is asked.

    Nothing is deleted by itself; the repair issue offers a deletion request.
    """
    await send_into_the_stall(hass, sharing_entry, stalling, freezer)
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={
            **sharing_entry.options,
            CONF_COLLECTION_URL: collection.url,
            CONF_COLLECTION_API_KEY: collection.api_key,
        },
    )
    await start(hass, sharing_entry)
    await travel(hass, freezer, dt_util.utcnow() + timedelta(hours=2))
    assert collection.submissions == []
    data = await export(hass, sharing_entry)
    assert [row["status"] for row in data["weekly_submissions"]] == ["possibly_sent"]
    assert data["deletion_requests"] == []
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"possibly_sent_{ENTRY_ID}")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"title": "Printernizer", "weeks": "1"}


@pytest.mark.parametrize("ask", [True, False])
async def test_the_repair_asks_before_any_deletion(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    stalling: StallingServer,
    freezer: FrozenDateTimeFactory,
    *,
    ask: bool,
) -> None:
    """Ticked, a deletion request goes to the server that may hold the week."""
    await send_into_the_stall(hass, sharing_entry, stalling, freezer)
    await opt_out_mid_request(hass, sharing_entry)
    issue_id = f"possibly_sent_{ENTRY_ID}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    # Through the repairs flow manager, as the frontend's fix button does (the
    # clock has travelled past any access token an HTTP client could carry).
    assert await async_setup_component(hass, "repairs", {})
    manager = hass.data["repairs"]["flow_manager"]
    flow = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert flow["step_id"] == "confirm"
    schema = flow["data_schema"].schema
    assert {str(key): key.default() for key in schema} == {"request_deletion": False}
    result = await manager.async_configure(flow["flow_id"], {"request_deletion": ask})
    assert result["type"] == ("create_entry" if ask else "abort")
    data = await export(hass, sharing_entry)
    requests = [row["endpoint"] for row in data["deletion_requests"]]
    if ask:
        assert requests == [stalling.https_url()]
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    else:
        assert requests == []
        issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
        assert issue is not None
        assert issue.dismissed_version is not None
