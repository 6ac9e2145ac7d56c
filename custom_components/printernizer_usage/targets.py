"""The servers that may hold an id's data, kept outside the statistics file.

A damaged statistics file may not give back which id was sent where, and
local deletion empties it; kept in a small JSON file beside it as well, each
(id, server) pair a week was sent to stays a deletion target until that
server confirms the deletion. Every write reaches the disk, or raises
TargetsUnavailableError, before anything that relies on it happens; a file that
cannot be read is never written over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import suppress
import json
import logging
from pathlib import Path
import re
from typing import Final
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.file import WriteError, write_utf8_file_atomic

from .const import DOMAIN
from .urls import is_collection_url

_LOGGER = logging.getLogger(__name__)

# A hand-made file larger than this is not read (1,000 pairs take 150 KiB).
MAX_FILE_BYTES: Final = 1 << 20
# Read at most this many pairs (an id regenerated every week for 19 years,
# on one server): a hand-made file cannot make loading it unbounded.
MAX_TARGETS: Final = 1000

# One pair as the file writes it; is_target checks what it finds.
_PAIR = re.compile(
    rb'\[\s*"([0-9a-f-]{36})"\s*,\s*"([\x21\x23-\x5b\x5d-\x7e]{1,2048})"\s*\]'
)

# What is logged when the file fails; no week is sent until it works again.
UNAVAILABLE_WARNING: Final = (
    "The deletion targets file cannot be read or written; no week is sent "
    "until it can be"
)

type Target = tuple[str, str]  # (installation id, collection server base URL)


class TargetsUnavailableError(HomeAssistantError):
    """The deletion targets file could not be read or written."""


def is_target(installation_id: object, endpoint: object) -> bool:
    """Tell whether a pair is one the integration could have sent to."""
    if not isinstance(installation_id, str) or not is_collection_url(endpoint):
        return False
    try:
        parsed = uuid.UUID(installation_id)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == installation_id


class DeletionTargets:
    """The (id, server) pairs of one entry that a server may still hold.

    `requested` are those whose deletion was asked for: after a damaged file
    lost its deletion requests, they are queued again. `merged_copies` names
    the moved-aside copies of the statistics file already read, so a pair a
    server has since confirmed deleting does not come back from one.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Use the entry's own file, beside its statistics file."""
        self._hass = hass
        self.path = Path(
            hass.config.path(".storage", DOMAIN, f"{entry_id}.deletion-targets.json")
        )
        self.pairs: frozenset[Target] = frozenset()
        # The pairs as last read from the file, before any added since.
        self.on_disk: frozenset[Target] = frozenset()
        self.requested: frozenset[Target] = frozenset()
        self.merged_copies: frozenset[str] = frozenset()
        self._loaded = False
        self._lock = asyncio.Lock()

    async def async_load(self) -> None:
        """Read the file; TargetsUnavailableError if it exists but cannot be read.

        A pair that could not have been written is dropped. Until a load
        succeeds, nothing is written.
        """
        data = await self._hass.async_add_executor_job(_read, self.path)
        self.pairs = self.on_disk = _valid_pairs(data.get("targets"))
        self.requested = _valid_pairs(data.get("requested")) & self.pairs
        copies = data.get("merged_copies")
        self.merged_copies = frozenset(
            name
            for name in (copies if isinstance(copies, list) else [])
            if isinstance(name, str)
        )
        self._loaded = True

    async def async_ensure_loaded(self) -> bool:
        """Read the file if it was not yet; tell whether what it holds is known."""
        async with self._lock:  # a change under way would be read over
            if not self._loaded:
                with suppress(TargetsUnavailableError):
                    await self.async_load()
        return self._loaded

    async def async_add(self, pairs: Iterable[Target]) -> None:
        """Keep these pairs too; on disk when this returns."""
        await self._async_update(add=_only_valid(pairs))

    async def async_merge(
        self,
        pairs: Iterable[Target],
        requested: Iterable[Target],
        copies: Iterable[str],
    ) -> None:
        """Take in what the statistics file and its copies show, in one write.

        `copies` names every moved-aside copy there is now, all of them read:
        a name whose copy is gone is dropped, so a later copy of that name is
        read too.
        """
        valid_requested = _only_valid(requested)
        await self._async_update(
            add=_only_valid(pairs) | valid_requested,
            requested=valid_requested,
            copies=frozenset(copies),
        )

    async def async_mark_requested(self, pairs: Iterable[Target]) -> None:
        """Note that deletion was asked for at these pairs (kept as targets too)."""
        valid = _only_valid(pairs)
        await self._async_update(add=valid, requested=valid)

    async def async_remove(self, pair: Target) -> None:
        """Forget a pair its server has confirmed deleting."""
        await self._async_update(remove=pair)

    async def async_delete(self) -> None:
        """Delete the file, with the entry."""
        await self._hass.async_add_executor_job(self.path.unlink, True)
        self.pairs = self.requested = frozenset()
        self.merged_copies = frozenset()

    async def _async_update(
        self,
        *,
        add: frozenset[Target] = frozenset(),
        requested: frozenset[Target] = frozenset(),
        copies: frozenset[str] | None = None,
        remove: Target | None = None,
    ) -> None:
        """Change the file; what it holds is read first if it was not yet.

        One change at a time: two at once would each write what they read,
        and the later would undo the earlier.
        """
        async with self._lock:
            await self._async_update_locked(add, requested, copies, remove)

    async def _async_update_locked(
        self,
        add: frozenset[Target],
        requested: frozenset[Target],
        copies: frozenset[str] | None,
        remove: Target | None,
    ) -> None:
        if not self._loaded:
            await self.async_load()  # unreadable before, perhaps readable now
        gone = frozenset() if remove is None else frozenset({remove})
        pairs = (self.pairs | add) - gone
        noted = (self.requested | requested) - gone
        merged = self.merged_copies if copies is None else copies
        if (pairs, noted, merged) == (self.pairs, self.requested, self.merged_copies):
            return
        text = json.dumps(
            {
                "targets": [list(pair) for pair in sorted(pairs)],
                "requested": [list(pair) for pair in sorted(noted)],
                "merged_copies": sorted(merged),
            }
        )
        try:
            await self._hass.async_add_executor_job(_write, self.path, text)
        except (OSError, WriteError) as err:
            raise TargetsUnavailableError from err
        self.pairs, self.requested, self.merged_copies = pairs, noted, merged


