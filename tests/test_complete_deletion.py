"""Whatever may have reached a server stays a deletion target until it confirms.

Through a damaged file and its recovery, restarts and local deletion, each
(installation id, server) pair a week was sent to can still be asked to
delete; and local deletion leaves no copy of the file behind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
import json
from pathlib import Path
import shutil
import sqlite3

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import store_path, targets as targets_module
from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_FORMER_COLLECTION_KEYS,
)
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .conftest import ENTRY_ID
from .simulator.collection import CollectionSimulator
from .test_actions import call
from .test_sharing import (
    FIRST_WEEK,
    OFFSET,
    WEEK,
    restart,
    send_first_week,
    sensor,
    start,
    travel,
)

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

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
    assert await deletions_a_moment_later(hass, freezer, collection) == [
        installation_id
    ]
    assert collection.submissions_of(installation_id) == []


def targets_file(hass: HomeAssistant) -> Path:
    """Return where the entry keeps its deletion targets."""
    return store_path(hass, ENTRY_ID).with_name(f"{ENTRY_ID}.deletion-targets.json")


async def deletions_a_moment_later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, collection: CollectionSimulator
) -> list[str]:
    """Let what is due run; return the ids the server was asked to delete."""
    await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=5))
    return collection.deletions


def stored_targets(hass: HomeAssistant) -> list[list[str]]:
    """Return the pairs kept beside the statistics file."""
    targets: list[list[str]] = json.loads(targets_file(hass).read_text())["targets"]
    return targets


async def test_a_file_damaged_beyond_reading_keeps_its_targets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The pair was kept outside the file before the week went out."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    damage_the_file(hass)
    await start(hass, sharing_entry)
    path = store_path(hass, ENTRY_ID)
    assert list(path.parent.glob(f"{path.name}.corrupt-*"))
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)
    assert stored_targets(hass) == []  # confirmed, so forgotten


async def test_pairs_in_an_older_copy_become_targets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A copy moved aside before pairs were kept outside it still gives them up."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    path = store_path(hass, ENTRY_ID)
    shutil.move(path, f"{path}{MOVED_ASIDE}")
    targets_file(hass).unlink()
    await start(hass, sharing_entry)  # a new, empty file
    assert stored_targets(hass) == [[sent_id, collection.url]]
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)


async def share_a_week_and_keep_a_copy(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> str:
    """Share a week, copy the file as if moved aside after damage, start again."""
    sent_id = await share_a_week(hass, entry, collection, freezer)
    path = store_path(hass, ENTRY_ID)
    shutil.copy(path, f"{path}{MOVED_ASIDE}")
    await start(hass, entry)
    return sent_id


async def share_then_delete_locally(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> str:
    """Share a week, delete locally, unload: only the targets file has the id."""
    sent_id = await share_a_week(hass, entry, collection, freezer)
    await start(hass, entry)
    await call(hass, "delete_local_statistics", entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    return sent_id


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
    sent_id = await share_a_week_and_keep_a_copy(
        hass, sharing_entry, collection, freezer
    )
    path = store_path(hass, ENTRY_ID)
    response = await call(hass, "delete_local_statistics", sharing_entry)
    assert response["deleted"]["damaged_copies"] == 1
    assert response["deleted"]["installation_ids"] == 1
    assert response["kept_until_acknowledged"] == []
    assert response["kept_as_deletion_targets"] == [
        {"installation_id": sent_id, "endpoint": collection.url}
    ]
    assert not list(path.parent.glob(f"{path.name}.corrupt-*"))
    # Only the deletion target keeps the id, as the answer says.
    assert files_holding(path.parent, sent_id) == [targets_file(hass).name]
    await restart(hass, sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)


async def test_a_hand_edited_target_file_sends_nowhere_else(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Only pairs the integration could have written are targets; size is bounded."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    other_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    hand_made = [
        [sent_id, collection.url],
        ["not-an-id", collection.url],
        [sent_id.upper(), collection.url],
        [other_id, "http://203.0.113.7"],  # plain http off loopback
        [other_id, "https://user:secret@127.0.0.1:9"],  # credentials
        [other_id],
        "junk",
        *([["x", "y"]] * 100_000),
    ]
    targets_file(hass).write_text(json.dumps({"targets": hand_made}))
    await start(hass, sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)
    assert [method for method, _ in collection.requests].count("DELETE") == 1


async def test_removing_the_entry_removes_its_targets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The pairs kept outside the file go with the entry, as the file does."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    assert stored_targets(hass) == [[sent_id, collection.url]]
    assert await hass.config_entries.async_remove(sharing_entry.entry_id)
    await hass.async_block_till_done()
    assert not targets_file(hass).exists()


async def refuse_a_deletion_then_damage(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> str:
    """Share a week, have its deletion refused, then damage the unloaded file.

    Returns the id; the server takes the key again afterwards.
    """
    sent_id, key = await refuse_a_deletion(hass, entry, collection, freezer)
    damage_the_file(hass)
    collection.api_key = key
    return sent_id


async def refuse_a_deletion(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> tuple[str, str]:
    """Share a week and have its deletion refused; unload; return id and key."""
    sent_id = await share_a_week(hass, entry, collection, freezer)
    await start(hass, entry)
    key = collection.api_key
    collection.api_key = "rotated-key"  # the request is refused and kept
    await call(hass, "request_remote_deletion", entry)
    await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=5))
    assert collection.deletions == []
    assert await hass.config_entries.async_unload(entry.entry_id)
    return sent_id, key


def damage_the_file(hass: HomeAssistant) -> None:
    """Cut the statistics file short: nothing of it can be read."""
    path = store_path(hass, ENTRY_ID)
    path.write_bytes(path.read_bytes()[:100])


async def test_deletion_requests_a_damaged_file_lost_are_sent_again(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A request the server has not confirmed survives the file it was kept in."""
    sent_id = await refuse_a_deletion_then_damage(
        hass, sharing_entry, collection, freezer
    )
    await start(hass, sharing_entry)  # recovered, without the request's row
    assert await deletions_a_moment_later(hass, freezer, collection) == [sent_id]
    assert collection.submissions_of(sent_id) == []


