"""The options (Configure): the home of the user's rights and sharing settings.

A menu leads to sharing, the collection server, what would be sent, the
export, deleting the local statistics, asking the servers to delete what they
received, and a new installation id. The rights call the same code as the
actions (rights.py); each that destroys something asks first, and each ends
by saying what happened.
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
from .collection_form import (
    COLLECTION_SCHEMA,
    COLLECTION_URL_PLACEHOLDERS,
    async_check_collection_server,
    keys_for_server,
)
from .consent_preview import (
    async_json_block,
    async_privacy_placeholders,
    async_selector_label,
)
from .const import (
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    POLICY_VERSION,
)
from .coordinator import PrinternizerUsageConfigEntry
from .outbox import is_rejection, waiting_deletions
from .payload import WEEK, PrinternizerFacts, week_start
from .store import LocalStatisticsStore

CONF_DELETE_SHARED = "delete_shared"
CONF_WEEK = "week"
MENU = [
    "sharing",
    "collection_server",
    "preview",
    "export",
    "delete_local",
    "remote_deletion",
    "new_installation_id",
]
NO_FIELDS = vol.Schema({})


class PrinternizerUsageOptionsFlow(OptionsFlow):
    """Sharing settings and the user's rights; changes apply at once."""

    def __init__(self) -> None:
        """Start with nothing changed."""
        self._turning_on = False
        self._preview: dict[str, Any] = {}

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the settings and the rights."""
        return self.async_show_menu(step_id="init", menu_options=MENU)

    async def async_step_sharing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what sharing means and the preview; tick to share, untick to stop."""
        options = self.config_entry.options
        sharing = bool(options.get(CONF_SHARE_STATISTICS, False))
        if user_input is not None:
            if user_input[CONF_DELETE_SHARED]:
                if not self._loaded:
                    return self.async_abort(reason="entry_not_loaded")
                sharing_runtime = self.config_entry.runtime_data.sharing
                await sharing_runtime.async_request_remote_deletion()
            if not user_input[CONF_SHARE_STATISTICS]:
                stopped = (
                    {CONF_STOPPED_AT: dt_util.utcnow().isoformat()} if sharing else {}
                )
                return self.async_create_entry(
                    data={**options, CONF_SHARE_STATISTICS: False, **stopped}
                )
            if not options.get(CONF_COLLECTION_URL):
                self._turning_on = True
                return await self.async_step_collection_server()
            return self.async_create_entry(data=self._sharing_options())
        facts, flags = await _async_stored_facts(self.config_entry)
        return self.async_show_form(
            step_id="sharing",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SHARE_STATISTICS, default=sharing): bool,
                    vol.Required(CONF_DELETE_SHARED, default=False): bool,
                }
            ),
            description_placeholders=await async_privacy_placeholders(
                self.hass, facts, flags
            ),
        )

    async def async_step_collection_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Set where submissions and deletion requests go."""
        errors: dict[str, str] = {}
        options = self.config_entry.options
        if user_input is not None:
            server, errors = await async_check_collection_server(user_input)
            if not errors:
                updated = self._sharing_options() if self._turning_on else options
                return self.async_create_entry(
                    data={**updated, **keys_for_server(options, server)}
                )
        # The key is never shown again: shown, it would go to any address typed.
        suggested = {
            CONF_COLLECTION_URL: (user_input or options).get(CONF_COLLECTION_URL)
        }
        return self.async_show_form(
            step_id="collection_server",
            data_schema=self.add_suggested_values_to_schema(
                COLLECTION_SCHEMA, suggested
            ),
            errors=errors,
            description_placeholders=COLLECTION_URL_PLACEHOLDERS,
        )

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
            description_placeholders={"download_url": export["download_path"]},
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

    def _sharing_options(self) -> dict[str, Any]:
        """Return the options with sharing ticked.

        Turning sharing on, from an unticked box under the policy shown, is
        consent to this policy. For someone already sharing the box is shown
        ticked, so leaving it ticked consents to nothing new: the fields of a
        newer policy are accepted only in the re-consent fix flow.
        """
        options = self.config_entry.options
        if options.get(CONF_SHARE_STATISTICS):
            return dict(options)
        return {
            **options,
            CONF_SHARE_STATISTICS: True,
            CONF_CONSENTED_POLICY: POLICY_VERSION,
        }


async def _async_stored_facts(
    entry: PrinternizerUsageConfigEntry,
) -> tuple[PrinternizerFacts, dict[str, bool]]:
    """Return what the store last saw, or nothing while the entry is not loaded."""
    if entry.state is not ConfigEntryState.LOADED:
        return PrinternizerFacts(None, None, None, None, {}), {}
    store = entry.runtime_data.store
    facts = await store.async_call(LocalStatisticsStore.printernizer_facts)
    week = week_start(dt_util.utcnow().date())
    counts = await store.async_call(LocalStatisticsStore.week_counts, week)
    return facts, dict(counts.feature_flags)
