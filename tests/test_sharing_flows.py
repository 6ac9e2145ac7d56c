"""The privacy step, the collection server and the options toggle, branch by branch."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.printernizer_usage.collection_form import (
    CONF_DELETE_SHARED,
    CONF_SHOW_PREVIEW,
)
from custom_components.printernizer_usage.const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    DOMAIN,
    PRIVACY_URL,
)
from custom_components.printernizer_usage.payload import NOT_YET_KNOWN

from .helpers import assert_placeholders_supplied
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_sharing import (
    FIRST_WEEK,
    OFFSET,
    WEEK,
    export,
    queue_first_week,
    send_first_week,
    sensor,
    start,
    travel,
)

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")


def defaults_of(result: Any) -> dict[str, Any]:
    """Return the fields a form fills in itself, with their values."""
    return {
        str(key): key.default()
        for key in result["data_schema"].schema
        if key.default is not vol.UNDEFINED
    }


async def look_first(hass: HomeAssistant, result: Any) -> tuple[dict[str, Any], Any]:
    """Tick "show what would be sent"; return the preview and the choice again."""
    manager = (
        hass.config_entries.flow
        if result["step_id"] == "privacy"
        else hass.config_entries.options
    )
    shown = await manager.async_configure(
        result["flow_id"], {**defaults_of(result), CONF_SHOW_PREVIEW: True}
    )
    assert shown["step_id"] == "what_would_be_sent"
    assert_placeholders_supplied(
        shown, "config" if result["step_id"] == "privacy" else "options"
    )
    back = await manager.async_configure(result["flow_id"], {})
    assert back["step_id"] == result["step_id"]
    return preview_of(shown), back


def preview_of(result: Any) -> dict[str, Any]:
    """Return the payload preview a form shows."""
    text = result["description_placeholders"]["preview"]
    assert text.startswith("```json\n")
    preview: dict[str, Any] = json.loads(text.removeprefix("```json\n")[:-4])
    return preview


async def privacy_step(hass: HomeAssistant, url: str) -> Any:
    """Run the user step and return the privacy form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url}
    )


