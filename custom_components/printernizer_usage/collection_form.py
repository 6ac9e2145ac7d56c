"""The forms the setup, the options and the repairs share: privacy, the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    SERVER_PROMISES_URL,
    SERVER_URL,
)
from .outbox import AttemptResult
from .outgoing import new_collection_session
from .submitter import async_check_health, is_api_key
from .urls import CollectionUrlError, is_collection_url, normalise_collection_url

# Addresses go into the forms as placeholders: translations hold no URLs.
COLLECTION_URL_PLACEHOLDERS = {
    "example_url": "https://stats.example.org",
    "promises_url": SERVER_PROMISES_URL,
    "server_url": SERVER_URL,
}
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

# The privacy step's choice comes first; the details are one click away, and
# what would be sent is a step of its own (a section's text takes no
# placeholders in Home Assistant 2025.4).
CONF_DETAILS = "details"
CONF_SHOW_PREVIEW = "show_preview"
# Stopping can also ask the servers to delete what they hold.
CONF_DELETE_SHARED = "delete_shared"


def privacy_schema(*, sharing: bool, offer_deletion: bool = False) -> vol.Schema:
    """Return the privacy step's form: the choice, the way to the preview, details.

    The box shows what is set (unticked before any consent); the deletion
    box only where some server may hold data.
    """
    fields: dict[Any, Any] = {
        vol.Required(CONF_SHARE_STATISTICS, default=sharing): bool,
    }
    if offer_deletion:
        fields[vol.Required(CONF_DELETE_SHARED, default=False)] = bool
    fields[vol.Required(CONF_SHOW_PREVIEW, default=False)] = bool
    fields[vol.Optional(CONF_DETAILS)] = section(vol.Schema({}), {"collapsed": True})
    return vol.Schema(fields)


# For a server whose address is right but whose key is not.
KEY_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_COLLECTION_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        )
    }
)


async def async_check_collection_server(
    user_input: dict[str, Any],
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


def keys_for_server(
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
