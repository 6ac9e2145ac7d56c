"""Actions: admin-only, with responses and translated errors."""

from __future__ import annotations

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized, UnknownUser
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.printernizer_usage.const import DOMAIN

from .helpers import refresh
from .simulator.printernizer import PrinternizerSimulator


async def export(
    hass: HomeAssistant, entry_id: str, context: Context | None = None
) -> dict[str, object]:
    """Call the export action and return its response."""
    response = await hass.services.async_call(
        DOMAIN,
        "export_statistics",
        {"config_entry_id": entry_id},
        blocking=True,
        return_response=True,
        context=context,
    )
    assert isinstance(response, dict)
    return response


async def test_export_returns_the_local_statistics(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    hass_admin_user: MockUser,
) -> None:
    """An administrator gets everything the store keeps, in the export format."""
    printernizer.add_job()
    await refresh(hass, init_integration)
    response = await export(
        hass, init_integration.entry_id, Context(user_id=hass_admin_user.id)
    )
    assert response["export_version"] == 1
    assert response["printer_fleet"] == {
        "printer_count": 3,
        "printer_type_counts": {"bambu_lab": 1, "octoprint": 1, "prusa": 1},
    }
    buckets = response["day_buckets"]
    assert isinstance(buckets, list)
    assert {(bucket["metric"], bucket["count"]) for bucket in buckets} >= {("jobs", 1)}


async def test_export_from_an_automation(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Calls without a user (automations, scripts) are allowed."""
    response = await export(hass, init_integration.entry_id)
    assert response["export_version"] == 1


async def test_export_refuses_non_admins(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    """Only administrators may read the statistics through the action."""
    with pytest.raises(Unauthorized):
        await export(
            hass, init_integration.entry_id, Context(user_id=hass_read_only_user.id)
        )
    with pytest.raises(UnknownUser):
        await export(hass, init_integration.entry_id, Context(user_id="nobody"))


async def test_export_unknown_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An id that is not one of this integration's entries is a validation error."""
    with pytest.raises(ServiceValidationError) as caught:
        await export(hass, "not-an-entry")
    assert caught.value.translation_key == "entry_not_found"
    assert caught.value.translation_placeholders == {"entry_id": "not-an-entry"}


async def test_export_entry_not_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry that is not loaded cannot be exported from."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as caught:
        await export(hass, init_integration.entry_id)
    assert caught.value.translation_key == "entry_not_loaded"


async def test_actions_are_described(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """services.yaml and the translations describe every action."""
    descriptions = await async_get_all_descriptions(hass)
    fields = descriptions[DOMAIN]["export_statistics"]["fields"]
    assert fields["config_entry_id"]["required"] is True
    translations = await async_get_translations(hass, "en", "services", [DOMAIN])
    prefix = f"component.{DOMAIN}.services.export_statistics"
    assert translations[f"{prefix}.name"] == "Export statistics"
    assert f"{prefix}.fields.config_entry_id.description" in translations
