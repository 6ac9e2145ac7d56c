"""The rights in the options menu: what would be sent, export, deletions, a new id.

Each calls the same code as its action (rights.py). What destroys something
acts only when its form is submitted; each ends by saying what happened.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.selector import DateSelector
from homeassistant.util import dt as dt_util
import voluptuous as vol

from . import rights
from .collection_form import CONF_DELETE_SHARED
from .consent_preview import async_json_block, async_selector_label
from .http import download_link
from .outbox import is_rejection, waiting_deletions
from .payload import WEEK, week_start

CONF_WEEK = "week"
NO_FIELDS = vol.Schema({})
MENU = [
    "sharing",
    "collection_server",
    "preview",
    "export",
    "delete_local",
    "remote_deletion",
    "new_installation_id",
]


class RightsSteps(OptionsFlow):
    """The options' menu, and its steps for the user's rights over the statistics."""

    _preview: dict[str, Any]

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the settings and the rights."""
        return self.async_show_menu(step_id="init", menu_options=MENU)

    async def async_step_preview(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which week to show; the last whole week is proposed."""
        if not self._loaded:
            return self.async_abort(reason="entry_not_loaded")
        today = dt_util.utcnow().date()
        last_week = week_start(today) - WEEK
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                week = rights.preview_week(
                    date.fromisoformat(user_input[CONF_WEEK]), today
                )
            except (ValueError, TypeError, KeyError):
                errors[CONF_WEEK] = "week_out_of_range"
            else:
                sharing = self.config_entry.runtime_data.sharing
                self._preview = await sharing.async_preview(week)
                return await self.async_step_preview_result()
        return self.async_show_form(
            step_id="preview",
            data_schema=vol.Schema(
                {vol.Required(CONF_WEEK, default=last_week.isoformat()): DateSelector()}
            ),
            errors=errors,
            description_placeholders={
                "earliest": rights.FIRST_PREVIEW_WEEK.isoformat()
            },
        )

    async def async_step_preview_result(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the week's payload and whether it would be sent; back to the menu."""
        if user_input is not None:
            return await self.async_step_init()
        preview = self._preview
        verdict = preview["status"] or preview["reason"] or "will_be_sent"
        return self.async_show_form(
            step_id="preview_result",
            data_schema=NO_FIELDS,
            description_placeholders={
                "week_start": preview["week_start"],
                "verdict": await async_selector_label(
                    self.hass, "preview_verdict", verdict
                ),
                "preview": await async_json_block(self.hass, preview["payload"]),
            },
        )

    async def async_step_export(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the export as a file to download."""
        if not self._loaded:
            return self.async_abort(reason="entry_not_loaded")
        export = await rights.async_export(self.hass, self.config_entry)
        if "download_path" not in export:
            return self.async_abort(reason="export_needs_browser")
        return self.async_abort(
            reason="export_ready",
            description_placeholders={
                "download_link": download_link(export["download_path"])
            },
        )

    async def async_step_delete_local(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say what goes and what stays; submitting the form deletes."""
        schema = vol.Schema({vol.Required(CONF_DELETE_SHARED, default=False): bool})
        if (
            question := self._ask_first("delete_local", user_input, schema)
        ) is not None:
            return question
        try:
            result = await rights.async_delete_local_statistics(
                self.hass,
                self.config_entry,
                also_request_remote_deletion=bool(
                    user_input and user_input[CONF_DELETE_SHARED]
                ),
            )
        except HomeAssistantError:
            return self.async_abort(reason="local_deletion_failed")
        return self.async_abort(
            reason="local_statistics_deleted",
            description_placeholders={
                "days": str(result["deleted"]["day_buckets"]),
                "summaries": str(result["deleted"]["weekly_submissions"]),
                "waiting": str(len(result["kept_until_acknowledged"])),
            },
        )

    async def async_step_remote_deletion(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask first; then ask every server that received data to delete it."""
        if (question := self._ask_first("remote_deletion", user_input)) is not None:
            return question
        requests = await rights.async_request_remote_deletion(self.config_entry)
        return self._deletion_result(requests)

    async def async_step_new_installation_id(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask first; then retire the id and its unsent weeks."""
        if (question := self._ask_first("new_installation_id", user_input)) is not None:
            return question
        sharing = self.config_entry.runtime_data.sharing
        first_week = await sharing.async_regenerate_installation_id()
        return self.async_abort(
            reason="installation_id_replaced",
            description_placeholders={"first_week": first_week.isoformat()},
        )

    def _ask_first(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        schema: vol.Schema = NO_FIELDS,
    ) -> ConfigFlowResult | None:
        """Return the question a right asks first, or None once it is answered.

        Nothing is done on the way to the question; an entry that is not
        loaded ends the flow instead.
        """
        if not self._loaded:
            return self.async_abort(reason="entry_not_loaded")
        if user_input is None:
            return self.async_show_form(step_id=step_id, data_schema=schema)
        return None

    @property
    def _loaded(self) -> bool:
        return self.config_entry.state is ConfigEntryState.LOADED

    def _deletion_result(self, requests: list[Any]) -> ConfigFlowResult:
        """End with how the servers answered the deletion requests just made."""
        if not requests:
            return self.async_abort(reason="nothing_shared")
        outbox = self.config_entry.runtime_data.sharing.book.outbox
        waiting = waiting_deletions(outbox)
        refused = sum(
            row.last_result is not None and is_rejection(row.last_result)
            for row in waiting
        )
        return self.async_abort(
            reason="remote_deletion_result",
            description_placeholders={
                "confirmed": str(len(requests) - len(waiting)),
                "refused": str(refused),
                "not_reached": str(len(waiting) - refused),
            },
        )
