"""Config flow: every branch of the user and reconfigure steps."""

from __future__ import annotations

from collections.abc import Iterator

from awesomeversion import AwesomeVersion
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_URL, __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.const import (
    CONF_BASELINE_ID,
    CONF_SHARE_STATISTICS,
    DEFAULT_URL,
    DOMAIN,
)

from .conftest import BASELINE_ID
from .helpers import assert_placeholders_supplied
from .simulator.printernizer import PrinternizerSimulator


@pytest.fixture
def other_printernizer(socket_enabled: None) -> Iterator[PrinternizerSimulator]:
    """Serve a second, empty Printernizer."""
    simulator = PrinternizerSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


async def test_user_step_creates_entry(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """The form proposes the add-on address and creates a normalised entry."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert_placeholders_supplied(result, "config")
    schema_defaults = {str(key): key.default() for key in result["data_schema"].schema}
    assert schema_defaults == {CONF_URL: DEFAULT_URL}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f" {printernizer.url}/ "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "privacy"
    assert_placeholders_supplied(result, "config")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Printernizer"  # titles get logged: no address
    assert result["options"] == {CONF_SHARE_STATISTICS: False}
    assert result["data"] == {
        CONF_URL: printernizer.url,
        CONF_BASELINE_ID: result["data"][CONF_BASELINE_ID],
    }
    assert len(result["data"][CONF_BASELINE_ID]) == 32
    assert result["result"].unique_id == printernizer.url


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("html", "invalid_response"),
        ("truncated", "invalid_response"),
        ("404", "invalid_response"),
        ("500", "cannot_connect"),
    ],
)
async def test_user_step_errors_then_recovers(
    hass: HomeAssistant, printernizer: PrinternizerSimulator, fault: str, error: str
) -> None:
    """A failing check shows a translated error; the next try can succeed."""
    printernizer.fail(fault, "/api/v1/health")
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: printernizer.url}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: printernizer.url}
    )
    assert result["step_id"] == "privacy"


async def test_user_step_refused_connection(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """Nothing listening at the address is a connection error."""
    printernizer.refuse_connections()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: printernizer.url}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    printernizer.accept_connections()


@pytest.mark.parametrize(
    "url", ["ftp://printernizer.local", "http://admin:secret@printernizer.local:8000"]
)
async def test_user_step_invalid_url(hass: HomeAssistant, url: str) -> None:
    """Malformed addresses and addresses with credentials are refused."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_URL: "invalid_url"}


async def test_user_step_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The same server, however spelled, is set up only once."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: mock_config_entry.data[CONF_URL].upper() + "/"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_to_another_address(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    other_printernizer: PrinternizerSimulator,
) -> None:
    """Reconfigure checks the new address, then updates and reloads the entry."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert_placeholders_supplied(result, "config")

    other_printernizer.fail("html", "/api/v1/health")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: other_printernizer.url}
    )
    assert result["errors"] == {"base": "invalid_response"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: other_printernizer.url}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_URL] == other_printernizer.url
    assert init_integration.data[CONF_BASELINE_ID] != BASELINE_ID
    assert init_integration.unique_id == other_printernizer.url


async def test_reconfigure_to_the_same_address(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Confirming the current address is allowed."""
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: init_integration.data[CONF_URL] + "/"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.data[CONF_BASELINE_ID] == BASELINE_ID


async def test_reconfigure_to_a_configured_server(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    other_printernizer: PrinternizerSimulator,
) -> None:
    """An address another entry already uses is refused."""
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=other_printernizer.url,
        data={CONF_URL: other_printernizer.url},
    ).add_to_hass(hass)
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: other_printernizer.url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_invalid_url(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Reconfigure refuses malformed addresses like the user step."""
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "http://printernizer.local/?x=1"}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}


@pytest.mark.skipif(
    AwesomeVersion(ha_version) >= AwesomeVersion("2026.1.0"),
    reason=(
        "with aiodns 4 the test harness's several event loops share one "
        "resolver; the same lookup works in a single loop, as Home Assistant runs"
    ),
)
async def test_user_step_by_host_name(
    hass: HomeAssistant, printernizer: PrinternizerSimulator
) -> None:
    """A host name resolves through Home Assistant's session (add-on: localhost).

    Guards the pycares pin of the HA 2025.4 test branch, where pycares 5
    breaks aiodns 3.2 and with it every host-name lookup.
    """
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"localhost:{printernizer.port}"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SHARE_STATISTICS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == f"http://localhost:{printernizer.port}"
