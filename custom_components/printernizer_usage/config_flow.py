"""Config flow: the Printernizer URL, checked against its health endpoint."""

from __future__ import annotations

from typing import Any
import uuid

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_URL
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from .api import PrinternizerClient, PrinternizerError, normalise_base_url
from .const import CONF_BASELINE_ID, DEFAULT_URL, DOMAIN, ErrorType

# Home Assistant logs entry titles, so the title does not name the server's
# address; users can rename an entry.
TITLE = "Printernizer"


def _url_schema(default: str) -> vol.Schema:
    return vol.Schema({vol.Required(CONF_URL, default=default): str})


class PrinternizerUsageConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one entry per Printernizer server."""

    VERSION = 1

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the URL of the Printernizer server."""
        errors: dict[str, str] = {}
        if user_input is not None:
            url, errors = await self._async_check_url(user_input[CONF_URL])
            if url is not None:
                await self.async_set_unique_id(url)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=TITLE,
                    data={CONF_URL: url, CONF_BASELINE_ID: uuid.uuid4().hex},
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _url_schema(DEFAULT_URL), user_input
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the URL of the Printernizer server."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            url, errors = await self._async_check_url(user_input[CONF_URL])
            if url is not None and url == entry.unique_id:
                return self.async_update_reload_and_abort(entry)
            if url is not None:
                await self.async_set_unique_id(url)
                self._abort_if_unique_id_configured()
                # Another server: what it already lists must not count as new.
                return self.async_update_reload_and_abort(
                    entry,
                    unique_id=url,
                    data_updates={CONF_URL: url, CONF_BASELINE_ID: uuid.uuid4().hex},
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _url_schema(entry.data[CONF_URL]), user_input
            ),
            errors=errors,
        )

    async def _async_check_url(self, text: str) -> tuple[str | None, dict[str, str]]:
        """Return the normalised URL if Printernizer answers there, else errors."""
        try:
            url = normalise_base_url(text)
        except ValueError:
            return None, {CONF_URL: "invalid_url"}
        client = PrinternizerClient(async_get_clientsession(self.hass), url)
        try:
            await client.async_app_version()
        except PrinternizerError as err:
            if err.kind is ErrorType.INVALID_RESPONSE:
                return None, {"base": "invalid_response"}
            return None, {"base": "cannot_connect"}
        return url, {}
