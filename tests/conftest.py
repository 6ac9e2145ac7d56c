"""Shared fixtures: a real Home Assistant and a Printernizer simulator on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
import random
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant import block_async_io
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import randomness
from custom_components.printernizer_usage.const import (
    CONF_BASELINE_ID,
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    DOMAIN,
)

from .hypothesis_profiles import chosen_profile
from .simulator.collection import CollectionSimulator
from .simulator.printernizer import PrinternizerSimulator, serving_demo_fleet

ENTRY_ID = "01JPRINTERNIZERUSAGE00TEST"
SEND_OFFSET = timedelta(hours=7, minutes=30)
BASELINE_ID = "9c1d6e0f2a3b4c5d"


def pytest_report_header() -> str:
    """Say which Hypothesis profile runs (tests/hypothesis_profiles.py)."""
    return f"hypothesis profile: {chosen_profile()}"


@pytest.fixture
def wednesday(freezer: FrozenDateTimeFactory) -> None:
    """Freeze time in the middle of a UTC week (before any token is issued)."""
    freezer.move_to("2026-11-25T10:05:00+00:00")


class ChosenOffsetSource(random.Random):
    """A seeded random source whose every send offset is the one chosen."""

    def __init__(self, offset_seconds: int) -> None:
        """Draw everything else from a fixed seed."""
        super().__init__(0)
        self.offset_seconds = offset_seconds

    def randrange(self, *_: Any, **__: Any) -> int:
        """Draw the send offset, in seconds: always the chosen one."""
        return self.offset_seconds


@pytest.fixture
def fixed_send_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Draw the same send offset every time, so tests know when to look."""
    monkeypatch.setattr(
        randomness, "SOURCE", ChosenOffsetSource(int(SEND_OFFSET.total_seconds()))
    )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components."""


@pytest.fixture
def detect_blocking_calls(
    disable_block_async_io: None, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Turn on Home Assistant's blocking-call detection, as a real start does.

    It reports a blocking call made in the event loop by a custom integration
    as a log warning; the test fails on any such report.
    """
    block_async_io.enable()
    yield
    reports = [r for r in caplog.records if "Detected blocking call" in r.getMessage()]
    assert reports == [], [r.getMessage() for r in reports]


@pytest.fixture
def hass(
    hass: HomeAssistant, tmp_path: Path, detect_blocking_calls: None
) -> HomeAssistant:
    """Give every test's Home Assistant a config directory of its own."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    hass.config.config_dir = str(config_dir)
    return hass


@pytest.fixture
def printernizer(socket_enabled: None) -> Iterator[PrinternizerSimulator]:
    """Serve a Printernizer with a small fleet and some history on 127.0.0.1."""
    with serving_demo_fleet() as simulator:
        yield simulator


def entry_for(
    printernizer: PrinternizerSimulator, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Return a config entry for the simulator, with the given options."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Printernizer",
        unique_id=printernizer.url,
        data={CONF_URL: printernizer.url, CONF_BASELINE_ID: BASELINE_ID},
        options=options or {},
    )


@pytest.fixture
def mock_config_entry(printernizer: PrinternizerSimulator) -> MockConfigEntry:
    """Return a config entry for the simulator."""
    return entry_for(printernizer)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def collection(socket_enabled: None) -> Iterator[CollectionSimulator]:
    """Serve a collection server on 127.0.0.1 that wants the test API key."""
    simulator = CollectionSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def elsewhere(socket_enabled: None) -> Iterator[CollectionSimulator]:
    """Serve another server, over plain http, that takes anything it is sent.

    A redirect points here; whatever arrives here leaked.
    """
    simulator = CollectionSimulator(api_key=None)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def sharing_entry(
    printernizer: PrinternizerSimulator, collection: CollectionSimulator
) -> MockConfigEntry:
    """Return an entry whose user opted in, with the simulator as endpoint."""
    return sharing_entry_for(printernizer, collection)


def sharing_entry_for(
    printernizer: PrinternizerSimulator, collection: CollectionSimulator
) -> MockConfigEntry:
    """Return a new entry that shares with the collection server from its start."""
    return entry_for(
        printernizer,
        {
            CONF_SHARE_STATISTICS: True,
            CONF_CONSENTED_POLICY: 1,
            CONF_COLLECTION_URL: collection.url,
            CONF_COLLECTION_API_KEY: collection.api_key,
        },
    )