async def test_privacy_step_shows_this_installations_preview(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """The preview is filled with the live fleet, versions and country; unticked."""
    await hass.config.async_update(time_zone="Europe/Berlin")
    result = await privacy_step(hass, printernizer.url)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "privacy"
    assert defaults_of(result) == {
        CONF_SHARE_STATISTICS: False,
        CONF_SHOW_PREVIEW: False,
    }
    assert result["description_placeholders"]["privacy_url"] == PRIVACY_URL
    [details] = [
        value for key, value in result["data_schema"].schema.items() if key == "details"
    ]
    assert isinstance(details, section)
    assert details.options["collapsed"] is True  # the details wait one click away
    preview, _ = await look_first(hass, result)
    assert preview["installation"]["country_code"] == "DE"
    assert preview["installation"]["installation_id"] == NOT_YET_KNOWN
    assert preview["installation"]["app_version"] == printernizer.health_version
    assert preview["printer_fleet"]["printer_count"] == len(printernizer.printers)
    assert preview["period"]["start"] == "2026-11-30T00:00:00Z"
    assert preview["usage_stats"]["job_count"] == NOT_YET_KNOWN


async def test_the_previews_markers_speak_the_systems_language(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """A German Home Assistant shows the German marker for what is not known yet."""
    await hass.config.async_update(language="de")
    result = await privacy_step(hass, printernizer.url)
    preview, _ = await look_first(hass, result)
    assert preview["installation"]["installation_id"] == "(noch unbekannt)"
    assert NOT_YET_KNOWN not in json.dumps(preview)


async def test_privacy_step_preview_when_details_fail(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """Printernizer failing after the URL check still gives the preview's shape."""
    printernizer.fail("500", "/api/v1/printers", times=10)
    result = await privacy_step(hass, printernizer.url)
    preview, _ = await look_first(hass, result)
    assert preview["installation"]["app_version"] == "unknown"
    assert preview["printer_fleet"]["printer_count"] == 0


async def test_the_collection_server_step_says_what_a_server_must_promise(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """It links the policy's section on servers and the project's own server."""
    result = await privacy_step(hass, printernizer.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True}
    )
    assert result["step_id"] == "collection_server"
    placeholders = result["description_placeholders"]
    anchor = placeholders["promises_url"].removeprefix(f"{PRIVACY_URL}#")
    headings = [
        line.removeprefix("## ").lower().replace(" ", "-")
        for line in (Path(__file__).parents[1] / "PRIVACY.md").read_text().splitlines()
        if line.startswith("## ")
    ]
    assert anchor in headings
    assert placeholders["server_url"].endswith("/tree/main/server")
    assert_placeholders_supplied(result, "config")


async def test_a_collection_server_that_redirects_is_refused(
    hass: HomeAssistant,
    printernizer: PrinternizerSimulator,
    collection: CollectionSimulator,
    elsewhere: CollectionSimulator,
) -> None:
    """Its health check answers 3xx: the user is told to give the final address."""
    result = await privacy_step(hass, printernizer.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True}
    )
    collection.fail("redirect_302", "/health", body=elsewhere.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_COLLECTION_URL: collection.url}
    )
    assert result["errors"] == {"base": "collection_redirects"}
    assert_placeholders_supplied(result, "config")
    assert elsewhere.requests == []


async def test_declining_creates_a_local_only_entry(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """Unticked, the entry works and nothing is set up for sending."""
    result = await privacy_step(hass, printernizer.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert sensor(hass, "sharing") == "off"


@pytest.mark.parametrize(
    ("url", "key", "error"),
    [
        ("http://stats.example.org", "", {CONF_COLLECTION_URL: "insecure_url"}),
        ("ftp://stats.example.org", "", {CONF_COLLECTION_URL: "invalid_url"}),
        (
            "https://user:pw@stats.example.org",
            "",
            {CONF_COLLECTION_URL: "invalid_url"},
        ),
        ("http://127.0.0.1:9", "", {"base": "collection_unreachable"}),
        # A key no header can carry as it is (the server itself answers).
        (None, "two words", {CONF_COLLECTION_API_KEY: "invalid_api_key"}),
    ],
)
async def test_consenting_asks_for_a_working_collection_server(
    hass: HomeAssistant,
    printernizer: PrinternizerSimulator,
    collection: CollectionSimulator,
    *,
    url: str | None,
    key: str,
    error: dict[str, str],
) -> None:
    """Ticking leads to the server; bad addresses and keys get translated errors."""
    result = await privacy_step(hass, printernizer.url)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True}
    )
    assert result["step_id"] == "collection_server"
    assert_placeholders_supplied(result, "config")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_COLLECTION_URL: url or collection.url, CONF_COLLECTION_API_KEY: key},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == error
    assert_placeholders_supplied(result, "config")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_COLLECTION_URL: collection.url + "/",
            CONF_COLLECTION_API_KEY: f" {collection.api_key} ",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {
        CONF_SHARE_STATISTICS: True,
        CONF_CONSENTED_POLICY: 1,
        CONF_COLLECTION_URL: collection.url,
        CONF_COLLECTION_API_KEY: collection.api_key,
    }
    await hass.async_block_till_done()
    assert sensor(hass, "sharing") == "active"


async def options_sharing_step(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the options and pick the sharing settings."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"][:2] == ["sharing", "collection_server"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "sharing"}
    )


