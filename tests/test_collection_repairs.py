"""A refusing or redirecting collection server: each repair asks for what it lacks.

The fix flows are opened and answered over Home Assistant's HTTP API, as the
frontend does, and their effect is checked at the collection server.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_FORMER_COLLECTION_KEYS,
    DOMAIN,
)

from .conftest import ENTRY_ID
from .helpers import assert_placeholders_supplied
from .simulator.collection import CollectionSimulator
from .test_sharing import FIRST_WEEK, OFFSET, WEEK, start, travel

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

CLIENT_ID = "https://example.com/app"
FIRST_SEND = FIRST_WEEK + WEEK + OFFSET


class FixFlow:
    """A repair's fix flow, opened and answered over HTTP as an administrator."""

    def __init__(
        self, hass: HomeAssistant, clients: ClientSessionGenerator, user: MockUser
    ) -> None:
        """Sign in as `user` for each flow."""
        self._hass = hass
        self._clients = clients
        self._user = user
        self._path = ""
        self._client: Any = None

    async def open(self, issue_id: str) -> dict[str, Any]:
        """Open the fix flow of `issue_id` in a new session; return its form."""
        # A new token: the test's clock has moved past the fixture's.
        session = await self._hass.auth.async_create_refresh_token(
            self._user, CLIENT_ID
        )
        token = self._hass.auth.async_create_access_token(session)
        self._client = await self._clients(token)
        form = await self._post(
            "/api/repairs/issues/fix", {"handler": DOMAIN, "issue_id": issue_id}
        )
        self._path = f"/api/repairs/issues/fix/{form['flow_id']}"
        return form

    async def submit(self, data: dict[str, Any]) -> dict[str, Any]:
        """Answer the form."""
        return await self._post(self._path, data)

    async def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(path, json=data)
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


@pytest.fixture
async def fix_flow(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    sharing_entry: MockConfigEntry,
) -> FixFlow:
    """Set the sharing entry and the repairs API up, then return the flow opener."""
    await start(hass, sharing_entry)
    assert await async_setup_component(hass, "repairs", {})
    await hass_client()  # serving from now on: no more views
    return FixFlow(hass, hass_client, hass_admin_user)


def issue(hass: HomeAssistant, key: str) -> ir.IssueEntry | None:
    """Return one of the test entry's issues, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{key}_{ENTRY_ID}")


def fields(form: dict[str, Any]) -> list[str]:
    """Return the names of a form's fields."""
    return [field["name"] for field in form["data_schema"]]


async def refused_deletion(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> str:
    """Send the first week, rotate the server's key, ask for deletion; return the id."""
    await travel(hass, freezer, FIRST_SEND)
    sent_id = collection.submissions[0].installation_id
    collection.api_key = "rotated-key"
    await entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, FIRST_SEND + timedelta(seconds=2))
    return sent_id


async def test_a_refused_deletion_asks_for_the_key_and_goes_at_once(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    fix_flow: FixFlow,
) -> None:
    """Only the key is asked for; with it the waiting request is sent again."""
    sent_id = await refused_deletion(hass, sharing_entry, collection, freezer)
    refused = issue(hass, "deletion_refused")
    assert refused is not None
    assert refused.is_fixable
    form = await fix_flow.open(refused.issue_id)
    assert form["step_id"] == "server"
    assert fields(form) == [CONF_COLLECTION_API_KEY]
    assert_placeholders_supplied(form, "issues", "deletion_refused")

    done = await fix_flow.submit({CONF_COLLECTION_API_KEY: "rotated-key"})

    assert done["type"] == "create_entry"
    assert sharing_entry.options[CONF_COLLECTION_API_KEY] == "rotated-key"
    await travel(hass, freezer, FIRST_SEND + timedelta(seconds=4))
    assert collection.deletions == [sent_id]
    assert issue(hass, "deletion_refused") is None


async def test_a_key_the_form_would_refuse_is_refused_here_too(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    fix_flow: FixFlow,
) -> None:
    """A key with a space in it is no key: the form says so, nothing is saved."""
    await refused_deletion(hass, sharing_entry, collection, freezer)
    await fix_flow.open(f"deletion_refused_{ENTRY_ID}")
    form = await fix_flow.submit({CONF_COLLECTION_API_KEY: "two words"})
    assert form["errors"] == {CONF_COLLECTION_API_KEY: "invalid_api_key"}
    assert_placeholders_supplied(form, "issues", "deletion_refused")
    assert sharing_entry.options[CONF_COLLECTION_API_KEY] == collection_key(
        sharing_entry
    )


def collection_key(entry: MockConfigEntry) -> str:
    """Return the key the entry was set up with."""
    key: str = entry.options[CONF_COLLECTION_API_KEY]
    return key


