"""Config flow for the Printernizer usage statistics integration."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_URL
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import PrinternizerClient, PrinternizerError, PrinternizerErrorKind
from .const import DEFAULT_URL, DOMAIN


class PrinternizerUsageConfigFlow(ConfigFlow, domain=DOMAIN):
    """Ask for the Printernizer URL and check that it answers."""

    VERSION = 1

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the URL of the Printernizer server."""
        errors: dict[str, str] = {}
        if user_input is not None:
            url = user_input[CONF_URL].rstrip("/")
            await self.async_set_unique_id(url)
            self._abort_if_unique_id_configured()
            client = PrinternizerClient(async_get_clientsession(self.hass), url)
            try:
                await client.async_health()
            except PrinternizerError as err:
                errors["base"] = (
                    "invalid_response"
                    if err.kind is PrinternizerErrorKind.INVALID_RESPONSE
                    else "cannot_connect"
                )
            else:
                return self.async_create_entry(title=url, data={CONF_URL: url})
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({vol.Required(CONF_URL, default=DEFAULT_URL): str}),
            errors=errors,
        )
