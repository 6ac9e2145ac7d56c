"""The export as a file: an authenticated view reached through a signed path."""

from __future__ import annotations

from datetime import timedelta
import html
from http import HTTPStatus
import json
from typing import Final

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.http.const import (
    KEY_HASS_REFRESH_TOKEN_ID,
    KEY_HASS_USER,
)
from homeassistant.components.websocket_api.connection import current_connection
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView, current_request
from homeassistant.util import dt as dt_util

from .const import DOMAIN

EXPORT_URL: Final = f"/api/{DOMAIN}/export/{{entry_id}}"
# Long enough to click the link, short enough not to be worth leaking.
DOWNLOAD_LINK_LIFETIME: Final = timedelta(minutes=5)


def async_sign_export_path(hass: HomeAssistant, entry_id: str) -> str | None:
    """Return a short-lived path that downloads an entry's export, where one works.

    It is signed for the signed-in session that asked for it, and the view
    still requires that user to be an administrator. Without such a session
    (an automation, a script) there is None: Home Assistant would sign for its
    read-only content user, whom the view refuses.
    """
    refresh_token_id = _session_refresh_token_id()
    if refresh_token_id is None:
        return None
    return async_sign_path(
        hass,
        EXPORT_URL.format(entry_id=entry_id),
        DOWNLOAD_LINK_LIFETIME,
        refresh_token_id=refresh_token_id,
    )


def export_filename() -> str:
    """Return the name a downloaded export is saved under."""
    return f"printernizer-usage-{dt_util.utcnow():%Y-%m-%d}.json"


def download_link(path: str) -> str:
    """Return an HTML link to a signed path, named after the file it saves.

    It has a target, so the browser follows it and saves the file: the
    frontend's router takes a plain same-site link for one of its own pages,
    lands on the dashboard and leaves the signature in the address bar. The
    file name needs no translation (the frontend translates the text around it).
    """
    return (
        f'<a href="{html.escape(path)}" target="_blank">'
        f"{html.escape(export_filename())}</a>"
    )


def _session_refresh_token_id() -> str | None:
    """Return the refresh token of the websocket or HTTP session making this call."""
    if (connection := current_connection.get()) is not None:
        token_id: str | None = connection.refresh_token_id
        return token_id
    request = current_request.get()
    if request is not None and KEY_HASS_REFRESH_TOKEN_ID in request:
        return str(request[KEY_HASS_REFRESH_TOKEN_ID])
    return None


class ExportDownloadView(HomeAssistantView):
    """Serve the same JSON as export_statistics, as an attachment."""

    url = EXPORT_URL
    name = f"api:{DOMAIN}:export"
    requires_auth = True

    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """Return the export of a loaded entry to an administrator."""
        if not request[KEY_HASS_USER].is_admin:
            return self.json_message("Administrators only", HTTPStatus.FORBIDDEN)
        hass = request.app[KEY_HASS]
        entry = hass.config_entries.async_get_entry(entry_id)
        if (
            entry is None
            or entry.domain != DOMAIN
            or entry.state is not ConfigEntryState.LOADED
        ):
            return self.json_message("No such loaded entry", HTTPStatus.NOT_FOUND)
        export = await entry.runtime_data.sharing.async_export()
        return web.Response(
            body=json.dumps(export, indent=2),
            content_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="{export_filename()}"',
                # The statistics are the user's: no browser or proxy keeps a copy.
                "Cache-Control": "no-store",
            },
        )
