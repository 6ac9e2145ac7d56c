"""Sensors showing this UTC week's statistics and the printer fleet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import ErrorType
from .coordinator import PrinternizerUsageConfigEntry, UsageData
from .entity import PrinternizerUsageEntity

# The coordinator does all polling.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PrinternizerUsageSensorDescription(SensorEntityDescription):
    """A sensor read from the coordinator's data."""

    value_fn: Callable[[UsageData], int | None]
    attributes_fn: Callable[[UsageData], dict[str, Any]] | None = None


# Weekly counts restart every Monday 00:00 UTC, the same weeks a submission uses;
# total_increasing treats that drop as a new cycle.
SENSORS = (
    PrinternizerUsageSensorDescription(
        key="jobs_this_week",
        translation_key="jobs_this_week",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.statistics.jobs,
    ),
    PrinternizerUsageSensorDescription(
        key="files_this_week",
        translation_key="files_this_week",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.statistics.files,
    ),
    PrinternizerUsageSensorDescription(
        key="uploads_this_week",
        translation_key="uploads_this_week",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.statistics.uploads,
    ),
    PrinternizerUsageSensorDescription(
        key="errors_this_week",
        translation_key="errors_this_week",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.statistics.error_total,
        attributes_fn=lambda data: {
            error: data.statistics.errors.get(error, 0) for error in ErrorType
        },
    ),
    PrinternizerUsageSensorDescription(
        key="uptime_this_week",
        translation_key="uptime_this_week",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda data: data.statistics.uptime_hours,
    ),
    PrinternizerUsageSensorDescription(
        key="printers",
        translation_key="printers",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.statistics.printer_count,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrinternizerUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of an entry."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        PrinternizerUsageSensor(coordinator, description) for description in SENSORS
    )


class PrinternizerUsageSensor(PrinternizerUsageEntity, SensorEntity):
    """A sensor of the usage statistics device."""

    entity_description: PrinternizerUsageSensorDescription

    @property
    def native_value(self) -> int | None:
        """Return the value from the latest poll."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the breakdown some sensors carry."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