async def test_a_former_servers_key_is_kept_for_its_targets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    elsewhere: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a switch of server and a local deletion, the old key still deletes."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    await start(hass, sharing_entry)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={
            **sharing_entry.options,
            CONF_COLLECTION_URL: elsewhere.url,
            CONF_COLLECTION_API_KEY: "",
            CONF_FORMER_COLLECTION_KEYS: {collection.url: collection.api_key},
        },
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    await call(hass, "delete_local_statistics", sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)


async def test_local_deletion_stops_when_a_target_cannot_be_kept(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A full disk for the targets file stops the deletion before anything goes."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    target = targets_file(hass)
    target.unlink()
    target.mkdir()  # nothing can be written where the file belongs
    await start(hass, sharing_entry)
    with pytest.raises(HomeAssistantError):
        await call(hass, "delete_local_statistics", sharing_entry)
    path = store_path(hass, ENTRY_ID)
    assert files_holding(path.parent, sent_id)  # the statistics file still has it
    target.rmdir()
    await restart(hass, sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)


async def test_the_export_shows_the_deletion_targets(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """What is kept for a later deletion is part of everything stored locally."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    await start(hass, sharing_entry)
    await call(hass, "delete_local_statistics", sharing_entry)
    export = await call(hass, "export_statistics", sharing_entry)
    assert export["deletion_targets"] == [
        {"installation_id": sent_id, "endpoint": collection.url}
    ]


async def test_removal_with_a_damaged_file_still_tries_the_requested_deletion(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The last attempt at removal covers requests the file lost."""
    sent_id = await refuse_a_deletion_then_damage(
        hass, sharing_entry, collection, freezer
    )
    assert await hass.config_entries.async_remove(sharing_entry.entry_id)
    await hass.async_block_till_done()
    assert collection.deletions == [sent_id]
    assert not targets_file(hass).exists()


async def test_an_unreadable_targets_file_is_never_written_over(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """While the file cannot be read, no week goes; once it can, nothing is lost."""
    old_id = await share_then_delete_locally(hass, sharing_entry, collection, freezer)
    heal = make_targets_unreadable(hass)  # as a disk error would
    await start(hass, sharing_entry)
    due = FIRST_WEEK + 3 * WEEK + OFFSET  # the first week of the next id
    await travel(hass, freezer, due)
    assert len(collection.submissions) == 1  # the next id's week waits
    heal()
    await travel(hass, freezer, due + timedelta(hours=2))  # the retry
    [_, fresh] = collection.submissions
    response = await call(hass, "request_remote_deletion", sharing_entry)
    assert sorted(row["installation_id"] for row in response["requests"]) == sorted(
        [old_id, fresh.installation_id]
    )


async def test_a_deletion_goes_although_its_note_cannot_be_written(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The request waits in the statistics file and is sent; the action answers."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    await start(hass, sharing_entry)
    target = targets_file(hass)
    target.unlink()
    target.mkdir()
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)
    assert sensor(hass, "pending_deletion_requests") == "0"


async def test_a_confirmed_pair_does_not_come_back_from_a_copy(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A moved-aside copy is read once; what its server deleted stays forgotten."""
    sent_id = await share_a_week_and_keep_a_copy(
        hass, sharing_entry, collection, freezer
    )
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, sent_id)
    await restart(hass, sharing_entry)
    assert stored_targets(hass) == []
    assert (await call(hass, "export_statistics", sharing_entry))[
        "deletion_targets"
    ] == []


async def test_a_request_from_before_the_note_survives_damage(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A waiting request the targets file did not note is noted at the next start."""
    sent_id, key = await refuse_a_deletion(hass, sharing_entry, collection, freezer)
    targets_file(hass).unlink()  # as an older release left it
    await start(hass, sharing_entry)
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    damage_the_file(hass)
    collection.api_key = key
    await start(hass, sharing_entry)
    assert await deletions_a_moment_later(hass, freezer, collection) == [sent_id]


def make_targets_unreadable(hass: HomeAssistant) -> Callable[[], None]:
    """Put a directory where the targets file is; return what puts it back."""
    target = targets_file(hass)
    kept = target.rename(target.with_suffix(".kept"))
    target.mkdir()

    def heal() -> None:
        target.rmdir()
        kept.rename(target)

    return heal


async def test_a_request_whose_note_failed_is_noted_later(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Its note, not written at first, is written once the file can be."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    await start(hass, sharing_entry)
    heal = make_targets_unreadable(hass)
    key = collection.api_key
    collection.api_key = "rotated-key"
    await call(hass, "request_remote_deletion", sharing_entry)
    await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=5))
    heal()
    await travel(hass, freezer, dt_util.utcnow() + timedelta(hours=1, seconds=5))
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    damage_the_file(hass)
    collection.api_key = key
    await start(hass, sharing_entry)
    assert await deletions_a_moment_later(hass, freezer, collection) == [sent_id]


async def test_a_damaged_targets_file_gives_up_what_it_still_shows(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A file cut short is not read as empty: its whole pairs are kept."""
    old_id = await share_then_delete_locally(hass, sharing_entry, collection, freezer)
    target = targets_file(hass)
    target.write_bytes(target.read_bytes()[:-3])
    await start(hass, sharing_entry)
    await deletion_reaches_the_server(hass, sharing_entry, collection, freezer, old_id)


async def test_a_deletion_asked_for_while_the_targets_cannot_be_read(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """What only the file knows is asked for once it can be read.

    Meanwhile the export says it does not know the targets.
    """
    old_id = await share_then_delete_locally(hass, sharing_entry, collection, freezer)
    heal = make_targets_unreadable(hass)
    await start(hass, sharing_entry)
    assert (await call(hass, "export_statistics", sharing_entry))[
        "deletion_targets"
    ] is None
    await call(hass, "request_remote_deletion", sharing_entry)
    heal()
    await travel(hass, freezer, dt_util.utcnow() + timedelta(hours=1, seconds=5))
    assert collection.deletions == [old_id]
    assert collection.submissions_of(old_id) == []


async def test_a_request_in_a_moved_aside_copy_is_sent(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A waiting request found in a copy is a request again, not just a target."""
    sent_id, key = await refuse_a_deletion(hass, sharing_entry, collection, freezer)
    targets_file(hass).unlink()  # as an older release left it
    path = store_path(hass, ENTRY_ID)
    shutil.move(path, f"{path}{MOVED_ASIDE}")
    collection.api_key = key
    await start(hass, sharing_entry)  # a new, empty file beside the copy
    assert await deletions_a_moment_later(hass, freezer, collection) == [sent_id]


@pytest.mark.parametrize("store_fails_after_retiring", [False, True])
async def test_a_deletion_owed_to_an_unreadable_file_survives_a_restart(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    *,
    store_fails_after_retiring: bool,
) -> None:
    """Asked for while the file could not be read, done once it can, restarts or not.

    Also when the store call right after the id is retired fails: the debt is
    noted before it.
    """
    old_id = await share_then_delete_locally(hass, sharing_entry, collection, freezer)
    heal = make_targets_unreadable(hass)
    await start(hass, sharing_entry)
    if store_fails_after_retiring:
        draw_offset = LocalStatisticsStore.send_offset

        def locked_once(store: LocalStatisticsStore) -> timedelta:
            monkeypatch.setattr(LocalStatisticsStore, "send_offset", draw_offset)
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(LocalStatisticsStore, "send_offset", locked_once)
        with pytest.raises(sqlite3.OperationalError):
            await call(hass, "request_remote_deletion", sharing_entry)
    else:
        await call(hass, "request_remote_deletion", sharing_entry)
    await restart(hass, sharing_entry)
    heal()
    await travel(hass, freezer, dt_util.utcnow() + timedelta(hours=1, seconds=5))
    assert collection.deletions == [old_id]


async def test_an_unwritable_targets_file_repeats_no_deletion(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the note cannot be written, a confirmed deletion is not asked again."""
    sent_id = await share_a_week(hass, sharing_entry, collection, freezer)
    await start(hass, sharing_entry)

    def full_disk(*_: object, **__: object) -> None:
        raise WriteError("No space left on device")

    monkeypatch.setattr(targets_module, "write_utf8_file_atomic", full_disk)
    await call(hass, "request_remote_deletion", sharing_entry)
    for _ in range(6):
        await travel(hass, freezer, dt_util.utcnow() + timedelta(hours=1, seconds=5))
    assert collection.deletions == [sent_id]
