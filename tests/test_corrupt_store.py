"""A damaged or busy statistics file never stops Home Assistant.

(A file from a newer schema: tests/test_init.py::test_newer_schema_is_refused.)
"""

from __future__ import annotations

from datetime import timedelta
import gc
from pathlib import Path
import sqlite3
import warnings

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage import store_path
from custom_components.printernizer_usage.const import DOMAIN
from custom_components.printernizer_usage.store import recovery as store_module

from .helpers import refresh
from .simulator.printernizer import PrinternizerSimulator
from .test_init import JOBS


async def count_a_job(
    hass: HomeAssistant, entry: MockConfigEntry, printernizer: PrinternizerSimulator
) -> Path:
    """Set the entry up, count one job, unload it; return its statistics file."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    printernizer.add_job()
    await refresh(hass, entry)
    assert hass.states.get(JOBS).state == "1"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    return store_path(hass, entry.entry_id)


def unclosed_databases() -> int:
    """Collect garbage; return how many SQLite connections it found still open."""
    with warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    return sum("unclosed database" in str(warning.message) for warning in found)


@pytest.mark.parametrize("keep", [0.5, 0.25, 100 / 4096])
async def test_a_truncated_file_is_moved_aside_and_replaced(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    issue_registry: ir.IssueRegistry,
    keep: float,
) -> None:
    """A file cut short (a full disk, a bad copy) is set aside; counting goes on."""
    path = await count_a_job(hass, mock_config_entry, printernizer)
    content = path.read_bytes()
    path.write_bytes(content[: max(1, int(len(content) * keep))])

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue = issue_registry.async_get_issue(
        DOMAIN, f"store_recovered_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert [p.name for p in path.parent.glob(f"{path.name}.corrupt-*")]
    # The new file learns what Printernizer lists, and counts what comes next.
    assert hass.states.get(JOBS).state == "0"
    printernizer.add_job()
    await refresh(hass, mock_config_entry)
    assert hass.states.get(JOBS).state == "1"


async def test_a_locked_file_is_retried_and_left_intact(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another program holding the file delays setup; nothing is lost or moved.

    Each failed attempt closes what it opened: setup retries for as long as the
    other program holds the file.
    """
    path = await count_a_job(hass, mock_config_entry, printernizer)
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", timedelta(milliseconds=50))
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
        assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
        assert not issue_registry.issues
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert unclosed_databases() == 0

    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(JOBS).state == "1"
    assert not [p.name for p in path.parent.glob(f"{path.name}.corrupt-*")]
