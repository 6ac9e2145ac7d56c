"""The servers that may hold an id's data, kept outside the statistics file.

A damaged statistics file may not give back which id was sent where, and
local deletion empties it; kept in a small JSON file beside it as well, each
(id, server) pair a week was sent to stays a deletion target until that
server confirms the deletion. Every write reaches the disk, or raises
TargetsUnavailableError, before anything that relies on it happens; a file that
cannot be read is never written over.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
import logging
from pathlib import Path
from typing import Final
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.file import WriteError, write_utf8_file_atomic

from .const import DOMAIN
from .submitter import is_collection_url

_LOGGER = logging.getLogger(__name__)

# A hand-made file larger than this is not read (1,000 pairs take 150 KiB).
MAX_FILE_BYTES: Final = 1 << 20
# Read at most this many pairs (an id regenerated every week for 19 years,
# on one server): a hand-made file cannot make loading it unbounded.
MAX_TARGETS: Final = 1000

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
        self.requested: frozenset[Target] = frozenset()
        self.merged_copies: frozenset[str] = frozenset()
        self._loaded = False

    async def async_load(self) -> None:
        """Read the file; TargetsUnavailableError if it exists but cannot be read.

        A pair that could not have been written is dropped. Until a load
        succeeds, nothing is written.
        """
        data = await self._hass.async_add_executor_job(_read, self.path)
        self.pairs = _valid_pairs(data.get("targets"))
        self.requested = _valid_pairs(data.get("requested")) & self.pairs
        copies = data.get("merged_copies")
        self.merged_copies = frozenset(
            name
            for name in (copies if isinstance(copies, list) else [])
            if isinstance(name, str)
        )
        self._loaded = True

    async def async_add(
        self, pairs: Iterable[Target], merged_copies: Iterable[str] = ()
    ) -> None:
        """Keep these pairs (and note the copies read); on disk when this returns."""
        await self._async_update(
            add=_only_valid(pairs), copies=frozenset(merged_copies)
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
        copies: frozenset[str] = frozenset(),
        remove: Target | None = None,
    ) -> None:
        """Change the file; what it holds is read first if it was not yet."""
        if not self._loaded:
            await self.async_load()  # unreadable before, perhaps readable now
        gone = frozenset() if remove is None else frozenset({remove})
        pairs = (self.pairs | add) - gone
        noted = (self.requested | requested) - gone
        merged = self.merged_copies | copies
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

    Content that is not what the integration writes (too large, not a JSON
    object) holds nothing it could use: it is read as empty, and replaced.
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
        _LOGGER.warning("The deletion targets file held no targets; starting anew")
        return {}
    return data


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_utf8_file_atomic(str(path), text, private=True)
