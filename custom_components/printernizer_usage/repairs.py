"""Repair issues of an entry, and the flows that fix them.

The flows accept a newer privacy policy, ask for deletion of a cut-off week,
ask for what a refusing collection server needs (its key, or its address
and key), or ask the sharing choice again after a hand edit
(settings_repair).
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol

from .consent import ConsentHistory
from .const import (
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    DOMAIN,
    POLICY_VERSION,
    PRIVACY_URL,
)
from .outbox import AttemptResult, Outbox, possibly_sent_weeks, waiting_deletions
from .payload import fields_added_after
from .repair_flow import EntryRepairFlow
from .server_repairs import CollectionServerFlow, FormerServerKeyFlow
from .settings_repair import SharingSettingsFlow
from .sharing_settings import SharingSettings, is_policy_version
from .submitter import Attempt

CONF_ACCEPT = "accept_new_policy"
CONF_REQUEST_DELETION = "request_deletion"


class _EntryQuestionFlow(EntryRepairFlow):
    """One question, with an unticked box, about an entry's repair issue."""

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
) -> EntryRepairFlow:
    """Return the flow that fixes the issue."""
    issue_data = data or {}
    entry_id = str(issue_data.get("entry_id", ""))
    placeholders = {key: str(value) for key, value in issue_data.items()}
    if issue_id.startswith("deletion_refused_elsewhere_"):
        return FormerServerKeyFlow(entry_id, placeholders)
    if issue_id.startswith(SERVER_ISSUES):
        return CollectionServerFlow(
            entry_id, placeholders, key_only=issue_id.startswith(KEY_ISSUES)
        )
    if issue_id.startswith("invalid_settings_"):
        return SharingSettingsFlow(entry_id, placeholders)
    if issue_id.startswith("possibly_sent_"):
        return PossiblySentFlow(
            entry_id,
            {key: str(issue_data.get(key, "")) for key in ("title", "weeks")},
        )
    return ReconsentFlow(
        entry_id,
        {key: str(issue_data.get(key, "")) for key in ("title", "version", "fields")},
    )


# ----- the entry's repair issues ----------------------------------------------------

# The issues of one collection server: an endpoint change makes them moot.
SUBMISSION_ISSUES: Final = ("submission_rejected", "submission_redirected")
DELETION_ISSUES: Final = (
    "deletion_refused",
    "deletion_refused_elsewhere",
    "deletion_redirected",
)
# Those the user fixes by giving the server's key, or its address and key. A
# redirected deletion is not among them: the data is where it went, and a
# new address would not reach it; nor one a former server refused, whose key
# the form would save as the current server's.
KEY_ISSUES: Final = ("deletion_refused_",)
SERVER_ISSUES: Final = (
    "deletion_refused_",
    "submission_rejected_",
    "submission_redirected_",
)


@callback
def async_raise_entry_issue(
    hass: HomeAssistant,
    entry: ConfigEntry,
    key: str,
    placeholders: dict[str, str],
    *,
    fixable: bool = False,
) -> None:
    """Raise one of the entry's repair issues; a fix flow gets its placeholders."""
    placeholders = {"title": entry.title, **placeholders}
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{key}_{entry.entry_id}",
        is_fixable=fixable,
        severity=ir.IssueSeverity.WARNING,
        translation_key=key,
        translation_placeholders=placeholders,
        data={"entry_id": entry.entry_id, **placeholders} if fixable else None,
    )


@callback
def async_clear_entry_issue(hass: HomeAssistant, entry: ConfigEntry, key: str) -> None:
    """Delete one of the entry's repair issues, if it is raised."""
    ir.async_delete_issue(hass, DOMAIN, f"{key}_{entry.entry_id}")


@callback
def async_clear_endpoint_issues(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete the issues of a collection server the entry no longer uses."""
    for key in (*DELETION_ISSUES, *SUBMISSION_ISSUES):
        async_clear_entry_issue(hass, entry, key)


@callback
def async_raise_rejection_issue(
    hass: HomeAssistant, entry: ConfigEntry, attempt: Attempt
) -> None:
    """Say why the collection server turned a week down."""
    if attempt.result is AttemptResult.INVALID_PAYLOAD:
        field = attempt.rejected_field or "?"
        async_raise_entry_issue(hass, entry, "submission_invalid", {"field": field})
    elif attempt.result is AttemptResult.REDIRECTED:
        async_raise_entry_issue(
            hass,
            entry,
            "submission_redirected",
            {"status": str(attempt.http_status)},
            fixable=True,
        )
    else:
        async_raise_entry_issue(
            hass,
            entry,
            "submission_rejected",
            {"status": str(attempt.http_status)},
            fixable=True,
        )


@callback
def async_sync_possibly_sent_issue(
    hass: HomeAssistant, entry: ConfigEntry, outbox: Outbox
) -> None:
    """Offer deletion for weeks cut off in flight, until it is requested.

    Nothing is deleted without the user's word: the fix flow asks.
    """
    requested = {
        (row.installation_id, row.endpoint) for row in waiting_deletions(outbox)
    }
    weeks = [
        row
        for row in possibly_sent_weeks(outbox)
        if (row.installation_id, row.endpoints[-1]) not in requested
    ]
    if weeks:
        async_raise_entry_issue(
            hass, entry, "possibly_sent", {"weeks": str(len(weeks))}, fixable=True
        )
    else:
        async_clear_entry_issue(hass, entry, "possibly_sent")


@callback
def async_sync_settings_issue(
    hass: HomeAssistant, entry: ConfigEntry, settings: SharingSettings
) -> None:
    """Say which option is invalid while one is; nothing is sent meanwhile."""
    option = settings.invalid_option
    if option is None:
        async_clear_entry_issue(hass, entry, "invalid_settings")
    else:
        async_raise_entry_issue(
            hass, entry, "invalid_settings", {"option": option}, fixable=True
        )


@callback
def async_sync_reconsent_issue(
    hass: HomeAssistant, entry: ConfigEntry, history: ConsentHistory
) -> None:
    """Offer a newer policy while sharing under an older one, until decided.

    Sharing goes on with the consented fields meanwhile; accepting adds the
    new ones from the next whole week, keeping leaves things as they are.
    """
    latest = history.latest
    declined = entry.options.get(CONF_DECLINED_POLICY, 0)
    if not is_policy_version(declined):
        declined = 0
    if (
        latest is None
        or not latest.share
        or latest.policy_version >= POLICY_VERSION
        or declined >= POLICY_VERSION
    ):
        async_clear_entry_issue(hass, entry, "reconsent")
        return
    new_fields = fields_added_after(latest.policy_version)
    async_raise_entry_issue(
        hass,
        entry,
        "reconsent",
        {
            "version": str(POLICY_VERSION),
            "fields": ", ".join(f"`{path}`" for path in new_fields) or "-",
        },
        fixable=True,
    )