def _only_valid(pairs: Iterable[Target]) -> frozenset[Target]:
    return frozenset(pair for pair in pairs if is_target(*pair))


def _valid_pairs(listed: object) -> frozenset[Target]:
    """Return the valid pairs of a stored list, reading at most MAX_TARGETS."""
    if not isinstance(listed, list):
        return frozenset()
    items = listed[:MAX_TARGETS]
    pairs = frozenset(
        (item[0], item[1])
        for item in items
        if isinstance(item, list) and len(item) == 2 and is_target(*item)
    )
    if len(pairs) != len(listed):
        _LOGGER.warning("Ignored deletion targets that are not valid")
    return pairs


def _read(path: Path) -> dict[str, object]:
    """Return the file's object: empty if there is none; raise if unreadable.

    Content that is not what the integration writes (too large, cut short,
    not a JSON object) is searched for the pairs it still shows.
    """
    try:
        with path.open("rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise TargetsUnavailableError from err
    try:
        data = json.loads(content) if len(content) <= MAX_FILE_BYTES else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        _LOGGER.warning("The deletion targets file is damaged; keeping what it shows")
        return _salvaged(content[:MAX_FILE_BYTES])
    return data


def _salvaged(content: bytes) -> dict[str, object]:
    """Return the pairs a damaged file still shows, in the order it is written.

    The file lists the targets, then the requested ones: a pair found after
    the "requested" key that follows "targets" is one whose deletion was
    asked for.
    """
    _, _, written = content.partition(b'"targets"')
    targets_part, _, requested_part = written.partition(b'"requested"')

    def pairs(part: bytes) -> list[list[str]]:
        return [
            [installation_id.decode(), endpoint.decode()]
            for installation_id, endpoint in _PAIR.findall(part)
        ]

    requested = pairs(requested_part)
    found = [*pairs(targets_part), *requested]
    unique = [list(pair) for pair in dict.fromkeys(map(tuple, found))]
    return {"targets": unique, "requested": requested}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_utf8_file_atomic(str(path), text, private=True)
