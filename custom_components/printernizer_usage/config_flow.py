"""The config flow: Printernizer's URL, the privacy step, the collection server."""

from __future__ import annotations

from typing import Any
import uuid

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_URL
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from .api import PrinternizerClient, PrinternizerError
from .collection_form import (
    COLLECTION_SCHEMA,
    COLLECTION_URL_PLACEHOLDERS,
    CONF_SHOW_PREVIEW,
    async_check_collection_server,
    privacy_schema,
)
from .consent_preview import async_live_facts, async_preview_placeholders
from .const import (
    CONF_BASELINE_ID,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    DEFAULT_URL,
    DOMAIN,
    POLICY_VERSION,
    PRIVACY_URL,
    ErrorType,
)
from .coordinator import PrinternizerUsageConfigEntry
from .options_flow import PrinternizerUsageOptionsFlow
from .urls import (
    normalise_base_url,
)

# Home Assistant logs entry titles, so the title does not name the server's
# address; users can rename an entry.
TITLE = "Printernizer"
# Addresses go into the forms as placeholders: translations hold no URLs.
PRINTERNIZER_URL_PLACEHOLDERS = {"example_url": DEFAULT_URL}


def _url_schema(default: str) -> vol.Schema:
    return vol.Schema({vol.Required(CONF_URL, default=default): str})


class PrinternizerUsageConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one entry per Printernizer server."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._data: dict[str, Any] = {}
        self._client: PrinternizerClient | None = None

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: PrinternizerUsageConfigEntry,
    ) -> PrinternizerUsageOptionsFlow:
        """Return the flow that changes the sharing settings."""
        return PrinternizerUsageOptionsFlow()

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
                self._data = {CONF_URL: url, CONF_BASELINE_ID: uuid.uuid4().hex}
                return await self.async_step_privacy()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _url_schema(DEFAULT_URL), user_input
            ),
            errors=errors,
            description_placeholders=PRINTERNIZER_URL_PLACEHOLDERS,
        )

    async def async_step_privacy(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask first, in short; the box starts unticked, the details folded."""
        if user_input is not None:
            if user_input.get(CONF_SHOW_PREVIEW):
                return await self.async_step_what_would_be_sent()
            if user_input[CONF_SHARE_STATISTICS]:
                return await self.async_step_collection_server()
            return self.async_create_entry(
                title=TITLE, data=self._data, options={CONF_SHARE_STATISTICS: False}
            )
        return self.async_show_form(
            step_id="privacy",
            data_schema=privacy_schema(sharing=False),
            description_placeholders={"privacy_url": PRIVACY_URL},
        )

    async def async_step_what_would_be_sent(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the first summary as it would be sent; then back to the choice."""
        if user_input is not None:
            return await self.async_step_privacy()
        if self._client is None:  # pragma: no cover - the user step made it
            msg = "the Printernizer URL was not checked"
            raise RuntimeError(msg)
        facts, flags = await async_live_facts(self._client)
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
        """Ask where to send the statistics; only HTTPS servers that answer."""
        errors: dict[str, str] = {}
        if user_input is not None:
            server, errors = await async_check_collection_server(user_input)
            if not errors:
                return self.async_create_entry(
                    title=TITLE,
                    data=self._data,
                    options={
                        CONF_SHARE_STATISTICS: True,
                        CONF_CONSENTED_POLICY: POLICY_VERSION,
                        **server,
                    },
                )
        return self.async_show_form(
            step_id="collection_server",
            data_schema=self.add_suggested_values_to_schema(
                COLLECTION_SCHEMA, user_input
            ),
            errors=errors,
            description_placeholders=COLLECTION_URL_PLACEHOLDERS,
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
            description_placeholders=PRINTERNIZER_URL_PLACEHOLDERS,
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
        self._client = client
        return url, {}
