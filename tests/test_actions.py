"""The sharing actions: preview, remote deletion, a new id, and sending now."""

from __future__ import annotations

from datetime import timedelta
import logging
import sqlite3
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
)
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.printernizer_usage.const import CONF_SHARE_STATISTICS, DOMAIN
from custom_components.printernizer_usage.payload import NOT_YET_KNOWN
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .helpers import home_assistant_log, refresh
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator
from .test_sharing import (
    FIRST_WEEK,
    OFFSET,
    WEEK,
    export,
    periods,
    queue_first_week,
    send_first_week,
    sensor,
    set_options,
    start,
    travel,
)

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

ACTIONS = (
    "delete_local_statistics",
    "preview_payload",
    "request_remote_deletion",
    "regenerate_installation_id",
    "submit_now",
)


async def call(
    hass: HomeAssistant,
    action: str,
    entry: MockConfigEntry,
    context: Context | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Call an action and return its response."""
    response = await hass.services.async_call(
        DOMAIN,
        action,
        {"config_entry_id": entry.entry_id, **fields},
        blocking=True,
        return_response=True,
        context=context,
    )
    assert isinstance(response, dict)
    return response


async def test_preview_of_a_week_consent_does_not_cover(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """By default the last closed week; it says why it would not go; no id made."""
    await start(hass, sharing_entry)
    preview = await call(hass, "preview_payload", sharing_entry)
    assert preview["week_start"] == "2026-11-16"
    assert preview["eligible"] is False
    assert preview["reason"] == "not_covered_by_consent"
    assert preview["status"] is None
    assert preview["payload"]["period"]["start"] == "2026-11-16T00:00:00Z"
    assert preview["payload"]["installation"]["installation_id"] == NOT_YET_KNOWN
    assert (await export(hass, sharing_entry))["installation"] is None
    current = await call(hass, "preview_payload", sharing_entry, week="2026-11-27")
    assert current["week_start"] == "2026-11-23"
    assert current["reason"] == "week_not_over"


async def test_preview_of_a_sent_week_is_what_went_out(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A week that was sent previews as the exact payload the server received."""
    await send_first_week(hass, sharing_entry, freezer)
    preview = await call(hass, "preview_payload", sharing_entry)
    assert preview["week_start"] == "2026-11-30"
    assert preview["eligible"] is True
    assert preview["reason"] is None
    assert preview["status"] == "sent"
    assert preview["payload"] == collection.submissions[0].payload


async def test_preview_without_a_collection_server(
    hass: HomeAssistant, sharing_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A covered week still previews; it says no server is set."""
    sharing_entry.add_to_hass(hass)
    options = {**sharing_entry.options}
    del options["collection_url"]
    hass.config_entries.async_update_entry(sharing_entry, options=options)
    await send_first_week(hass, sharing_entry, freezer)
    preview = await call(hass, "preview_payload", sharing_entry)
    assert preview["reason"] == "no_endpoint"
    assert preview["payload"]["period"]["start"] == "2026-11-30T00:00:00Z"


async def test_request_remote_deletion_reports_each_request(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sent at once; the answer names each id and server and what became of it."""
    caplog.set_level(logging.DEBUG)
    await send_first_week(hass, sharing_entry, freezer)
    installation_id = collection.submissions[0].installation_id
    response = await call(hass, "request_remote_deletion", sharing_entry)
    assert response == {
        "requests": [
            {
                "installation_id": installation_id,
                "endpoint": collection.url,
                "status": "acknowledged",
                "next_attempt": None,
            }
        ]
    }
    assert collection.deletions == [installation_id]
    assert installation_id not in home_assistant_log(caplog)
    assert await call(hass, "request_remote_deletion", sharing_entry) == {
        "requests": []
    }


async def test_a_deletion_that_waits_is_reported_as_pending(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An unreachable server: the request waits, survives opt-out and restarts."""
    await send_first_week(hass, sharing_entry, freezer)
    collection.refuse_connections()
    response = await call(hass, "request_remote_deletion", sharing_entry)
    (request,) = response["requests"]
    assert request["status"] == "pending"
    assert (
        request["next_attempt"]
        == (FIRST_WEEK + WEEK + OFFSET + timedelta(minutes=1)).isoformat()
    )
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: False})
    assert sensor(hass, "pending_deletion_requests") == "1"
    collection.accept_connections()
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(minutes=2))
    assert len(collection.deletions) == 1
    assert sensor(hass, "pending_deletion_requests") == "0"


async def test_regenerating_the_id_discards_the_old_ids_weeks(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The old id's unsent week is never sent; the new id starts a whole week later.

    It is made when that week is built, so its first day is its first
    payload's, as a fresh installation's is.
    """
    caplog.set_level(logging.DEBUG)
    await queue_first_week(hass, sharing_entry, freezer)
    before = (await export(hass, sharing_entry))["installation"]
    response = await call(hass, "regenerate_installation_id", sharing_entry)
    assert response == {"regenerated": True, "first_week": "2026-12-14"}
    assert (await export(hass, sharing_entry))["installation"] is None
    assert sensor(hass, "pending_submissions") == "0"
    await travel(hass, freezer, FIRST_WEEK + 3 * WEEK + OFFSET)
    assert periods(collection) == ["2026-12-14T00:00:00Z"]
    after = (await export(hass, sharing_entry))["installation"]
    assert after["installation_id"] != before["installation_id"]
    assert after["first_seen"] == "2026-12-21"
    assert collection.submissions[0].installation_id == after["installation_id"]
    for identifier in (before["installation_id"], after["installation_id"]):
        assert identifier not in home_assistant_log(caplog)


async def test_regenerating_before_any_id_exists(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without an id yet, the action makes none: the first is made when needed."""
    response = await call(hass, "regenerate_installation_id", init_integration)
    assert response["regenerated"] is True
    assert (await export(hass, init_integration))["installation"] is None


async def test_submit_now_sends_within_the_hourly_limit(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Pending weeks go before their offset, but never two within an hour."""
    await start(hass, sharing_entry)
    collection.refuse_connections()
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    await travel(hass, freezer, FIRST_WEEK + 2 * WEEK + timedelta(minutes=5))
    assert sensor(hass, "pending_submissions") == "2"
    collection.accept_connections()
    # The last (failed) try was at 00:05; its back-off runs past 01:06.
    now = FIRST_WEEK + 2 * WEEK + timedelta(hours=1, minutes=6)
    await travel(hass, freezer, now)
    assert collection.submissions == []
    response = await call(hass, "submit_now", sharing_entry)
    assert response["sent_weeks"] == ["2026-11-30"]
    assert response["pending_submissions"] == 1
    assert response["sharing_state"] == "active"
    again = await call(hass, "submit_now", sharing_entry)
    assert again["sent_weeks"] == []
    assert again["next_submission"] == (now + timedelta(hours=1)).isoformat()


async def test_submit_now_needs_consent(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    collection: CollectionSimulator,
) -> None:
    """Without consent nothing is sent, whatever the user presses."""
    response = await call(hass, "submit_now", init_integration)
    assert response == {
        "sent_weeks": [],
        "sharing_state": "off",
        "pending_submissions": 0,
        "next_submission": None,
    }
    assert collection.requests == []


@pytest.mark.parametrize("action", ACTIONS)
async def test_actions_refuse_non_admins(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
    action: str,
) -> None:
    """Only administrators may use them."""
    with pytest.raises(Unauthorized):
        await call(
            hass, action, init_integration, Context(user_id=hass_read_only_user.id)
        )


@pytest.mark.parametrize("action", ACTIONS)
async def test_actions_name_a_loaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry, action: str
) -> None:
    """An unknown or unloaded entry is a translated validation error."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, action, init_integration)
    assert caught.value.translation_key == "entry_not_loaded"
    missing = MockConfigEntry(domain=DOMAIN, entry_id="missing")
    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, action, missing)
    assert caught.value.translation_key == "entry_not_found"


async def test_preview_refuses_a_bad_week(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A week that is not a date is refused before anything runs."""
    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "preview_payload", init_integration, week="next week")
    assert caught.value.translation_key == "invalid_action_data"
    assert caught.value.translation_placeholders == {"field": "week"}


async def test_every_action_is_described_and_translated(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Each action has its fields in services.yaml and a name in en and de."""
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == {"export_statistics", *ACTIONS}
    for language in ("en", "de"):
        translations = await async_get_translations(
            hass, language, "services", [DOMAIN]
        )
        for action, description in descriptions.items():
            prefix = f"component.{DOMAIN}.services.{action}"
            assert translations[f"{prefix}.name"], (language, action)
            for field in description["fields"]:
                assert translations[f"{prefix}.fields.{field}.name"]
    # A date selector without options: 2025.4 reads it as None, 2026 as {}.
    week_selector = descriptions["preview_payload"]["fields"]["week"]["selector"]
    assert list(week_selector) == ["date"]
    assert not week_selector["date"]


async def test_delete_local_statistics_starts_afresh(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    printernizer: PrinternizerSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Export, delete, export: only the waiting deletion request is left."""
    await start(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + timedelta(hours=1))
    printernizer.add_job()
    await refresh(hass, sharing_entry)
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET)
    before = await export(hass, sharing_entry)
    assert before["day_buckets"]
    assert before["weekly_submissions"]
    installation_id = before["installation"]["installation_id"]
    collection.refuse_connections()
    response = await call(
        hass,
        "delete_local_statistics",
        sharing_entry,
        also_request_remote_deletion=True,
    )
    assert response["deleted"]["weekly_submissions"] == 1
    assert response["deleted"]["installation_ids"] == 0  # retired by the request
    assert response["kept_until_acknowledged"] == [
        {"installation_id": installation_id, "endpoint": collection.url}
    ]
    assert sharing_entry.state is ConfigEntryState.LOADED
    after = await export(hass, sharing_entry)
    assert after["installation"] is None
    assert after["weekly_submissions"] == []
    # The options still say "share": consent is recorded afresh, from now.
    (decision,) = after["consent_history"]
    assert decision["at"].startswith("2026-12-07T07:30")
    assert [row["installation_id"] for row in after["deletion_requests"]] == [
        installation_id
    ]
    assert sensor(hass, "jobs_this_week") == "0"  # items seen before are not new
    # Sharing goes on from the next whole week, under a fresh id.
    assert sensor(hass, "sharing") == "active"
    collection.accept_connections()
    await travel(hass, freezer, FIRST_WEEK + WEEK + OFFSET + timedelta(minutes=2))
    assert collection.deletions == [installation_id]
    assert (await export(hass, sharing_entry))["deletion_requests"] == []


async def test_delete_local_statistics_without_remote_deletion(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """By default nothing is asked of any server; an unused entry deletes little."""
    response = await call(hass, "delete_local_statistics", init_integration)
    assert response["kept_until_acknowledged"] == []
    assert response["deleted"]["installation_ids"] == 0
    assert init_integration.state is ConfigEntryState.LOADED


async def test_a_failed_local_deletion_is_reported(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store error is a translated error, and the entry is loaded again."""

    def fail(store: LocalStatisticsStore, now: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(LocalStatisticsStore, "delete_local_statistics", fail)
    with pytest.raises(HomeAssistantError) as caught:
        await call(hass, "delete_local_statistics", init_integration)
    assert caught.value.translation_key == "local_deletion_failed"
    assert init_integration.state is ConfigEntryState.LOADED


async def test_delete_local_statistics_refuses_a_bad_flag(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A flag that is not a boolean is refused before anything is deleted."""
    with pytest.raises(ServiceValidationError) as caught:
        await call(
            hass,
            "delete_local_statistics",
            init_integration,
            also_request_remote_deletion="perhaps",
        )
    assert caught.value.translation_placeholders == {
        "field": "also_request_remote_deletion"
    }
    assert init_integration.state is ConfigEntryState.LOADED


async def test_a_failing_deletion_is_retried_on_its_schedule(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    collection: CollectionSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A server error answers the first try; the request goes again a minute on."""
    sent_at = await send_first_week(hass, sharing_entry, freezer)
    collection.fail("html_500", "/installation")
    response = await call(hass, "request_remote_deletion", sharing_entry)
    (request,) = response["requests"]
    assert request["status"] == "pending"
    assert request["next_attempt"] == (sent_at + timedelta(minutes=1)).isoformat()
    await travel(hass, freezer, sent_at + timedelta(minutes=1))
    assert len(collection.deletions) == 1
    assert await call(hass, "request_remote_deletion", sharing_entry) == {
        "requests": []
    }
