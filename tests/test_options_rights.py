"""The options menu as the home of the user's rights, driven as the frontend does.

Every right is reached through Home Assistant's HTTP API for options flows,
so that the export's link is signed for a real signed-in session, and each
right's effect is checked where it lands: the store, the collection server,
the next submission.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import html
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import RefreshToken
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.printernizer_usage.collection_form import CONF_DELETE_SHARED
from custom_components.printernizer_usage.options_rights import CONF_WEEK
from custom_components.printernizer_usage.targets import DeletionTargets

from .helpers import assert_placeholders_supplied
from .simulator.collection import CollectionSimulator
from .test_sharing import FIRST_WEEK, OFFSET, WEEK, export, start, travel

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

FLOWS = "/api/config/config_entries/options/flow"
CLIENT_ID = "https://example.com/app"


class OptionsClient:
    """An options flow of one entry, opened and answered over HTTP."""

    def __init__(
        self,
        hass: HomeAssistant,
        clients: ClientSessionGenerator,
        session: RefreshToken,
        entry: MockConfigEntry,
    ) -> None:
        """Open flows for `entry` in `session`, an administrator's sign-in."""
        self._hass = hass
        self._clients = clients
        self._session = session
        self._client: TestClient | None = None
        self._entry = entry
        self._flow_id = ""
        # What the browser sends with every request (its languages, say).
        self.headers: dict[str, str] = {}

    async def open(self) -> dict[str, Any]:
        """Open the options in a new session; return the menu.

        A new access token each time: a test's clock may have moved past the
        lifetime of the last one.
        """
        token = self._hass.auth.async_create_access_token(self._session)
        self._client = await self._clients(token)
        answer = await self._post(FLOWS, {"handler": self._entry.entry_id})
        self._flow_id = answer["flow_id"]
        return answer

    async def choose(self, step: str) -> dict[str, Any]:
        """Open the options and pick a menu entry; return what it shows."""
        await self.open()
        return await self.submit({"next_step_id": step})

    async def submit(self, data: dict[str, Any]) -> dict[str, Any]:
        """Answer the current step."""
        return await self._post(f"{FLOWS}/{self._flow_id}", data)

    async def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        assert self._client is not None
        response = await self._client.post(path, json=data, headers=self.headers)
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        assert_placeholders_supplied(answer, "options")
        return answer


@pytest.fixture
async def options(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    sharing_entry: MockConfigEntry,
) -> OptionsClient:
    """Return an options client for the sharing entry, set up and sharing.

    The client comes after the setup: Home Assistant's router accepts no new
    view (the export's) once a client is serving.
    """
    await start(hass, sharing_entry)
    assert await async_setup_component(hass, "config", {})
    await hass_client()  # serving from now on: no more views
    session = await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    return OptionsClient(hass, hass_client, session, sharing_entry)


