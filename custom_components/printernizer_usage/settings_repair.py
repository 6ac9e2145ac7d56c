"""The fix flow for sharing settings edited by hand: the choice, then the server.

Whatever the forms would not have stored is dropped, and the user is asked
again, with the box unticked, as the options ask: nothing is shared until
they tick it, and then only once the named server answers.
"""

from __future__ import annotations

from typing import Any

from homeassistant.data_entry_flow import FlowResult
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .collection_form import (
    COLLECTION_SCHEMA,
    COLLECTION_URL_PLACEHOLDERS,
    async_check_collection_server,
    keys_for_server,
)
from .const import (
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    POLICY_VERSION,
    PRIVACY_URL,
)
from .repair_flow import EntryRepairFlow
from .sharing_settings import without_invalid_options


class SharingSettingsFlow(EntryRepairFlow):
    """Ask whether to share (unticked); if so, for the collection server."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Start with the choice (the input here is the issue, not an answer)."""
        return await self.async_step_choice()

    async def async_step_choice(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Unticked saves sharing off; ticked asks for the server next."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            if user_input[CONF_SHARE_STATISTICS]:
                return await self.async_step_server()
            # Stored sharing that was readable is an opt-out now, with its time.
            was_sharing = entry.options.get(CONF_SHARE_STATISTICS) is True
            stopped = {CONF_STOPPED_AT: dt_util.utcnow().isoformat()}
            self.hass.config_entries.async_update_entry(
                entry,
                options={
                    **without_invalid_options(entry.options),
                    CONF_SHARE_STATISTICS: False,
                    **(stopped if was_sharing else {}),
                },
            )
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="choice",
            data_schema=vol.Schema(
                {vol.Required(CONF_SHARE_STATISTICS, default=False): bool}
            ),
            description_placeholders={**self._placeholders, "privacy_url": PRIVACY_URL},
        )

    async def async_step_server(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Save sharing under this policy once the named server answers."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        kept = without_invalid_options(entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            server, errors = await async_check_collection_server(user_input)
            if not errors:
                self.hass.config_entries.async_update_entry(
                    entry,
                    options={
                        **kept,
                        CONF_SHARE_STATISTICS: True,
                        CONF_CONSENTED_POLICY: POLICY_VERSION,
                        **keys_for_server(kept, server),
                    },
                )
                return self.async_create_entry(data={})
        address = (user_input or kept).get(CONF_COLLECTION_URL)
        return self.async_show_form(
            step_id="server",
            data_schema=self.add_suggested_values_to_schema(
                COLLECTION_SCHEMA, {CONF_COLLECTION_URL: address}
            ),
            errors=errors,
            description_placeholders={
                **self._placeholders,
                **COLLECTION_URL_PLACEHOLDERS,
            },
        )
