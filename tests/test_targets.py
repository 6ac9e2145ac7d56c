"""The deletion targets file: one change at a time, and damage keeps what it can."""

from __future__ import annotations

import asyncio
import json

from homeassistant.core import HomeAssistant

from custom_components.printernizer_usage.targets import DeletionTargets

from .conftest import ENTRY_ID

URL = "https://stats.example"
IDS = (
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    "7c9e6679-7425-40de-944b-e07fc1f90ae7",
)


async def test_changes_at_once_are_both_kept(hass: HomeAssistant) -> None:
    """A send's target and a deletion's note, written at once, both stay."""
    targets = DeletionTargets(hass, ENTRY_ID)
    await targets.async_load()
    await asyncio.gather(
        targets.async_add([(IDS[0], URL)]),
        targets.async_mark_requested([(IDS[1], URL)]),
    )
    on_disk = json.loads(targets.path.read_text())
    assert on_disk["targets"] == [[IDS[0], URL], [IDS[1], URL]]
    assert on_disk["requested"] == [[IDS[1], URL]]
    assert targets.pairs == {(IDS[0], URL), (IDS[1], URL)}


async def test_a_file_cut_short_keeps_its_whole_pairs(hass: HomeAssistant) -> None:
    """Pairs before the cut are kept; those after "requested" stay requested."""
    written = DeletionTargets(hass, ENTRY_ID)
    await written.async_load()
    await written.async_add([(IDS[0], URL)])
    await written.async_mark_requested([(IDS[1], URL)])
    content = written.path.read_bytes()
    for cut, pairs, requested in (
        (len(content) - 3, {(IDS[0], URL), (IDS[1], URL)}, {(IDS[1], URL)}),
        (content.index(b'"requested"'), {(IDS[0], URL), (IDS[1], URL)}, set()),
        (content.index(IDS[1].encode()), {(IDS[0], URL)}, set()),
    ):
        written.path.write_bytes(content[:cut])
        read = DeletionTargets(hass, ENTRY_ID)
        await read.async_load()
        assert (read.pairs, read.requested) == (pairs, requested)


async def test_salvage_takes_requests_only_where_they_are_written(
    hass: HomeAssistant,
) -> None:
    """A damaged file with "requested" before "targets" requests nothing."""
    targets = DeletionTargets(hass, ENTRY_ID)
    targets.path.parent.mkdir(parents=True, exist_ok=True)
    targets.path.write_text(
        f'{{"requested": [["{IDS[1]}", "{URL}"]], "targets": [["{IDS[0]}", "{URL}"]'
    )
    await targets.async_load()
    assert (targets.pairs, targets.requested) == ({(IDS[0], URL)}, frozenset())
