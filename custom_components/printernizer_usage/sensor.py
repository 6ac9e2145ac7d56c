"""Sensors: this UTC week's statistics, the printer fleet, and sharing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    DOMAIN as SENSOR_DOMAIN,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .consent import SharingState
from .const import DOMAIN, ErrorType
from .coordinator import (
    PrinternizerUsageConfigEntry,
    PrinternizerUsageCoordinator,
    UsageData,
)
from .entity import PrinternizerUsageEntity
from .sharing import SharingCoordinator
from .sharing_book import SharingStatus

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


@dataclass(frozen=True, kw_only=True)
class SharingSensorDescription(SensorEntityDescription):
    """A sensor read from the sharing state."""

    value_fn: Callable[[SharingStatus], str | int | datetime | None]


SHARING_SENSORS = (
    SharingSensorDescription(
        key="sharing_state",
        translation_key="sharing_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in SharingState],
        value_fn=lambda status: status.state.value,
    ),
    SharingSensorDescription(
        key="pending_submissions",
        translation_key="pending_submissions",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status.pending_submissions,
    ),
    SharingSensorDescription(
        key="pending_deletions",
        translation_key="pending_deletions",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status.pending_deletions,
    ),
)


# Shown only while they have a time: "Unknown" would be read as a fault where
# nothing was sent yet, or nothing is planned (sharing off, or no server). The
# Sharing sensor says which. Their presence changes with the options, a first
# accepted week, a local deletion or a new id, never from poll to poll.
TIME_SENSORS = (
    SharingSensorDescription(
        key="last_submission",
        translation_key="last_submission",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.last_submission,
    ),
    SharingSensorDescription(
        key="next_submission",
        translation_key="next_submission",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda status: status.next_submission,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PrinternizerUsageConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of an entry."""
    coordinator = entry.runtime_data.coordinator
    sharing = entry.runtime_data.sharing
    async_add_entities(
        [
            *(
                PrinternizerUsageSensor(coordinator, description)
                for description in SENSORS
            ),
            *(SharingSensor(sharing, description) for description in SHARING_SENSORS),
        ]
    )
    registry = er.async_get(hass)
    shown: set[str] = set()

    @callback
    def show_the_times_there_are() -> None:
        """Add a time sensor once it has a time; remove it when it has none."""
        if entry.state not in (
            ConfigEntryState.SETUP_IN_PROGRESS,
            ConfigEntryState.LOADED,
        ):
            return  # a change finishing in an unload must not add to it
        for description in TIME_SENSORS:
            if description.value_fn(sharing.data) is not None:
                if description.key not in shown:
                    shown.add(description.key)
                    async_add_entities([SharingSensor(sharing, description)])
                continue
            shown.discard(description.key)
            # Also what an earlier run registered, so no stale entity is left.
            unique_id = f"{entry.entry_id}_{description.key}"
            if entity_id := registry.async_get_entity_id(
                SENSOR_DOMAIN, DOMAIN, unique_id
            ):
                registry.async_remove(entity_id)

    show_the_times_there_are()
    entry.async_on_unload(sharing.async_add_listener(show_the_times_there_are))


class SharingSensor(PrinternizerUsageEntity[SharingCoordinator], SensorEntity):
    """A sensor showing where sharing stands."""

    entity_description: SharingSensorDescription

    @property
    def native_value(self) -> str | int | datetime | None:
        """Return the value from the latest sharing state."""
        return self.entity_description.value_fn(self.coordinator.data)


class PrinternizerUsageSensor(
    PrinternizerUsageEntity[PrinternizerUsageCoordinator], SensorEntity
):
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
