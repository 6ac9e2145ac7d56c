"""The servers that may hold an id's data, kept outside the statistics file.

A damaged statistics file may not give back which id was sent where, and
local deletion empties it; kept in Home Assistant's own storage as well, each
(id, server) pair a week was sent to stays a deletion target until that
server confirms the deletion.
"""

from __future__ import annotations

from collections.abc import Iterable
import logging
from typing import Any, Final
import uuid

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .submitter import is_collection_url

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
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
    """The (id, server) pairs of one entry that a server may still hold."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Use the entry's own file in Home Assistant's storage."""
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}.deletion_targets",
            private=True,
            atomic_writes=True,
        )
        self.pairs: frozenset[Target] = frozenset()

    async def async_load(self) -> None:
        """Read the pairs; a pair that could not have been written is dropped."""
        data = await self._store.async_load()
        listed = data.get("targets") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            listed = []
        listed = listed[:MAX_TARGETS]
        pairs = {
            (item[0], item[1])
            for item in listed
            if isinstance(item, list) and len(item) == 2 and is_target(*item)
        }
        if len(pairs) != len(listed):
            _LOGGER.warning("Ignored deletion targets that are not valid")
        self.pairs = frozenset(pairs)

    async def async_add(self, pairs: Iterable[Target]) -> None:
        """Keep these pairs too; written before this returns."""
        added = self.pairs | {pair for pair in pairs if is_target(*pair)}
        if added != self.pairs:
            await self._async_save(added)

    async def async_remove(self, pair: Target) -> None:
        """Forget a pair its server has confirmed deleting."""
        if pair in self.pairs:
            await self._async_save(self.pairs - {pair})

    async def async_delete(self) -> None:
        """Delete the file, with the entry."""
        await self._store.async_remove()
        self.pairs = frozenset()

    async def _async_save(self, pairs: frozenset[Target]) -> None:
        listed = [list(pair) for pair in sorted(pairs)]
        await self._store.async_save({"targets": listed})
        self.pairs = pairs
