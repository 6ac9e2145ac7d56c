"""Repair flows: accept a newer privacy policy; ask for deletion of a cut-off week."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from .const import (
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    DOMAIN,
    POLICY_VERSION,
    PRIVACY_URL,
)

CONF_ACCEPT = "accept_new_policy"
CONF_REQUEST_DELETION = "request_deletion"


class _EntryQuestionFlow(RepairsFlow):
    """One question, with an unticked box, about an entry's repair issue."""

    def __init__(self, entry_id: str, placeholders: dict[str, str]) -> None:
        """Remember the entry and what the issue told the user."""
        self._entry_id = entry_id
        self._placeholders = placeholders

    # The flow result's context type differs between Home Assistant releases
    # (later ones give repairs a context of their own); Any spans them.
    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Start with the question (the input here is the issue, not an answer)."""
        return await self.async_step_confirm()

    async def async_step_confirm(  # pragma: no cover - each flow has its own
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Ask the flow's question, or act on the answer."""
        raise NotImplementedError


class ReconsentFlow(_EntryQuestionFlow):
    """Ask, with an unticked box, whether to share the newer policy's fields."""

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Tick to accept (new fields from the next whole week); untick to keep."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            key = (
                CONF_CONSENTED_POLICY
                if user_input[CONF_ACCEPT]
                else (CONF_DECLINED_POLICY)
            )
            self.hass.config_entries.async_update_entry(
                entry, options={**entry.options, key: POLICY_VERSION}
            )
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({vol.Required(CONF_ACCEPT, default=False): bool}),
            description_placeholders={
                **self._placeholders,
                "privacy_url": PRIVACY_URL,
            },
        )


class PossiblySentFlow(_EntryQuestionFlow):
    """Ask, with an unticked box, whether to request deletion of a cut-off week."""

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> FlowResult[Any, str]:
        """Tick to ask for deletion; untick to leave things as they are."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            if not user_input[CONF_REQUEST_DELETION]:
                # Finishing would delete the issue, and the next update raise it
                # again: it is dismissed instead, and stays so.
                ir.async_ignore_issue(
                    self.hass, DOMAIN, f"possibly_sent_{self._entry_id}", ignore=True
                )
                return self.async_abort(reason="kept")
            if entry.state is not ConfigEntryState.LOADED:
                return self.async_abort(reason="entry_not_loaded")
            await entry.runtime_data.sharing.async_request_remote_deletion()
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema(
                {vol.Required(CONF_REQUEST_DELETION, default=False): bool}
            ),
            description_placeholders=self._placeholders,
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """Return the flow that fixes a re-consent or a possibly-sent issue."""
    issue_data = data or {}
    entry_id = str(issue_data.get("entry_id", ""))
    if issue_id.startswith("possibly_sent_"):
        return PossiblySentFlow(
            entry_id,
            {key: str(issue_data.get(key, "")) for key in ("title", "weeks")},
        )
    return ReconsentFlow(
        entry_id,
        {key: str(issue_data.get(key, "")) for key in ("title", "version", "fields")},
    )
