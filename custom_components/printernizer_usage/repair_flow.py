"""What every fix flow of an entry's repair issue starts from."""

from __future__ import annotations

from homeassistant.components.repairs import RepairsFlow


class EntryRepairFlow(RepairsFlow):
    """A fix flow about one entry, opened with what its issue told the user.

    Each flow's `async_step_init` opens its first form: the input there is
    the issue, not an answer.
    """

    def __init__(self, entry_id: str, placeholders: dict[str, str]) -> None:
        """Remember the entry and the issue's placeholders."""
        self._entry_id = entry_id
        self._placeholders = placeholders
