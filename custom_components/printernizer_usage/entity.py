"""Base entity of the Printernizer usage statistics integration."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DEVICE_MODEL, DOMAIN
from .coordinator import PrinternizerUsageCoordinator
from .sharing import SharingCoordinator


class PrinternizerUsageEntity[
    CoordinatorT: PrinternizerUsageCoordinator | SharingCoordinator
](CoordinatorEntity[CoordinatorT]):
    """An entity of the entry's service device, fed by one of its coordinators."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: CoordinatorT, description: EntityDescription
    ) -> None:
        """Attach the entity to the entry's device."""
        super().__init__(coordinator)
        self.entity_description = description
        entry_id = coordinator.config_entry.entry_id
        self._attr_unique_id = f"{entry_id}_{description.key}"
        # No configuration_url: it would put Printernizer's address into the
        # device registry, and a "localhost" one would open the viewer's own
        # machine. The coordinator sets the version (sw_version) as it learns it.
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)},
            entry_type=DeviceEntryType.SERVICE,
            translation_key="usage_statistics",
            model=DEVICE_MODEL,
        )
