"""Settings read from disk are checked as the forms check them, not trusted.

A hand-edited (or damaged) options file must not make a week go where the
forms would never have let it, or under a consent the user never gave.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    DOMAIN,
)
from custom_components.printernizer_usage.sharing_settings import SharingSettings

from .conftest import ENTRY_ID
from .helpers import assert_placeholders_supplied
from .simulator.collection import CollectionSimulator
from .test_collection_repairs import FixFlow
from .test_sharing import FIRST_WEEK, OFFSET, WEEK, export, set_options, start, travel

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

ISSUE_ID = f"invalid_settings_{ENTRY_ID}"
type Edit = Callable[[CollectionSimulator], dict[str, Any]]
EDITS: list[tuple[str, Edit, str]] = [
    (
        "credentials in the url",
        lambda server: {
            CONF_COLLECTION_URL: server.url.replace("://", "://user:secret@")
        },
        CONF_COLLECTION_URL,
    ),
    (
        "a url that is not text",
        lambda server: {CONF_COLLECTION_URL: ["http://127.0.0.1"]},
        CONF_COLLECTION_URL,
    ),
    (
        "a policy that does not exist",
        lambda server: {CONF_CONSENTED_POLICY: 99},
        CONF_CONSENTED_POLICY,
    ),
    (
        "a policy as text",
        lambda server: {CONF_CONSENTED_POLICY: "1"},
        CONF_CONSENTED_POLICY,
    ),
    (
        "no policy at all",
        lambda server: {CONF_CONSENTED_POLICY: None},
        CONF_CONSENTED_POLICY,
    ),
    (
        "a key that is not text",
        lambda server: {CONF_COLLECTION_API_KEY: 12345},
        CONF_COLLECTION_API_KEY,
    ),
    (
        "a key with a line break",
        lambda server: {CONF_COLLECTION_API_KEY: "test-api-key\r\nX-Other: 1"},
        CONF_COLLECTION_API_KEY,
    ),
    (
        "a former key with a line break",
        lambda server: {CONF_FORMER_COLLECTION_KEYS: {"https://127.0.0.1:9": "a\nb"}},
        CONF_FORMER_COLLECTION_KEYS,
    ),
    (
        "a stop time that is no time",
        lambda server: {CONF_STOPPED_AT: "last tuesday"},
        CONF_STOPPED_AT,
    ),
    (
        "a stop time without a zone",
        lambda server: {CONF_STOPPED_AT: "2026-11-30T10:00:00"},
        CONF_STOPPED_AT,
    ),
    (
        "a declined policy as text",
        lambda server: {CONF_DECLINED_POLICY: "two"},
        CONF_DECLINED_POLICY,
    ),
    (
        "sharing as text",
        lambda server: {CONF_SHARE_STATISTICS: "yes"},
        CONF_SHARE_STATISTICS,
    ),
]


@pytest.mark.parametrize(
    ("edit", "option"),
    [(edit, option) for _, edit, option in EDITS],
    ids=[name for name, _, _ in EDITS],
)
async def test_hand_edited_settings_send_nothing_and_say_so(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    edit: Edit,
    option: str,
) -> None:
    """An invalid option raises a repair issue naming it; no week goes meanwhile."""
    edited = {**sharing_entry.options, **edit(collection)}
    sharing_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={key: value for key, value in edited.items() if value is not None},
    )
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    assert collection.requests == []
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)
    assert issue is not None
    assert issue.translation_key == "invalid_settings"
    assert issue.translation_placeholders == {"title": "Printernizer", "option": option}
    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert all(decision["policy_version"] == 1 for decision in decisions)


async def test_fixed_settings_clear_the_issue_and_the_week_goes(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Saved again, the settings apply; consent counts from then on.

    No consent was read while the settings were invalid, so the week of the
    fix is not covered: the next whole week is the first to go.
    """
    good_url = sharing_entry.options[CONF_COLLECTION_URL]
    sharing_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={
            **sharing_entry.options,
            CONF_COLLECTION_URL: good_url.replace("://", "://user:secret@"),
        },
    )
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    assert collection.requests == []
    await set_options(hass, sharing_entry, **{CONF_COLLECTION_URL: good_url})
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is None
    await travel(hass, freezer, FIRST_WEEK + 2 * WEEK + OFFSET)
    assert collection.submissions == []  # the week of the fix is not covered
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET)
    [week] = collection.submissions
    assert week.payload["period"]["start"] == "2026-12-14T00:00:00Z"


async def test_deletion_requests_still_go_where_the_data_went(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A server that received a week (valid then) still gets its deletion request."""
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    [sent] = collection.submissions
    good_url = sharing_entry.options[CONF_COLLECTION_URL]
    await set_options(
        hass,
        sharing_entry,
        **{CONF_COLLECTION_URL: good_url.replace("://", "://user:secret@")},
    )
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is not None
    collection.api_key = None  # the key belongs to the address being edited
    await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
    await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=2))
    assert collection.deletions == [sent.installation_id]


async def hand_edit_the_url(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Give the entry a credentialed copy of its address; return the good one."""
    good_url: str = entry.options[CONF_COLLECTION_URL]
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry,
        options={
            **entry.options,
            CONF_COLLECTION_URL: good_url.replace("://", "://user:secret@"),
        },
    )
    await start(hass, entry)
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is not None
    return good_url


