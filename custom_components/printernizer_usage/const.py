"""Constants and fixed vocabularies of the Printernizer usage statistics integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "printernizer_usage"
LOGGER = logging.getLogger(__package__)

DEFAULT_URL: Final = "http://localhost:8000"
DEFAULT_SCAN_INTERVAL: Final = timedelta(minutes=5)
