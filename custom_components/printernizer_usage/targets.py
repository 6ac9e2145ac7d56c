"""The servers that may hold an id's data, kept outside the statistics file.

A damaged statistics file may not give back which id was sent where, and
local deletion empties it; kept in a small JSON file beside it as well, each
(id, server) pair a week was sent to stays a deletion target until that
server confirms the deletion. Every write reaches the disk (or raises)
before anything that relies on it happens.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
import logging
from pathlib import Path
from typing import Final
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.util.file import write_utf8_file_atomic

from .const import DOMAIN
from .submitter import is_collection_url

_LOGGER = logging.getLogger(__name__)

# A hand-made file larger than this is not read (1,000 pairs take 150 KiB).
MAX_FILE_BYTES: Final = 1 << 20
# Read at most this many pairs (an id regenerated every week for 19 years,
# on one server): a hand-made file cannot make loading it unbounded.
MAX_TARGETS: Final = 1000

type Target = tuple[str, str]  # (installation id, collection server base URL)


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
    lost its deletion requests, they are queued again.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Use the entry's own file, beside its statistics file."""
        self._hass = hass
        self.path = Path(
            hass.config.path(".storage", DOMAIN, f"{entry_id}.deletion-targets.json")
        )
        self.pairs: frozenset[Target] = frozenset()
        self.requested: frozenset[Target] = frozenset()

    async def async_load(self) -> None:
        """Read the pairs; a pair that could not have been written is dropped."""
        data = await self._hass.async_add_executor_job(_read, self.path)
        self.pairs = _valid_pairs(data.get("targets"))
        self.requested = _valid_pairs(data.get("requested")) & self.pairs

    async def async_add(self, pairs: Iterable[Target]) -> None:
        """Keep these pairs too; written before this returns."""
        await self._async_save(self.pairs | _only_valid(pairs), self.requested)

    async def async_mark_requested(self, pairs: Iterable[Target]) -> None:
        """Note that deletion was asked for at these pairs (kept as targets too)."""
        valid = _only_valid(pairs)
        await self._async_save(self.pairs | valid, self.requested | valid)

    async def async_remove(self, pair: Target) -> None:
        """Forget a pair its server has confirmed deleting."""
        await self._async_save(self.pairs - {pair}, self.requested - {pair})

    async def async_delete(self) -> None:
        """Delete the file, with the entry."""
        await self._hass.async_add_executor_job(self.path.unlink, True)
        self.pairs = self.requested = frozenset()

    async def _async_save(
        self, pairs: frozenset[Target], requested: frozenset[Target]
    ) -> None:
        """Write the file; raises OSError (or WriteError) if it could not be."""
        if (pairs, requested) == (self.pairs, self.requested):
            return
        text = json.dumps(
            {
                "targets": [list(pair) for pair in sorted(pairs)],
                "requested": [list(pair) for pair in sorted(requested)],
            }
        )
        await self._hass.async_add_executor_job(_write, self.path, text)
        self.pairs, self.requested = pairs, requested


def _read(path: Path) -> dict[str, object]:
    """Return the file's object; empty if missing, too large or not JSON."""
    try:
        with path.open("rb") as file:
            content = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError:
        content = b""
    try:
        data = json.loads(content) if len(content) <= MAX_FILE_BYTES else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        _LOGGER.warning("The deletion targets file is not readable; starting anew")
        return {}
    return data


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_utf8_file_atomic(str(path), text, private=True)


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
    if len(pairs) != len(items):
        _LOGGER.warning("Ignored deletion targets that are not valid")
    return pairs
