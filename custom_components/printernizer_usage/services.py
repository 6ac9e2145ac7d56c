"""Actions that give users their rights over the local statistics."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .const import DOMAIN
from .coordinator import PrinternizerUsageConfigEntry
from .store import LocalStatisticsStore

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
SERVICE_EXPORT_STATISTICS = "export_statistics"

ENTRY_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})


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


def _loaded_entry(call: ServiceCall) -> PrinternizerUsageConfigEntry:
    """Return the loaded entry the call names."""
    entry_id: str = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = call.hass.config_entries.async_get_entry(entry_id)
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


async def _async_export_statistics(call: ServiceCall) -> ServiceResponse:
    await _async_require_admin(call)
    entry = _loaded_entry(call)
    return await entry.runtime_data.store.async_call(LocalStatisticsStore.export)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions of the integration."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_STATISTICS,
        _async_export_statistics,
        schema=ENTRY_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