async def send_first_week(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> datetime:
    """Travel to when the first covered week is sent; return that time."""
    sent_at = FIRST_WEEK + WEEK + OFFSET
    await travel(hass, freezer, sent_at)
    return sent_at


async def test_the_menu_offers_every_right(
    hass: HomeAssistant, sharing_entry: MockConfigEntry, options: OptionsClient
) -> None:
    """Settings, preview, export, both deletions and a new id, in that order."""
    menu = await options.open()
    assert menu["type"] == "menu"
    assert menu["menu_options"] == [
        "sharing",
        "collection_server",
        "preview",
        "export",
        "delete_local",
        "remote_deletion",
        "new_installation_id",
    ]


async def test_the_export_ends_in_a_file_the_browser_saves(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    options: OptionsClient,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The result links to the signed download; it holds the same as the store."""
    await send_first_week(hass, freezer)
    result = await options.choose("export")
    assert result["type"] == "abort"
    assert result["reason"] == "export_ready"
    link = result["description_placeholders"]["download_link"]
    path = re.fullmatch(
        r'<a href="([^"]+)" target="_blank">printernizer-usage-[\d-]+\.json</a>', link
    )
    assert path is not None, link
    download = await (await hass_client_no_auth()).get(html.unescape(path[1]))
    assert download.status == 200
    assert "attachment" in download.headers["Content-Disposition"]
    saved = json.loads(await download.read())
    stored = await export(hass, sharing_entry)
    assert saved["weekly_submissions"] == stored["weekly_submissions"]
    assert saved["weekly_submissions"]  # the week that was sent is in it


async def test_an_export_link_needs_a_signed_in_browser(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """Opened without an HTTP session there is nothing to sign; it says so."""
    await start(hass, sharing_entry)
    flow = await hass.config_entries.options.async_init(sharing_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"next_step_id": "export"}
    )
    assert result["reason"] == "export_needs_browser"


async def test_the_preview_shows_a_chosen_week_as_it_was_sent(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    options: OptionsClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Any day of a week picks it; the verdict is translated; back to the menu."""
    await send_first_week(hass, freezer)
    form = await options.choose("preview")
    assert form["step_id"] == "preview"
    thursday = (FIRST_WEEK + timedelta(days=3)).date().isoformat()
    result = await options.submit({CONF_WEEK: thursday})
    assert result["step_id"] == "preview_result"
    placeholders = result["description_placeholders"]
    assert placeholders["week_start"] == FIRST_WEEK.date().isoformat()
    assert placeholders["verdict"] == "This week was sent, exactly as shown."
    shown = json.loads(placeholders["preview"].removeprefix("```json\n")[:-4])
    assert shown == collection.submissions[0].payload
    assert (await options.submit({}))["type"] == "menu"


async def test_the_preview_of_a_week_without_data_says_why_not(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    options: OptionsClient,
) -> None:
    """The week under way is not over; a day far ahead is refused in the form."""
    await options.choose("preview")
    far_ahead = (FIRST_WEEK + 10 * WEEK).date().isoformat()
    refused = await options.submit({CONF_WEEK: far_ahead})
    assert refused["errors"] == {CONF_WEEK: "week_out_of_range"}
    result = await options.submit({CONF_WEEK: "2026-11-25"})
    verdict = result["description_placeholders"]["verdict"]
    assert verdict == "This week is not over yet; the figures still change."


async def test_the_preview_speaks_the_viewers_language(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    options: OptionsClient,
) -> None:
    """A German browser on an English Home Assistant reads German placeholders."""
    assert hass.config.language == "en"
    options.headers["Accept-Language"] = "fr-CH, de-DE;q=0.9, en;q=0.8"
    await options.choose("preview")
    result = await options.submit({CONF_WEEK: "2026-11-25"})
    placeholders = result["description_placeholders"]
    assert placeholders["verdict"] == (
        "Diese Woche ist noch nicht vorbei; die Zahlen ändern sich noch."
    )
    assert '"installation_id": "(noch unbekannt)"' in placeholders["preview"]


async def test_deleting_local_statistics_asks_first_then_says_what_went(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    options: OptionsClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The form deletes nothing; submitting it empties the store and asks the server."""
    first_send = await send_first_week(hass, freezer)
    old_id = collection.submissions[0].installation_id
    form = await options.choose("delete_local")
    assert form["type"] == "form"
    assert (await export(hass, sharing_entry))["weekly_submissions"]
    result = await options.submit({CONF_DELETE_SHARED: True})
    assert result["reason"] == "local_statistics_deleted"
    assert result["description_placeholders"]["summaries"] == "1"
    await travel(hass, freezer, first_send + timedelta(seconds=2))
    assert collection.deletions == [old_id]
    assert (await export(hass, sharing_entry))["weekly_submissions"] == []


async def test_a_local_deletion_that_cannot_keep_its_targets_says_so(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    options: OptionsClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nothing can be written where the targets belong: nothing is deleted."""
    await send_first_week(hass, freezer)
    target = DeletionTargets(hass, sharing_entry.entry_id).path
    target.unlink(missing_ok=True)
    target.mkdir(parents=True)
    await options.choose("delete_local")
    result = await options.submit({CONF_DELETE_SHARED: False})
    assert result["reason"] == "local_deletion_failed"
    assert (await export(hass, sharing_entry))["weekly_submissions"]


async def test_a_remote_deletion_reports_the_confirmation(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    options: OptionsClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The form sends nothing; submitted, the server deletes before the result."""
    await send_first_week(hass, freezer)
    old_id = collection.submissions[0].installation_id
    assert (await options.choose("remote_deletion"))["type"] == "form"
    assert collection.deletions == []
    result = await options.submit({})
    assert result["reason"] == "remote_deletion_result"
    assert result["description_placeholders"] == {
        "confirmed": "1",
        "refused": "0",
        "not_reached": "0",
    }
    assert collection.deletions == [old_id]


async def test_a_refused_remote_deletion_is_reported_as_refused(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    options: OptionsClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A refusal is named in the result, not hidden behind "saved"."""
    await send_first_week(hass, freezer)
    collection.api_key = "rotated-key"
    await options.choose("remote_deletion")
    result = await options.submit({})
    assert result["description_placeholders"] == {
        "confirmed": "0",
        "refused": "1",
        "not_reached": "0",
    }
    assert collection.deletions == []


async def test_a_remote_deletion_with_nothing_shared_says_so(
    hass: HomeAssistant, sharing_entry: MockConfigEntry, options: OptionsClient
) -> None:
    """Before the first week went, there is nothing to ask any server for."""
    await options.choose("remote_deletion")
    assert (await options.submit({}))["reason"] == "nothing_shared"


async def test_a_new_installation_id_asks_first_and_names_its_first_week(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    options: OptionsClient,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The next summaries come under another id, from the week named."""
    first_send = await send_first_week(hass, freezer)
    old_id = collection.submissions[0].installation_id
    assert (await options.choose("new_installation_id"))["type"] == "form"
    result = await options.submit({})
    assert result["reason"] == "installation_id_replaced"
    first_week = result["description_placeholders"]["first_week"]
    await travel(hass, freezer, first_send + 2 * WEEK)
    fresh = collection.submissions[-1]
    assert fresh.installation_id != old_id
    assert fresh.payload["period"]["start"] == f"{first_week}T00:00:00Z"


@pytest.mark.parametrize(
    "step",
    ["preview", "export", "delete_local", "remote_deletion", "new_installation_id"],
)
async def test_a_right_needs_a_loaded_entry(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    options: OptionsClient,
    step: str,
) -> None:
    """An entry that is not loaded has no store to act on: the flow says so."""
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    result = await options.choose(step)
    assert result["reason"] == "entry_not_loaded"
