"""Backup hooks: the statistics file is consistent in every Home Assistant backup."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .const import DOMAIN
from .coordinator import PrinternizerUsageConfigEntry


def _loaded_entries(hass: HomeAssistant) -> list[PrinternizerUsageConfigEntry]:
    return hass.config_entries.async_loaded_entries(DOMAIN)


async def async_pre_backup(hass: HomeAssistant) -> None:
    """Checkpoint every store and hold writes back until the backup ends."""
    for entry in _loaded_entries(hass):
        await entry.runtime_data.store.async_hold_for_backup()


async def async_post_backup(hass: HomeAssistant) -> None:
    """Let the stores write again."""
    for entry in _loaded_entries(hass):
        entry.runtime_data.store.release_backup_hold()
