"""The end-to-end tests drive a Home Assistant process; no in-process one is needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.simulator.printernizer import PrinternizerSimulator, serving_demo_fleet

from .home_assistant import HomeAssistantProcess


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture: it would start an unused in-process hass."""


@pytest.fixture
def print_farm(socket_enabled: None) -> Iterator[PrinternizerSimulator]:
    """Serve a second Printernizer, for the entry that consents."""
    with serving_demo_fleet() as simulator:
        yield simulator


@pytest.fixture
def home_assistant(
    tmp_path: Path, socket_enabled: None
) -> Iterator[HomeAssistantProcess]:
    """Start and onboard Home Assistant; kill it whatever the outcome."""
    process = HomeAssistantProcess(tmp_path / "config")
    process.write_config()
    try:
        process.start()
        process.onboard()
        yield process
    finally:
        process.kill()
