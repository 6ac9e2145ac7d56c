"""Payloads the tests send: the privacy policy's own sample, and weeks made from it."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any, Final

from printernizer_usage_server.schema import schema

# The privacy policy's own sample payload, kept as the schema's example.
POLICY_SAMPLE: Final[dict[str, Any]] = schema()["examples"][0]

SAMPLE_ID: Final = POLICY_SAMPLE["installation"]["installation_id"]
OTHER_ID: Final = "0b7c1d2e-3f40-4a51-9b62-7c83d94ea5f6"


def sample() -> dict[str, Any]:
    """Return a fresh copy of the policy's sample, safe to change."""
    return copy.deepcopy(POLICY_SAMPLE)


def week(
    start: date, installation_id: str = SAMPLE_ID, **changes: Any
) -> dict[str, Any]:
    """Return the sample moved to the week starting `start`, for `installation_id`."""
    payload = sample()
    payload["installation"]["installation_id"] = installation_id
    payload["period"]["start"] = f"{start.isoformat()}T00:00:00Z"
    payload["period"]["end"] = f"{(start + timedelta(days=7)).isoformat()}T00:00:00Z"
    payload.update(changes)
    return payload
