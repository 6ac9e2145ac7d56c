"""What the forms show of a payload: the privacy step's preview from facts read now."""

from __future__ import annotations

from collections import Counter
from functools import partial
import json
import secrets

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .api import ItemKeyer, PrinternizerClient, PrinternizerError
from .const import PRIVACY_URL
from .payload import PrinternizerFacts, preview_payload


async def async_privacy_placeholders(
    hass: HomeAssistant, facts: PrinternizerFacts, flags: dict[str, bool]
) -> dict[str, str]:
    """Return the privacy step's placeholders: the preview and the policy link."""
    payload = await hass.async_add_executor_job(
        partial(
            preview_payload,
            identity=None,
            printernizer=facts,
            flags_now=flags,
            time_zone=hass.config.time_zone,
            today=dt_util.utcnow().date(),
        )
    )
    return {
        "preview": as_json_block(payload),
        "privacy_url": PRIVACY_URL,
    }


def as_json_block(payload: object) -> str:
    """Return a payload as a Markdown code block, as the forms show it."""
    return f"```json\n{json.dumps(payload, indent=2)}\n```"


async def async_live_facts(
    client: PrinternizerClient,
) -> tuple[PrinternizerFacts, dict[str, bool]]:
    """Read what a payload would say about a Printernizer that was just checked.

    Ids are hashed with a throwaway salt and only the types are counted.
    Whatever cannot be read stays unknown: the preview still shows its shape.
    """
    try:
        app_version = await client.async_app_version()
        runtime = await client.async_runtime_facts()
        printers = await client.async_printers(ItemKeyer(secrets.token_bytes(32)))
        flags = await client.async_feature_flags()
    except PrinternizerError:
        return PrinternizerFacts(None, None, None, None, {}), {}
    return (
        PrinternizerFacts(
            app_version=app_version,
            python_version=runtime.python_version,
            platform=runtime.platform,
            deployment_mode=runtime.deployment_mode,
            fleet=dict(Counter(printer.printer_type for printer in printers or ())),
        ),
        {str(flag): value for flag, value in flags.items()},
    )
