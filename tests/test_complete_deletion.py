"""Whatever may have reached a server stays a deletion target until it confirms.

Through a damaged file and its recovery, restarts and local deletion, each
(installation id, server) pair a week was sent to can still be asked to
delete; and local deletion leaves no copy of the file behind.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import store_path
from custom_components.printernizer_usage.const import DOMAIN

from .conftest import ENTRY_ID
from .simulator.collection import CollectionSimulator
from .test_actions import call
from .test_sharing import restart, send_first_week, start, travel

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

TARGETS_KEY = f"{DOMAIN}.{ENTRY_ID}.deletion_targets"
# A name the integration gives a damaged file it moves aside.
MOVED_ASIDE = ".corrupt-20261201T000000Z"


async def share_a_week(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> str:
    """Send the first week, then unload the entry; return the id it went under."""
    await send_first_week(hass, entry, freezer)
    [sent] = collection.submissions
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    return sent.installation_id


async def deletion_reaches_the_server(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    installation_id: str,
) -> None:
    """Ask for remote deletion and check the server deleted the id's data."""
    response = await call(hass, "request_remote_deletion", entry)
    assert [row["installation_id"] for row in response["requests"]] == [installation_id]
    await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=5))
    assert collection.deletions == [installation_id]
    assert collection.submissions_of(installation_id) == []


def stored_targets(hass_storage: dict[str, Any]) -> list[list[str]]:
    """Return the pairs kept in Home Assistant's storage."""
    targets: list[list[str]] = hass_storage[TARGETS_KEY]["data"]["targets"]
    return targets


async def test_a_file_damaged_beyond_reading_keeps_its_targets(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The pair was kept outside the file before the week went out."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    path = store_path(hass, ENTRY_ID)
    path.write_bytes(path.read_bytes()[:100])  # nothing readable is left
    await start(hass, sharing_entry)
    assert list(path.parent.glob(f"{path.name}.corrupt-*"))
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)
    assert stored_targets(hass_storage) == []  # confirmed, so forgotten


async def test_pairs_in_an_older_copy_become_targets(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A copy moved aside before pairs were kept outside it still gives them up."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    path = store_path(hass, ENTRY_ID)
    shutil.move(path, f"{path}{MOVED_ASIDE}")
    del hass_storage[TARGETS_KEY]
    await start(hass, sharing_entry)  # a new, empty file
    assert stored_targets(hass_storage) == [[sent_id, collection.url]]
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)


def files_holding(directory: Path, text: str) -> list[str]:
    """Return the names of the files in a directory whose bytes contain text."""
    return [
        file.name
        for file in directory.iterdir()
        if file.is_file() and text.encode() in file.read_bytes()
    ]


async def test_local_deletion_deletes_every_copy_and_keeps_the_targets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No copy keeps the id or payloads; a later request still reaches the server."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    path = store_path(hass, ENTRY_ID)
    shutil.copy(path, f"{path}{MOVED_ASIDE}")
    await start(hass, sharing_entry)
    response = await call(hass, "delete_local_statistics", sharing_entry)
    assert response["deleted"]["damaged_copies"] == 1
    assert response["deleted"]["installation_ids"] == 1
    assert response["kept_until_acknowledged"] == []
    assert response["kept_as_deletion_targets"] == [
        {"installation_id": sent_id, "endpoint": collection.url}
    ]
    assert not list(path.parent.glob(f"{path.name}.corrupt-*"))
    assert files_holding(path.parent, sent_id) == []
    await restart(hass, sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)


async def test_a_hand_edited_target_file_sends_nowhere_else(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Only pairs the integration could have written are targets; size is bounded."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    other_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    hass_storage[TARGETS_KEY]["data"]["targets"] = [
        [sent_id, collection.url],
        ["not-an-id", collection.url],
        [sent_id.upper(), collection.url],
        [other_id, "http://203.0.113.7"],  # plain http off loopback
        [other_id, "https://user:secret@127.0.0.1:9"],  # credentials
        [other_id],
        "junk",
        *([["x", "y"]] * 100_000),
    ]
    await start(hass, sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)
    assert [method for method, _ in collection.requests].count("DELETE") == 1


async def test_removing_the_entry_removes_its_targets(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The pairs kept outside the file go with the entry, as the file does."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    assert stored_targets(hass_storage) == [[sent_id, collection.url]]
    assert await hass.config_entries.async_remove(sharing_entry.entry_id)
    await hass.async_block_till_done()
    assert TARGETS_KEY not in hass_storage