async def test_options_turn_sharing_off_at_once(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unticking stops sharing live: the pending week is never sent."""
    await queue_first_week(hass, sharing_entry, freezer)
    assert sensor(hass, "pending_submissions") == "1"
    result = await options_sharing_step(hass, sharing_entry)
    assert result["step_id"] == "sharing"
    preview, result = await look_first(hass, result)
    assert preview["printer_fleet"]["printer_count"] == 3
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert sharing_entry.state is ConfigEntryState.LOADED  # no reload needed
    assert sensor(hass, "sharing") == "off"
    assert sensor(hass, "pending_submissions") == "0"
    await travel(hass, freezer, FIRST_WEEK + 2 * WEEK)
    assert collection.submissions == []


async def test_an_opt_out_saved_while_the_entry_is_down_is_kept(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Stopped and started again while the entry was not running: the stop counts.

    The options then read "share" as before; the week queued before the stop
    must still never be sent, and the consent history shows the stop.
    """
    await queue_first_week(hass, sharing_entry, freezer)
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done()
    for share in (False, True):
        result = await options_sharing_step(hass, sharing_entry)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SHARE_STATISTICS: share}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        freezer.tick(timedelta(minutes=5))
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(hours=2))
    assert collection.submissions == []
    data = await export(hass, sharing_entry)
    decisions = [change["share_statistics"] for change in data["consent_history"]]
    assert decisions == [True, False, True]
    assert [row["status"] for row in data["weekly_submissions"]] == ["discarded"]


@pytest.mark.parametrize(
    "stopped_at", ["9999-12-31T00:00:00+00:00", "2027-06-01T00:00:00+00:00"]
)
async def test_a_stop_time_ahead_of_the_clock_counts_as_now(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    stopped_at: str,
) -> None:
    """A stop dated ahead neither breaks the entry nor stalls sharing.

    A clock that ran fast or a hand edit can date it so. It counts as made at
    the start; sharing then goes on from the next whole week.
    """
    await queue_first_week(hass, sharing_entry, freezer)
    assert await hass.config_entries.async_unload(sharing_entry.entry_id)
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(
        sharing_entry, options={**sharing_entry.options, CONF_STOPPED_AT: stopped_at}
    )
    await start(hass, sharing_entry)
    assert sharing_entry.state is ConfigEntryState.LOADED
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET + timedelta(hours=2))
    data = await export(hass, sharing_entry)
    decisions = [change["share_statistics"] for change in data["consent_history"]]
    assert decisions == [True, False, True]
    # The week queued before the stop never goes; the next whole week does.
    sent = [
        row["period_start"]
        for row in data["weekly_submissions"]
        if row["status"] == "sent"
    ]
    assert sent
    assert len(collection.submissions) == len(sent)
    assert sensor(hass, "sharing") == "active"


