"""Binary sensor telling whether Printernizer answered the last poll."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import (
    PrinternizerUsageConfigEntry,
    PrinternizerUsageCoordinator,
    UsageData,
)
from .entity import PrinternizerUsageEntity

# The coordinator does all polling.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrinternizerUsageBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor read from the coordinator's data."""

    value_fn: Callable[[UsageData], bool]


BINARY_SENSORS = (
    PrinternizerUsageBinarySensorDescription(
        key="printernizer_connectivity",
        translation_key="printernizer_connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.printernizer_reachable,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrinternizerUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of an entry."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        PrinternizerUsageBinarySensor(coordinator, description)
        for description in BINARY_SENSORS
    )


class PrinternizerUsageBinarySensor(
    PrinternizerUsageEntity[PrinternizerUsageCoordinator], BinarySensorEntity
):
    """A binary sensor of the usage statistics device."""

    entity_description: PrinternizerUsageBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Return the value from the latest poll."""
        return self.entity_description.value_fn(self.coordinator.data)
