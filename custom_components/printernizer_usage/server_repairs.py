"""Fix flows that ask for what a refusing collection server needs.

The current server's key, or its address and key; or the key of a former
server that still has data to delete.
"""

from __future__ import annotations

from typing import Any

from homeassistant.data_entry_flow import FlowResult

from .collection_form import (
    COLLECTION_SCHEMA,
    COLLECTION_URL_PLACEHOLDERS,
    KEY_SCHEMA,
    async_check_collection_server,
    keys_for_server,
)
from .const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_FORMER_COLLECTION_KEYS,
)
from .repair_flow import EntryRepairFlow
from .sharing_settings import SharingSettings
from .submitter import is_api_key
from .urls import is_collection_url


class CollectionServerFlow(EntryRepairFlow):
    """Ask for the collection server's key (or address and key); retry at once.

    The answer is checked as the options check it, and saved as the options
    save it: the changed settings send a waiting deletion request again.
    """

    def __init__(
        self, entry_id: str, placeholders: dict[str, str], *, key_only: bool
    ) -> None:
        """Remember the entry, what the issue said, and what it lacks."""
        super().__init__(entry_id, placeholders)
        self._key_only = key_only

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Start with the form (the input here is the issue, not an answer)."""
        return await self.async_step_server()

    async def async_step_server(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Ask for what is missing; save it once the server answers."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        options = entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            answer = {CONF_COLLECTION_URL: options.get(CONF_COLLECTION_URL, "")}
            server, errors = await async_check_collection_server(
                {**answer, **user_input}
            )
            if not errors:
                self.hass.config_entries.async_update_entry(
                    entry, options={**options, **keys_for_server(options, server)}
                )
                return self.async_create_entry(data={})
        schema = KEY_SCHEMA if self._key_only else COLLECTION_SCHEMA
        address = (user_input or options).get(CONF_COLLECTION_URL)
        return self.async_show_form(
            step_id="server",
            data_schema=self.add_suggested_values_to_schema(
                schema, {} if self._key_only else {CONF_COLLECTION_URL: address}
            ),
            errors=errors,
            description_placeholders={
                **self._placeholders,
                **COLLECTION_URL_PLACEHOLDERS,
            },
        )


class FormerServerKeyFlow(EntryRepairFlow):
    """Ask for the key of the former server that refused a deletion request.

    The key is kept for that address only, beside the former servers' other
    keys: it is never sent to the current server. Saving it sends the
    waiting request again.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Start with the form (the input here is the issue, not an answer)."""
        return await self.async_step_key()

    async def async_step_key(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Keep the key for the former server's address; retry at once."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        server = self._placeholders.get("server", "")
        options = entry.options
        if server == options.get(CONF_COLLECTION_URL):
            # It is the current server again: its own repair asks for its key.
            return self.async_abort(reason="server_is_current")
        if not is_collection_url(server):
            return self.async_abort(reason="server_unknown")  # an issue made by hand
        if SharingSettings.from_options(options).invalid_option is not None:
            # No stored key is read from such settings: theirs is the repair first.
            return self.async_abort(reason="settings_invalid")
        errors: dict[str, str] = {}
        if user_input is not None:
            key = user_input[CONF_COLLECTION_API_KEY].strip()
            if is_api_key(key) and key:
                former = dict(options.get(CONF_FORMER_COLLECTION_KEYS) or {})
                self.hass.config_entries.async_update_entry(
                    entry,
                    options={
                        **options,
                        CONF_FORMER_COLLECTION_KEYS: {**former, server: key},
                    },
                )
                return self.async_create_entry(data={})
            errors[CONF_COLLECTION_API_KEY] = "invalid_api_key"
        return self.async_show_form(
            step_id="key",
            data_schema=KEY_SCHEMA,
            errors=errors,
            description_placeholders=self._placeholders,
        )
