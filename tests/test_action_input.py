"""Every action refuses bad input before it touches anything."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import DOMAIN

from .test_actions import ACTIONS

EVERY_ACTION = ("export_statistics", *ACTIONS)
WRONG_TYPES: tuple[Any, ...] = ([], {}, None, ["01J"], {"id": "01J"})


async def export(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Return what the entry keeps, without the per-call download path."""
    response = await hass.services.async_call(
        DOMAIN,
        "export_statistics",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return {key: value for key, value in response.items() if key != "download_path"}


async def refused(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, data: dict[str, Any]
) -> ServiceValidationError:
    """Call an action that must refuse; check nothing changed; return the error.

    Every refusal is a translated error, so it reads in the user's language.
    """
    before = await export(hass, entry)
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, action, data, blocking=True, return_response=True
        )
    assert entry.state is ConfigEntryState.LOADED
    assert await export(hass, entry) == before
    return caught.value


@pytest.mark.parametrize("action", EVERY_ACTION)
@pytest.mark.parametrize("entry_id", WRONG_TYPES)
async def test_an_entry_id_of_the_wrong_type_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, action: str, entry_id: Any
) -> None:
    """Lists, mappings and nothing are not entry ids."""
    error = await refused(hass, init_integration, action, {"config_entry_id": entry_id})
    assert error.translation_key == "invalid_action_data"
    assert error.translation_placeholders == {"field": "config_entry_id"}


@pytest.mark.parametrize("action", EVERY_ACTION)
async def test_a_missing_entry_or_an_unknown_field_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, action: str
) -> None:
    """The entry is required; fields the action does not have are not ignored."""
    missing = await refused(hass, init_integration, action, {})
    assert missing.translation_key == "invalid_action_data"
    assert missing.translation_placeholders == {"field": "config_entry_id"}
    unknown = await refused(
        hass,
        init_integration,
        action,
        {"config_entry_id": init_integration.entry_id, "everything": True},
    )
    assert unknown.translation_placeholders == {"field": "everything"}


@pytest.mark.parametrize("action", EVERY_ACTION)
@pytest.mark.parametrize("entry_id", [7, "", "not-an-entry"])
async def test_an_entry_that_does_not_exist_is_a_translated_error(
    hass: HomeAssistant, init_integration: MockConfigEntry, action: str, entry_id: Any
) -> None:
    """A number is read as text; no entry has that id, and the error says so."""
    error = await refused(hass, init_integration, action, {"config_entry_id": entry_id})
    assert error.translation_key == "entry_not_found"


@pytest.mark.parametrize("week", [123, [], "2026-13-45", "next week", True])
async def test_a_week_that_is_not_a_date_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, week: Any
) -> None:
    """Only a date names a week."""
    data = {"config_entry_id": init_integration.entry_id, "week": week}
    error = await refused(hass, init_integration, "preview_payload", data)
    assert error.translation_key == "invalid_action_data"
    assert error.translation_placeholders == {"field": "week"}


@pytest.mark.usefixtures("wednesday")
@pytest.mark.parametrize(
    "week", ["0001-01-01", "1970-01-04", "2026-11-30", "9999-12-31"]
)
async def test_a_week_out_of_range_is_a_translated_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    week: str,
) -> None:
    """Before 1970 the store has no days; after this week nothing has happened."""
    data = {"config_entry_id": init_integration.entry_id, "week": week}
    error = await refused(hass, init_integration, "preview_payload", data)
    assert error.translation_key == "week_out_of_range"
    assert error.translation_placeholders == {
        "earliest": "1970-01-05",
        "latest": "2026-11-29",
    }


@pytest.mark.usefixtures("wednesday")
@pytest.mark.parametrize("week", ["1970-01-05", "2026-11-29"])
async def test_the_first_and_the_current_week_can_be_previewed(
    hass: HomeAssistant, init_integration: MockConfigEntry, week: str
) -> None:
    """The range's ends are inside it."""
    response = await hass.services.async_call(
        DOMAIN,
        "preview_payload",
        {"config_entry_id": init_integration.entry_id, "week": week},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["eligible"] is False


@pytest.mark.parametrize("flag", ["perhaps", "", [], {}, None])
async def test_a_flag_that_is_not_a_boolean_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, flag: Any
) -> None:
    """Deleting needs a clear yes or no for the remote deletion too."""
    data = {
        "config_entry_id": init_integration.entry_id,
        "also_request_remote_deletion": flag,
    }
    error = await refused(hass, init_integration, "delete_local_statistics", data)
    assert error.translation_key == "invalid_action_data"
    assert error.translation_placeholders == {"field": "also_request_remote_deletion"}
    assert str(error) == (
        "The field “also_request_remote_deletion” of this action is missing, "
        "unknown or has a value of the wrong type"  # Home Assistant drops the stop
    )
