"""The end-to-end tests drive a Home Assistant process; no in-process one is needed."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture: it would start an unused in-process hass."""