async def test_the_server_form_fixes_a_hand_edited_address(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """Saving the address through the form clears the issue for good.

    The hand-edited address never received anything, so its key is not kept
    for it (it would make the settings invalid again).
    """
    good_url = await hand_edit_the_url(hass, sharing_entry)
    result = await hass.config_entries.options.async_init(sharing_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "collection_server"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COLLECTION_URL: good_url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert sharing_entry.options[CONF_FORMER_COLLECTION_KEYS] == {}
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is None


async def test_removing_the_entry_takes_every_repair_issue(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """No issue of a removed entry is left behind, whatever its kind."""
    await hand_edit_the_url(hass, sharing_entry)
    assert await hass.config_entries.async_remove(sharing_entry.entry_id)
    await hass.async_block_till_done()
    assert [
        issue_id for domain, issue_id in ir.async_get(hass).issues if domain == DOMAIN
    ] == []


async def open_settings_repair(
    hass: HomeAssistant,
    clients: ClientSessionGenerator,
    user: MockUser,
) -> tuple[FixFlow, dict[str, Any]]:
    """Open the invalid settings' fix flow over HTTP, as the frontend does."""
    assert await async_setup_component(hass, "repairs", {})
    await clients()  # serving from now on: no more views
    flow = FixFlow(hass, clients, user)
    return flow, await flow.open(ISSUE_ID)


@pytest.mark.parametrize(
    "edit", [edit for _, edit, _ in EDITS], ids=[name for name, _, _ in EDITS]
)
async def test_the_repair_asks_the_choice_again_then_the_server(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    edit: Edit,
) -> None:
    """Unticked first; ticked, the server; then valid settings and weeks again."""
    edited = {**sharing_entry.options, **edit(collection)}
    sharing_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        sharing_entry,
        options={key: value for key, value in edited.items() if value is not None},
    )
    await start(hass, sharing_entry)
    flow, choice = await open_settings_repair(hass, hass_client, hass_admin_user)
    assert choice["step_id"] == "choice"
    assert [(f["name"], f["default"]) for f in choice["data_schema"]] == [
        (CONF_SHARE_STATISTICS, False)
    ]
    assert_placeholders_supplied(choice, "issues", "invalid_settings")

    server = await flow.submit({CONF_SHARE_STATISTICS: True})
    assert server["step_id"] == "server"
    assert_placeholders_supplied(server, "issues", "invalid_settings")
    assert collection.requests == []  # nothing saved, nothing sent yet
    done = await flow.submit(
        {
            CONF_COLLECTION_URL: collection.url,
            CONF_COLLECTION_API_KEY: collection.api_key,
        }
    )

    assert done["type"] == "create_entry"
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is None
    settings = SharingSettings.from_options(sharing_entry.options)
    assert settings.invalid_option is None
    assert settings.share
    await hass.async_block_till_done(wait_background_tasks=True)
    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert [d["share_statistics"] for d in decisions][-1:] == [True]
    assert decisions[-1]["at"] == dt_util.utcnow().isoformat()  # given just now
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET)
    assert collection.submissions  # consent counts from the repair on


async def test_weeks_held_while_the_settings_were_invalid_never_go(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
) -> None:
    """A hand edit ends the consent given before it; the repair's tick starts anew."""
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    assert len(collection.submissions) == 1
    good_url = sharing_entry.options[CONF_COLLECTION_URL]
    edited = good_url.replace("://", "://user:secret@")
    await set_options(hass, sharing_entry, **{CONF_COLLECTION_URL: edited})
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + timedelta(days=2))
    flow, _ = await open_settings_repair(hass, hass_client, hass_admin_user)
    await flow.submit({CONF_SHARE_STATISTICS: True})
    answer = {CONF_COLLECTION_URL: good_url}
    await flow.submit({**answer, CONF_COLLECTION_API_KEY: collection.api_key})
    await hass.async_block_till_done(wait_background_tasks=True)

    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert [d["share_statistics"] for d in decisions] == [True, False, True]
    await travel(hass, freezer, FIRST_WEEK + 4 * WEEK + OFFSET)
    assert len(collection.submissions) == 1  # nothing of the weeks held
    await travel(hass, freezer, FIRST_WEEK + 5 * WEEK + OFFSET)
    [_, first_new] = collection.submissions
    assert first_new.payload["period"]["start"] == "2026-12-28T00:00:00Z"


async def test_the_repair_left_unticked_turns_sharing_off(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
) -> None:
    """Submitting the unticked box stores sharing off, with its stop time."""
    await hand_edit_the_url(hass, sharing_entry)
    flow, _ = await open_settings_repair(hass, hass_client, hass_admin_user)

    done = await flow.submit({CONF_SHARE_STATISTICS: False})

    assert done["type"] == "create_entry"
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID) is None
    options = sharing_entry.options
    settings = SharingSettings.from_options(options)
    assert settings.invalid_option is None
    assert not settings.share
    assert settings.stopped_at is not None
    assert CONF_COLLECTION_URL not in options  # the hand-edited address went
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET)
    assert collection.submissions == []
