"""Config and options flows: Printernizer URL, privacy step, sharing settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
import uuid

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .api import PrinternizerClient, PrinternizerError
from .consent_preview import async_live_facts, async_privacy_placeholders
from .const import (
    CONF_BASELINE_ID,
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    DEFAULT_URL,
    DOMAIN,
    POLICY_VERSION,
    ErrorType,
)
from .coordinator import PrinternizerUsageConfigEntry
from .outbox import AttemptResult
from .outgoing import new_collection_session
from .payload import PrinternizerFacts, week_start
from .store import LocalStatisticsStore
from .submitter import async_check_health, is_api_key
from .urls import (
    CollectionUrlError,
    is_collection_url,
    normalise_base_url,
    normalise_collection_url,
)

# Home Assistant logs entry titles, so the title does not name the server's
# address; users can rename an entry.
TITLE = "Printernizer"
CONF_DELETE_SHARED = "delete_shared"
# Addresses go into the forms as placeholders: translations hold no URLs.
PRINTERNIZER_URL_PLACEHOLDERS = {"example_url": DEFAULT_URL}
COLLECTION_URL_PLACEHOLDERS = {"example_url": "https://stats.example.org"}


def _url_schema(default: str) -> vol.Schema:
    return vol.Schema({vol.Required(CONF_URL, default=default): str})


# Sharing is off unless the user ticks the box.
SHARE_SCHEMA = vol.Schema({vol.Required(CONF_SHARE_STATISTICS, default=False): bool})
COLLECTION_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_COLLECTION_URL): TextSelector(
            TextSelectorConfig(type=TextSelectorType.URL)
        ),
        vol.Optional(CONF_COLLECTION_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)


async def _async_check_collection_url(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the collection-server options if the server answers, else errors."""
    try:
        url = normalise_collection_url(user_input[CONF_COLLECTION_URL])
    except CollectionUrlError as err:
        return {}, {CONF_COLLECTION_URL: err.reason}
    async with new_collection_session() as session:
        health = await async_check_health(session, url)
    if health is AttemptResult.REDIRECTED:
        return {}, {"base": "collection_redirects"}
    if health is not AttemptResult.ACCEPTED:
        return {}, {"base": "collection_unreachable"}
    key = user_input.get(CONF_COLLECTION_API_KEY, "").strip()
    if not is_api_key(key):
        return {}, {CONF_COLLECTION_API_KEY: "invalid_api_key"}
    return {CONF_COLLECTION_URL: url, CONF_COLLECTION_API_KEY: key}, {}


def _keys_for_server(
    options: Mapping[str, Any], server: dict[str, Any]
) -> dict[str, Any]:
    """Return the server options with the key that belongs to the address.

    A key typed in is that address's. Left empty, the address keeps its own
    key: the current one, or the one kept from when it was the server before;
    a new address starts with none. The key of the server being left is kept
    for its deletion requests (the coordinator forgets it once none can come).
    """
    url, typed = server[CONF_COLLECTION_URL], server[CONF_COLLECTION_API_KEY]
    old_url = options.get(CONF_COLLECTION_URL)
    old_key = options.get(CONF_COLLECTION_API_KEY) or ""
    former = dict(options.get(CONF_FORMER_COLLECTION_KEYS) or {})
    # Only an address the forms could have stored keeps its key: a hand-edited
    # one never received anything.
    if old_url != url and old_key and is_collection_url(old_url):
        former[old_url] = old_key
    own = old_key if url == old_url else former.get(url, "")
    former.pop(url, None)
    return {
        CONF_COLLECTION_URL: url,
        CONF_COLLECTION_API_KEY: typed or own,
        CONF_FORMER_COLLECTION_KEYS: former,
    }


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
        """Explain sharing, show the preview, and ask; the box starts unticked."""
        if user_input is not None:
            if user_input[CONF_SHARE_STATISTICS]:
                return await self.async_step_collection_server()
            return self.async_create_entry(
                title=TITLE, data=self._data, options={CONF_SHARE_STATISTICS: False}
            )
        if self._client is None:  # pragma: no cover - the user step made it
            msg = "the Printernizer URL was not checked"
            raise RuntimeError(msg)
        facts, flags = await async_live_facts(self._client)
        return self.async_show_form(
            step_id="privacy",
            data_schema=SHARE_SCHEMA,
            description_placeholders=await async_privacy_placeholders(
                self.hass, facts, flags
            ),
        )

    async def async_step_collection_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask where to send the statistics; only HTTPS servers that answer."""
        errors: dict[str, str] = {}
        if user_input is not None:
            server, errors = await _async_check_collection_url(self.hass, user_input)
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


class PrinternizerUsageOptionsFlow(OptionsFlow):
    """Turn sharing on or off, and set the collection server; applied at once."""

    def __init__(self) -> None:
        """Start with nothing changed."""
        self._turning_on = False

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the two settings."""
        return self.async_show_menu(
            step_id="init", menu_options=["sharing", "collection_server"]
        )

    async def async_step_sharing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show what sharing means and the preview; tick to share, untick to stop."""
        options = self.config_entry.options
        sharing = bool(options.get(CONF_SHARE_STATISTICS, False))
        if user_input is not None:
            if user_input[CONF_DELETE_SHARED]:
                if self.config_entry.state is not ConfigEntryState.LOADED:
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
        facts, flags = await self._async_stored_facts()
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
            server, errors = await _async_check_collection_url(self.hass, user_input)
            if not errors:
                updated = self._sharing_options() if self._turning_on else options
                return self.async_create_entry(
                    data={**updated, **_keys_for_server(options, server)}
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

    async def _async_stored_facts(self) -> tuple[PrinternizerFacts, dict[str, bool]]:
        """Return what the store last saw, or nothing while the entry is not loaded."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return PrinternizerFacts(None, None, None, None, {}), {}
        store = self.config_entry.runtime_data.store
        facts = await store.async_call(LocalStatisticsStore.printernizer_facts)
        week = week_start(dt_util.utcnow().date())
        counts = await store.async_call(LocalStatisticsStore.week_counts, week)
        return facts, dict(counts.feature_flags)
