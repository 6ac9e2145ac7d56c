"""A newer privacy policy: the re-consent issue and its fix flow, through the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import (
    config_flow,
    decisions,
    repairs,
    sharing_book,
    sharing_settings,
)
from custom_components.printernizer_usage.const import (
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    CONF_SHARE_STATISTICS,
    DOMAIN,
    PRIVACY_URL,
)
from custom_components.printernizer_usage.payload import (
    PAYLOAD_FIELDS,
    PayloadField,
    fields_added_after,
)

from .conftest import ENTRY_ID
from .test_sharing import export, restart, sensor, set_options, start
from .test_sharing_flows import defaults_of, options_sharing_step

pytestmark = pytest.mark.usefixtures("wednesday", "fixed_send_offset")

ISSUE_ID = f"reconsent_{ENTRY_ID}"
# A field a hypothetical policy version 2 would add.
SLICERS = PayloadField(("usage_stats", "slicer_count"), 2, lambda _: 0)

type ClientFactory = Callable[[], Awaitable[TestClient]]


@pytest.fixture(autouse=True)
def policy_version_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Release a policy version 2 that adds one field."""
    for module in (sharing_book, sharing_settings, decisions, repairs, config_flow):
        monkeypatch.setattr(module, "POLICY_VERSION", 2)
    monkeypatch.setattr(
        repairs,
        "fields_added_after",
        lambda version: fields_added_after(version, (*PAYLOAD_FIELDS, SLICERS)),
    )


def reconsent_issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    """Return the re-consent issue of the test entry, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)


async def start_fix(hass: HomeAssistant, hass_client: ClientFactory) -> Any:
    """Open the fix flow as the frontend does; return the client and the form."""
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE_ID}
    )
    assert response.status == 200
    return client, await response.json()


async def answer(client: TestClient, flow: dict[str, Any], accept: bool) -> Any:
    """Submit the fix flow's form."""
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"accept_new_policy": accept}
    )
    assert response.status == 200
    return await response.json()


async def test_a_newer_policy_is_offered_while_sharing_goes_on(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """The issue names the new fields; sharing keeps the consented ones."""
    await start(hass, sharing_entry)
    assert sensor(hass, "sharing") == "reconsent_available"
    issue = reconsent_issue(hass)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "reconsent"
    assert issue.translation_placeholders == {
        "title": "Printernizer",
        "version": "2",
        "fields": "`usage_stats.slicer_count`",
    }


async def test_accepting_adds_the_fields_from_the_next_week(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    hass_client: ClientFactory,
) -> None:
    """Ticking records consent to version 2; the issue goes."""
    await start(hass, sharing_entry)
    client, flow = await start_fix(hass, hass_client)
    assert flow["type"] == "form"
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"]["privacy_url"] == PRIVACY_URL
    assert flow["description_placeholders"]["fields"] == "`usage_stats.slicer_count`"
    assert [field["name"] for field in flow["data_schema"]] == ["accept_new_policy"]
    result = await answer(client, flow, accept=True)
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert sharing_entry.options[CONF_CONSENTED_POLICY] == 2
    assert reconsent_issue(hass) is None
    assert sensor(hass, "sharing") == "active"
    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert [entry["policy_version"] for entry in decisions] == [1, 2]


async def test_keeping_the_current_set_is_remembered(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    hass_client: ClientFactory,
) -> None:
    """Unticked, nothing changes and the issue does not come back."""
    await start(hass, sharing_entry)
    client, flow = await start_fix(hass, hass_client)
    result = await answer(client, flow, accept=False)
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert sharing_entry.options[CONF_DECLINED_POLICY] == 2
    assert sharing_entry.options[CONF_CONSENTED_POLICY] == 1
    await restart(hass, sharing_entry)
    assert reconsent_issue(hass) is None
    assert sensor(hass, "sharing") == "reconsent_available"
    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert [entry["policy_version"] for entry in decisions] == [1]


@pytest.mark.parametrize("declined_first", [False, True])
async def test_saving_the_sharing_options_accepts_no_new_fields(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    hass_client: ClientFactory,
    *,
    declined_first: bool,
) -> None:
    """The options show "Share" ticked; saving them keeps the consented fields.

    Only the fix flow's own unticked box accepts a newer policy, whether or
    not the user already declined it there.
    """
    await start(hass, sharing_entry)
    if declined_first:
        client, flow = await start_fix(hass, hass_client)
        await answer(client, flow, accept=False)
        await hass.async_block_till_done()
    result = await options_sharing_step(hass, sharing_entry)
    defaults = defaults_of(result)
    assert defaults[CONF_SHARE_STATISTICS] is True
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: True}
    )
    await hass.async_block_till_done()
    assert sharing_entry.options[CONF_CONSENTED_POLICY] == 1
    assert sensor(hass, "sharing") == "reconsent_available"
    decisions = (await export(hass, sharing_entry))["consent_history"]
    assert [entry["policy_version"] for entry in decisions] == [1]


async def test_opting_out_withdraws_the_offer(
    hass: HomeAssistant, sharing_entry: MockConfigEntry
) -> None:
    """Nothing to re-consent to while not sharing."""
    await start(hass, sharing_entry)
    assert reconsent_issue(hass) is not None
    await set_options(hass, sharing_entry, **{CONF_SHARE_STATISTICS: False})
    assert reconsent_issue(hass) is None


async def test_fixing_after_the_entry_is_gone(
    hass: HomeAssistant,
    sharing_entry: MockConfigEntry,
    hass_client: ClientFactory,
) -> None:
    """Removing the entry takes the issue along; an open fix flow ends politely."""
    await start(hass, sharing_entry)
    client, flow = await start_fix(hass, hass_client)
    assert await hass.config_entries.async_remove(sharing_entry.entry_id)
    await hass.async_block_till_done()
    assert reconsent_issue(hass) is None
    result = await answer(client, flow, accept=True)
    assert result["type"] == "abort"
    assert result["reason"] == "entry_removed"