async def test_a_redirected_week_asks_for_the_final_address(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    *,
    elsewhere: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    fix_flow: FixFlow,
) -> None:
    """Address and key are asked; later weeks go to the address given."""
    collection.fail("redirect_307", "/submit", body=elsewhere.url)
    await travel(hass, freezer, FIRST_SEND)
    redirected = issue(hass, "submission_redirected")
    assert redirected is not None
    form = await fix_flow.open(redirected.issue_id)
    assert fields(form) == [CONF_COLLECTION_URL, CONF_COLLECTION_API_KEY]
    assert_placeholders_supplied(form, "issues", "submission_redirected")
    old_url, old_key = collection.url, collection_key(sharing_entry)
    insecure = await fix_flow.submit({CONF_COLLECTION_URL: "http://stats.example.org"})
    assert insecure["errors"] == {CONF_COLLECTION_URL: "insecure_url"}

    done = await fix_flow.submit(
        {CONF_COLLECTION_URL: elsewhere.url, CONF_COLLECTION_API_KEY: "new-key"}
    )

    assert done["type"] == "create_entry"
    assert sharing_entry.options[CONF_COLLECTION_URL] == elsewhere.url
    assert sharing_entry.options[CONF_COLLECTION_API_KEY] == "new-key"
    assert sharing_entry.options[CONF_FORMER_COLLECTION_KEYS] == {old_url: old_key}
    assert issue(hass, "submission_redirected") is None
    assert elsewhere.submissions == []  # nothing followed the redirect


async def test_a_fix_for_a_removed_entry_ends_plainly(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    fix_flow: FixFlow,
) -> None:
    """The entry went while its issue was open: the flow says so."""
    await refused_deletion(hass, sharing_entry, collection, freezer)
    issue_id = f"deletion_refused_{ENTRY_ID}"
    assert await hass.config_entries.async_remove(sharing_entry.entry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="deletion_refused",
        translation_placeholders={"title": "Printernizer"},
        data={"entry_id": ENTRY_ID, "title": "Printernizer"},
    )
    form = await fix_flow.open(issue_id)
    assert form["reason"] == "entry_removed"


async def test_a_former_servers_refusal_asks_for_that_servers_key_only(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    fix_flow: FixFlow,
    *,
    elsewhere: CollectionSimulator,
) -> None:
    """The key typed is that address's: never the current server's, nor sent there.

    A form that saved it as the current server's key would send it there
    with every week.
    """
    await travel(hass, freezer, FIRST_SEND)
    [sent] = collection.submissions
    former_key = collection_key(sharing_entry)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={
            **sharing_entry.options,
            CONF_COLLECTION_URL: elsewhere.url,
            CONF_COLLECTION_API_KEY: "",
            CONF_FORMER_COLLECTION_KEYS: {collection.url: former_key},
        },
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    collection.api_key = "rotated-key"
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, FIRST_SEND + timedelta(seconds=2))
    assert issue(hass, "deletion_refused") is None
    refused = issue(hass, "deletion_refused_elsewhere")
    assert refused is not None
    assert refused.is_fixable
    assert refused.translation_placeholders["server"] == collection.url

    form = await fix_flow.open(refused.issue_id)
    assert form["step_id"] == "key"
    assert fields(form) == [CONF_COLLECTION_API_KEY]
    assert_placeholders_supplied(form, "issues", "deletion_refused_elsewhere")
    bad = await fix_flow.submit({CONF_COLLECTION_API_KEY: "two words"})
    assert bad["errors"] == {CONF_COLLECTION_API_KEY: "invalid_api_key"}
    done = await fix_flow.submit({CONF_COLLECTION_API_KEY: "rotated-key"})

    assert done["type"] == "create_entry"
    options = sharing_entry.options
    assert options[CONF_COLLECTION_API_KEY] == ""  # the current server's own
    assert options[CONF_FORMER_COLLECTION_KEYS] == {collection.url: "rotated-key"}
    await travel(hass, freezer, FIRST_SEND + timedelta(seconds=4))
    assert collection.deletions == [sent.installation_id]
    assert issue(hass, "deletion_refused_elsewhere") is None
    # The new id's first week, at the current server: sent without any key.
    await travel(hass, freezer, FIRST_SEND + 2 * WEEK + timedelta(hours=2))
    [week] = elsewhere.submissions
    assert "X-API-Key" not in week.headers


def former_servers_refusal(hass: HomeAssistant, server: str) -> str:
    """Raise the former server's refusal by hand, naming `server`; return its id."""
    issue_id = f"deletion_refused_elsewhere_{ENTRY_ID}"
    placeholders = {"title": "Printernizer", "server": server}
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="deletion_refused_elsewhere",
        translation_placeholders=placeholders,
        data={"entry_id": ENTRY_ID, **placeholders},
    )
    return issue_id


async def test_a_former_servers_repair_stops_once_it_is_current_again(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    fix_flow: FixFlow,
) -> None:
    """Its own repair asks for the current server's key; this one says so."""
    url = sharing_entry.options[CONF_COLLECTION_URL]
    form = await fix_flow.open(former_servers_refusal(hass, url))
    assert form["reason"] == "server_is_current"


@pytest.mark.parametrize(
    ("server", "edit", "reason"),
    [
        ("https://127.0.0.1:9/", {}, "server_unknown"),  # not as the forms store it
        ("https://127.0.0.1:9", {CONF_COLLECTION_API_KEY: "a b"}, "settings_invalid"),
    ],
)
async def test_a_former_servers_repair_changes_nothing_it_cannot_stand_by(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    fix_flow: FixFlow,
    *,
    server: str,
    edit: dict[str, Any],
    reason: str,
) -> None:
    """An address no form stores, or settings no key is read from: it says so."""
    hass.config_entries.async_update_entry(
        sharing_entry, options={**sharing_entry.options, **edit}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    options = dict(sharing_entry.options)
    form = await fix_flow.open(former_servers_refusal(hass, server))
    assert form["reason"] == reason
    assert dict(sharing_entry.options) == options