async def test_options_off_and_delete_what_was_shared(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The second box queues deletion requests, which go out at once."""
    await send_first_week(hass, sharing_entry, freezer)
    installation_id = collection.submissions[0].installation_id
    result = await options_sharing_step(hass, sharing_entry)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False, CONF_DELETE_SHARED: True}
    )
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(seconds=2))
    assert collection.deletions == [installation_id]
    assert collection.submissions == []
    assert (await export(hass, sharing_entry))["weekly_submissions"] == []


async def test_options_turn_sharing_on_with_the_explicit_tick(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """Off to on shows the preview, then asks for the server if none is set."""
    result = await options_sharing_step(hass, init_integration)
    defaults = defaults_of(result)
    # Nothing was ever shared: there is nothing to ask any server to delete.
    assert defaults == {CONF_SHARE_STATISTICS: False, CONF_SHOW_PREVIEW: False}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True}
    )
    assert result["step_id"] == "collection_server"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COLLECTION_URL: "http://stats.example.org"}
    )
    assert result["errors"] == {CONF_COLLECTION_URL: "insecure_url"}
    assert_placeholders_supplied(result, "options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COLLECTION_URL: collection.url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {
        CONF_SHARE_STATISTICS: True,
        CONF_CONSENTED_POLICY: 1,
        CONF_COLLECTION_URL: collection.url,
        CONF_COLLECTION_API_KEY: "",
        CONF_FORMER_COLLECTION_KEYS: {},
    }
    assert sensor(hass, "sharing") == "active"
    # Off again, then on again: the server is kept, no question asked.
    result = await options_sharing_step(hass, init_integration)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False}
    )
    result = await options_sharing_step(hass, init_integration)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert sensor(hass, "sharing") == "active"
    decisions = (await export(hass, init_integration))["consent_history"]
    assert [entry["share_statistics"] for entry in decisions] == [True, False, True]


async def test_options_edit_the_collection_server(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """The server form shows the current one and checks a new one the same way."""
    await start(hass, sharing_entry)
    result = await hass.config_entries.options.async_init(sharing_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "collection_server"}
    )
    assert result["step_id"] == "collection_server"
    assert_placeholders_supplied(result, "options")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_COLLECTION_URL: "http://127.0.0.1:9"}
    )
    assert result["errors"] == {"base": "collection_unreachable"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_COLLECTION_URL: collection.url, CONF_COLLECTION_API_KEY: "new-key"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sharing_entry.options[CONF_COLLECTION_API_KEY] == "new-key"
    assert sharing_entry.options[CONF_SHARE_STATISTICS] is True


async def test_options_of_an_entry_that_is_not_loaded(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The preview still shows; no deletion is offered, as none can be queued."""
    mock_config_entry.add_to_hass(hass)
    result = await options_sharing_step(hass, mock_config_entry)
    preview, result = await look_first(hass, result)
    assert preview["printer_fleet"]["printer_count"] == 0
    assert CONF_DELETE_SHARED not in defaults_of(result)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_stopping_and_deleting_says_how_the_server_answered(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Not "saved" when the server refused: the result names the refusal."""
    await send_first_week(hass, sharing_entry, freezer)
    collection.api_key = "rotated-key"
    result = await options_sharing_step(hass, sharing_entry)
    assert CONF_DELETE_SHARED in [str(key) for key in result["data_schema"].schema]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False, CONF_DELETE_SHARED: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "remote_deletion_result"
    assert result["description_placeholders"]["refused"] == "1"
    assert sharing_entry.options[CONF_SHARE_STATISTICS] is False
    assert CONF_STOPPED_AT in sharing_entry.options
    assert collection.deletions == []


async def test_deleting_is_not_offered_beside_sharing_on(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Both boxes ticked: the form says where that is done; nothing happens."""
    await send_first_week(hass, sharing_entry, freezer)
    result = await options_sharing_step(hass, sharing_entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True, CONF_DELETE_SHARED: True}
    )
    assert result["errors"] == {"base": "delete_while_sharing"}
    assert_placeholders_supplied(result, "options")
    assert collection.deletions == []
    assert sharing_entry.options[CONF_SHARE_STATISTICS] is True


def shown_values(result: Any) -> dict[str, Any]:
    """Return what a form shows filled in: what the frontend submits if untouched."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


async def test_a_new_server_never_gets_the_old_servers_key(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Changing only the address sends the new server no key.

    The old server's key is kept while that server holds data of this entry,
    so its deletion request is authorised, and forgotten once acknowledged.
    """
    await send_first_week(hass, sharing_entry, freezer)
    old_url, old_key = collection.url, collection.api_key
    [first] = collection.submissions
    other = CollectionSimulator(api_key=None)
    other.start()
    try:
        result = await hass.config_entries.options.async_init(sharing_entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "collection_server"}
        )
        shown = shown_values(result)
        assert shown == {CONF_COLLECTION_URL: old_url}
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**shown, CONF_COLLECTION_URL: other.url}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert sharing_entry.options[CONF_COLLECTION_API_KEY] == ""
        assert sharing_entry.options[CONF_FORMER_COLLECTION_KEYS] == {old_url: old_key}
        await travel(hass, freezer, FIRST_WEEK + 2 * WEEK + OFFSET)
        [second] = other.submissions
        assert "X-API-Key" not in second.headers
        await sharing_entry.runtime_data.sharing.async_request_remote_deletion()
        await travel(hass, freezer, dt_util.utcnow() + timedelta(seconds=2))
    finally:
        other.stop()
    assert collection.deletions == [first.installation_id]  # with its own key
    assert other.deletions == [first.installation_id]
    assert sharing_entry.options[CONF_FORMER_COLLECTION_KEYS] == {}
    assert "X-API-Key" not in str([s.headers for s in other.submissions])
