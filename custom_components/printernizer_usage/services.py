"""Actions that give users their rights over the local statistics (see rights.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import (
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from . import rights
from .const import DOMAIN
from .coordinator import PrinternizerUsageConfigEntry

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_WEEK = "week"
ATTR_ALSO_REQUEST_REMOTE_DELETION = "also_request_remote_deletion"
SERVICE_DELETE_LOCAL_STATISTICS = "delete_local_statistics"
SERVICE_EXPORT_STATISTICS = "export_statistics"
SERVICE_PREVIEW_PAYLOAD = "preview_payload"
SERVICE_REQUEST_REMOTE_DELETION = "request_remote_deletion"
SERVICE_REGENERATE_INSTALLATION_ID = "regenerate_installation_id"
SERVICE_SUBMIT_NOW = "submit_now"

ENTRY_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
PREVIEW_SCHEMA = ENTRY_SCHEMA.extend({vol.Optional(ATTR_WEEK): cv.date})
DELETE_LOCAL_SCHEMA = ENTRY_SCHEMA.extend(
    {vol.Optional(ATTR_ALSO_REQUEST_REMOTE_DELETION, default=False): cv.boolean}
)


async def _async_require_admin(call: ServiceCall) -> None:
    """Refuse callers that are not administrators.

    Home Assistant 2025.4 cannot register an admin-only action that returns a
    response, so the check is made here for every action.
    """
    if call.context.user_id is None:
        return
    user = await call.hass.auth.async_get_user(call.context.user_id)
    if user is None:
        raise UnknownUser(context=call.context, user_id=call.context.user_id)
    if not user.is_admin:
        raise Unauthorized(context=call.context, user_id=user.id)


def _loaded_entry(
    hass: HomeAssistant, data: dict[str, Any]
) -> PrinternizerUsageConfigEntry:
    """Return the loaded entry the call names."""
    entry_id: str = data[ATTR_CONFIG_ENTRY_ID]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry_id": entry_id},
        )
    typed_entry: PrinternizerUsageConfigEntry = entry
    return typed_entry


async def _async_export_statistics(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Return the export, and a short-lived path to download it as a file."""
    await _async_require_admin(call)
    return await rights.async_export(call.hass, _loaded_entry(call.hass, data))


async def _async_delete_local_statistics(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Delete everything local but deletion targets; say what went and what stays."""
    await _async_require_admin(call)
    return await rights.async_delete_local_statistics(
        call.hass,
        _loaded_entry(call.hass, data),
        also_request_remote_deletion=data[ATTR_ALSO_REQUEST_REMOTE_DELETION],
    )


async def _async_preview_payload(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Show the payload of the last closed UTC week, or of the week holding a date."""
    await _async_require_admin(call)
    entry = _loaded_entry(call.hass, data)
    try:
        week = rights.preview_week(data.get(ATTR_WEEK), dt_util.utcnow().date())
    except rights.WeekOutOfRangeError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="week_out_of_range",
            translation_placeholders={
                "earliest": err.earliest.isoformat(),
                "latest": err.latest.isoformat(),
            },
        ) from err
    return await entry.runtime_data.sharing.async_preview(week)


async def _async_request_remote_deletion(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Ask every server an id submitted to to delete it; report each request."""
    await _async_require_admin(call)
    entry = _loaded_entry(call.hass, data)
    return {"requests": await rights.async_request_remote_deletion(entry)}


async def _async_regenerate_installation_id(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Replace the random id; neither id is logged or returned."""
    await _async_require_admin(call)
    sharing = _loaded_entry(call.hass, data).runtime_data.sharing
    first_week = await sharing.async_regenerate_installation_id()
    return {"regenerated": True, "first_week": first_week.isoformat()}


async def _async_submit_now(call: ServiceCall, data: dict[str, Any]) -> ServiceResponse:
    """Send pending weeks now, within consent and the hourly limit."""
    await _async_require_admin(call)
    sharing = _loaded_entry(call.hass, data).runtime_data.sharing
    sent = await sharing.async_submit_now()
    status = sharing.data
    return {
        "sent_weeks": [week.isoformat() for week in sent],
        "sharing_state": status.state.value,
        "pending_submissions": status.pending_submissions,
        "next_submission": None
        if status.next_submission is None
        else status.next_submission.isoformat(),
    }


type _Handler = Callable[[ServiceCall, dict[str, Any]], Awaitable[ServiceResponse]]


def _validating(
    handler: _Handler, schema: vol.Schema
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """Check the call's data first; refuse bad data with a translated error.

    Given the schema, Home Assistant would refuse bad data itself, but with an
    untranslated message; this names the field in the user's language.
    """

    async def handle(call: ServiceCall) -> ServiceResponse:
        try:
            data: dict[str, Any] = schema(dict(call.data))
        except vol.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_action_data",
                translation_placeholders={
                    "field": ".".join(str(part) for part in err.path) or "-"
                },
            ) from err
        return await handler(call, data)

    return handle


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions of the integration; each answers with a response."""
    # Read-only actions exist for their answer; the others also act on their own.
    only, optional = SupportsResponse.ONLY, SupportsResponse.OPTIONAL
    actions = (
        (SERVICE_EXPORT_STATISTICS, _async_export_statistics, ENTRY_SCHEMA, only),
        (SERVICE_PREVIEW_PAYLOAD, _async_preview_payload, PREVIEW_SCHEMA, only),
        (
            SERVICE_DELETE_LOCAL_STATISTICS,
            _async_delete_local_statistics,
            DELETE_LOCAL_SCHEMA,
            optional,
        ),
        (
            SERVICE_REQUEST_REMOTE_DELETION,
            _async_request_remote_deletion,
            ENTRY_SCHEMA,
            optional,
        ),
        (
            SERVICE_REGENERATE_INSTALLATION_ID,
            _async_regenerate_installation_id,
            ENTRY_SCHEMA,
            optional,
        ),
        (SERVICE_SUBMIT_NOW, _async_submit_now, ENTRY_SCHEMA, optional),
    )
    for name, handler, schema, response in actions:
        hass.services.async_register(
            DOMAIN, name, _validating(handler, schema), supports_response=response
        )
