"""What the forms show of a payload: the first summary's preview from facts read now."""

from __future__ import annotations

from collections import Counter
from functools import partial
import json
import secrets

from aiohttp import hdrs
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import current_request
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .api import ItemKeyer, PrinternizerClient, PrinternizerError
from .const import DOMAIN
from .languages import preferred_language
from .payload import NOT_YET_KNOWN, PrinternizerFacts, preview_payload


async def async_preview_placeholders(
    hass: HomeAssistant, facts: PrinternizerFacts, flags: dict[str, bool]
) -> dict[str, str]:
    """Return the placeholders of "what would be sent": the first summary's preview."""
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
    return {"preview": await async_json_block(hass, payload)}


async def async_json_block(hass: HomeAssistant, payload: object) -> str:
    """Return a payload as a Markdown code block, its markers translated."""
    marker = await async_selector_label(hass, "preview_marker", "not_yet_known")
    shown = _with_marker(payload, marker)
    return f"```json\n{json.dumps(shown, indent=2, ensure_ascii=False)}\n```"


def _with_marker(node: object, marker: str) -> object:
    if node == NOT_YET_KNOWN:
        return marker
    if isinstance(node, dict):
        return {key: _with_marker(value, marker) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_marker(value, marker) for value in node]
    return node


async def async_selector_label(hass: HomeAssistant, selector: str, option: str) -> str:
    """Return an option's label from the translations, for the person looking.

    A placeholder is not translated by the frontend: the language is the one
    the browser asks for in the request this step answers, else the system's.
    """
    request = current_request.get()
    language = preferred_language(
        request.headers.get(hdrs.ACCEPT_LANGUAGE) if request is not None else None,
        hass.config.language,
    )
    labels = await async_get_translations(hass, language, "selector", [DOMAIN])
    key = f"component.{DOMAIN}.selector.{selector}.options.{option}"
    return labels.get(key, option)


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
