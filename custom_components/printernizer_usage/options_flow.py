"""The options (Configure): the home of the user's rights and sharing settings.

A menu leads to sharing, the collection server, what would be sent, the
export, deleting the local statistics, asking the servers to delete what they
received, and a new installation id. The sharing settings live here, the
rights' steps in options_rights.py.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.util import dt as dt_util
import voluptuous as vol

from . import rights
from .collection_form import (
    COLLECTION_SCHEMA,
    COLLECTION_URL_PLACEHOLDERS,
    CONF_DELETE_SHARED,
    CONF_SHOW_PREVIEW,
    async_check_collection_server,
    keys_for_server,
    privacy_schema,
)
from .consent_preview import async_preview_placeholders
from .const import (
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    POLICY_VERSION,
    PRIVACY_URL,
)
from .coordinator import PrinternizerUsageConfigEntry
from .options_rights import RightsSteps
from .payload import PrinternizerFacts, week_start
from .store import LocalStatisticsStore


class PrinternizerUsageOptionsFlow(RightsSteps):
    """Sharing settings and the user's rights; changes apply at once."""

    def __init__(self) -> None:
        """Start with nothing changed."""
        self._turning_on = False
        self._preview: dict[str, Any] = {}

    async def async_step_sharing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask first, in short: tick to share, untick to stop; details folded.

        Stopping can also ask the servers to delete what they hold, offered
        only while some server may hold something; the result says how the
        servers answered.
        """
        options = self.config_entry.options
        offer_deletion = (
            self._loaded
            and self.config_entry.runtime_data.sharing.deletions.anything_to_delete
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            share = user_input[CONF_SHARE_STATISTICS]
            delete = user_input.get(CONF_DELETE_SHARED, False)
            if user_input.get(CONF_SHOW_PREVIEW):
                return await self.async_step_what_would_be_sent()
            if share and delete:
                errors["base"] = "delete_while_sharing"
            elif delete:
                return await self._async_stop_and_delete()
            elif not share:
                return self.async_create_entry(data=self._stopped_options())
            elif not options.get(CONF_COLLECTION_URL):
                self._turning_on = True
                return await self.async_step_collection_server()
            else:
                return self.async_create_entry(data=self._sharing_options())
        return self.async_show_form(
            step_id="sharing",
            data_schema=privacy_schema(
                sharing=bool(options.get(CONF_SHARE_STATISTICS, False)),
                offer_deletion=offer_deletion,
            ),
            errors=errors,
            description_placeholders={"privacy_url": PRIVACY_URL},
        )

    async def async_step_what_would_be_sent(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show this week's summary from what the store last saw; back to sharing."""
        if user_input is not None:
            return await self.async_step_sharing()
        facts, flags = await _async_stored_facts(self.config_entry)
        return self.async_show_form(
            step_id="what_would_be_sent",
            data_schema=vol.Schema({}),
            description_placeholders=await async_preview_placeholders(
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

    async def _async_stop_and_delete(self) -> ConfigFlowResult:
        """Stop sharing, ask the servers to delete, and say how they answered.

        Stopped first: should the request fail, sharing is off all the same.
        """
        if not self._loaded:
            return self.async_abort(reason="entry_not_loaded")
        self.hass.config_entries.async_update_entry(
            self.config_entry, options=self._stopped_options()
        )
        requests = await rights.async_request_remote_deletion(self.config_entry)
        return self._deletion_result(requests)

    def _stopped_options(self) -> dict[str, Any]:
        """Return the options with sharing off, and when it stopped if it was on."""
        options = self.config_entry.options
        stopped = (
            {CONF_STOPPED_AT: dt_util.utcnow().isoformat()}
            if options.get(CONF_SHARE_STATISTICS)
            else {}
        )
        return {**options, CONF_SHARE_STATISTICS: False, **stopped}

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
