"""A user's whole journey in a real Home Assistant process, over its REST API.

Onboarding, adding the integration twice (declining and consenting), reading
sensors, every action, options, a restart and removal: what the in-process
tests check piece by piece, here through the same doors a user goes through;
and a week sent to the project's real collection server and deleted there.
"""

from __future__ import annotations

from contextlib import closing, suppress
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import re
import sqlite3
import time
from typing import Any

from custom_components.printernizer_usage.const import DOMAIN
from custom_components.printernizer_usage.payload import week_start
from tests.real_collection_server import serving_collection_server
from tests.simulator.collection import CollectionSimulator
from tests.simulator.printernizer import PrinternizerSimulator

from .home_assistant import HANG_GUARD, HomeAssistantError, HomeAssistantProcess

CONFIG_FLOW = "/api/config/config_entries/flow"
OPTIONS_FLOW = "/api/config/config_entries/options/flow"
# Every entity of the integration: [entry id, entity id, state].
ENTITIES_TEMPLATE = (
    "{% set ns = namespace(rows=[]) %}"
    f"{{% for e in integration_entities('{DOMAIN}') %}}"
    "{% set ns.rows = ns.rows + [[config_entry_id(e), e, states(e)]] %}"
    "{% endfor %}{{ ns.rows | to_json }}"
)
# The second device's entity ids end in _2; the names are the same.
ENTITY_NAME = re.compile(r"^\w+\.printernizer_usage_statistics_(\w+?)(?:_2)?$")


def sensors(ha: HomeAssistantProcess) -> dict[str, dict[str, str]]:
    """Return each entry's entity states by entity name."""
    by_entry: dict[str, dict[str, str]] = {}
    for entry_id, entity_id, state in ha.render(ENTITIES_TEMPLATE):
        name = ENTITY_NAME.match(entity_id)
        assert name is not None, entity_id
        by_entry.setdefault(entry_id, {})[name.group(1)] = state
    return by_entry


def wait_for_sensors(
    ha: HomeAssistantProcess, expected: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """Wait until each entry's sensors show at least the expected states."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        states = sensors(ha)
        if all(
            expected_states.items() <= states.get(entry_id, {}).items()
            for entry_id, expected_states in expected.items()
        ):
            return states
        if time.monotonic() > deadline:
            msg = f"sensors {states} never reached {expected}"
            raise AssertionError(msg)
        time.sleep(0.5)


def wait_until_loaded(ha: HomeAssistantProcess, *entry_ids: str) -> None:
    """Wait until every entry is loaded."""
    deadline = time.monotonic() + HANG_GUARD
    while {ha.entries(DOMAIN).get(e, {}).get("state") for e in entry_ids} != {"loaded"}:
        assert time.monotonic() < deadline, ha.entries(DOMAIN)
        time.sleep(0.5)


def export(ha: HomeAssistantProcess, entry_id: str) -> dict[str, Any]:
    """Export an entry's statistics; the signed link must serve the same data."""
    exported = ha.call(DOMAIN, "export_statistics", config_entry_id=entry_id)
    download = ha.request("GET", exported.pop("download_path"), auth=False)
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert json.loads(download.body) == exported
    return exported


def lasting(exported: dict[str, Any]) -> dict[str, Any]:
    """Return what a restart must keep: everything but the hours the clock adds."""
    return {
        **exported,
        "day_buckets": [
            b for b in exported["day_buckets"] if b["metric"] != "uptime_hours"
        ],
    }


def add_entry(ha: HomeAssistantProcess, *answers: dict[str, Any]) -> str:
    """Add the integration through the config flow; return the new entry's id."""
    result = ha.flow(CONFIG_FLOW, DOMAIN, *answers)
    assert result["type"] == "create_entry", result
    assert result["title"] == "Printernizer"
    return str(result["result"]["entry_id"])


def restart(ha: HomeAssistantProcess) -> None:
    """Restart from the UI's action: the process exits with 100, then starts again."""
    # The answer may be cut off by the shutdown it starts.
    with suppress(OSError, HomeAssistantError):
        ha.request("POST", "/api/services/homeassistant/restart", {})
    assert ha.wait_for_exit() == 100
    ha.start()


def test_a_user_journey_through_a_real_home_assistant(
    home_assistant: HomeAssistantProcess,
    printernizer: PrinternizerSimulator,
    print_farm: PrinternizerSimulator,
    collection: CollectionSimulator,
) -> None:
    """Add, use, reconfigure, restart and remove, as a user would."""
    ha = home_assistant
    api_key = collection.api_key
    assert api_key  # the canary looked for in the log at the end

    # A privacy form that starts unticked, declined; then one that is ticked.
    declined = add_entry(ha, {"url": printernizer.url}, {"share_statistics": False})
    consented = add_entry(
        ha,
        {"url": print_farm.url},
        {"share_statistics": True},
        {"collection_url": collection.url, "collection_api_key": api_key},
    )
    wait_until_loaded(ha, declined, consented)
    states = wait_for_sensors(
        ha,
        {
            declined: {
                "printers": "3",
                "jobs_this_week": "0",
                "sharing": "off",
                "printernizer_connection": "on",
            },
            consented: {"printers": "3", "sharing": "active"},
        },
    )
    assert "next_submission" not in states[declined]  # nothing is planned
    assert states[consented]["next_submission"] not in ("unknown", "unavailable")

    # A job printed now is counted at the next poll; what was there before is not.
    printernizer.add_job(printernizer.printers[0])
    jobs_sensor = "sensor.printernizer_usage_statistics_jobs_this_week"
    ha.request(
        "POST", "/api/services/homeassistant/update_entity", {"entity_id": jobs_sensor}
    )
    wait_for_sensors(ha, {declined: {"jobs_this_week": "1"}})

    # Every action answers, for the entry it is given.
    preview = ha.call(DOMAIN, "preview_payload", config_entry_id=declined)
    assert preview["eligible"] is False
    assert preview["reason"] == "not_covered_by_consent"
    assert preview["payload"]["schema_version"] == "1.0"
    assert ha.call(DOMAIN, "request_remote_deletion", config_entry_id=consented) == {
        "requests": []
    }
    regenerated = ha.call(
        DOMAIN, "regenerate_installation_id", config_entry_id=declined
    )
    assert regenerated["regenerated"] is True
    submitted = ha.call(DOMAIN, "submit_now", config_entry_id=consented)
    assert submitted["sent_weeks"] == []  # no whole consented week has closed yet
    assert submitted["sharing_state"] == "active"
    # Declining is the default, so it leaves no consent decision behind.
    assert export(ha, declined)["consent_history"] == []

    # Options: the decliner opts in (and is asked for the server), the other out.
    opted_in = ha.flow(
        OPTIONS_FLOW,
        declined,
        {"next_step_id": "sharing"},
        {"share_statistics": True},
        {"collection_url": collection.url, "collection_api_key": api_key},
    )
    assert opted_in["type"] == "create_entry", opted_in
    opted_out = ha.flow(
        OPTIONS_FLOW,
        consented,
        {"next_step_id": "sharing"},
        {"share_statistics": False},
    )
    assert opted_out["type"] == "create_entry", opted_out
    before = wait_for_sensors(
        ha, {declined: {"sharing": "active"}, consented: {"sharing": "off"}}
    )
    exports = {e: lasting(export(ha, e)) for e in (declined, consented)}
    assert [c["share_statistics"] for c in exports[declined]["consent_history"]] == [
        True
    ]
    assert [c["share_statistics"] for c in exports[consented]["consent_history"]] == [
        True,
        False,
    ]

    # A restart keeps the entries, their options and every statistic.
    restart(ha)
    wait_until_loaded(ha, declined, consented)
    after = wait_for_sensors(
        ha, {e: {"printernizer_connection": "on"} for e in (declined, consented)}
    )
    for entry_id in (declined, consented):
        uptime = "uptime_this_week"
        assert int(after[entry_id].pop(uptime)) >= int(before[entry_id].pop(uptime))
        assert after[entry_id] == before[entry_id]
        assert lasting(export(ha, entry_id)) == exports[entry_id]

    # Deleting local data keeps the entry working from a fresh start.
    deleted = ha.call(
        DOMAIN,
        "delete_local_statistics",
        config_entry_id=declined,
        also_request_remote_deletion=True,
    )
    assert deleted["deleted"]["day_buckets"] > 0
    wait_until_loaded(ha, declined)
    fresh = export(ha, declined)
    assert lasting(fresh)["day_buckets"] == []  # only the hour of the new first poll
    assert [c["share_statistics"] for c in fresh["consent_history"]] == [True]

    # Removing both entries deletes their files.
    store = ha.config_dir / ".storage" / DOMAIN
    assert {p.name.split(".")[0] for p in store.iterdir()} >= {declined, consented}
    for entry_id in (declined, consented):
        ha.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")
    assert ha.entries(DOMAIN) == {}
    assert not store.exists()  # the folder goes with the last entry's files

    assert ha.stop() == 0
    log = ha.log()
    assert api_key not in log
    assert "custom_components/printernizer_usage/" not in log  # no traceback of ours
    assert not re.search(r"(ERROR|CRITICAL) \(\w+\) \[custom_components", log)
    assert "Detected blocking call" not in log
    assert "Detected that custom integration" not in log


def test_a_week_reaches_the_real_collection_server_and_leaves_it_again(
    home_assistant: HomeAssistantProcess,
    printernizer: PrinternizerSimulator,
    tmp_path: Path,
) -> None:
    """From a real hass to the project's real server process, and deleted again.

    A week cannot pass in real time: the consent given through the flow is
    moved two weeks back in the statistics file while hass is stopped, so
    that last week is whole and consented when hass starts again.
    """
    ha = home_assistant
    api_key = "e2e-collection-key-5d0c"
    folder = tmp_path / "collection-server"
    folder.mkdir()
    with serving_collection_server(folder, api_key) as server:
        entry = add_entry(
            ha,
            {"url": printernizer.url},
            {"share_statistics": True},
            {"collection_url": server.base_url, "collection_api_key": api_key},
        )
        wait_until_loaded(ha, entry)
        assert ha.stop() == 0
        statistics = ha.config_dir / ".storage" / DOMAIN / f"{entry}.db"
        two_weeks_ago = datetime.now(UTC) - timedelta(days=14)
        with closing(sqlite3.connect(statistics)) as db, db:
            changed = db.execute(
                "UPDATE consent_change SET at = ?", (two_weeks_ago.isoformat(),)
            ).rowcount
        assert changed == 1
        ha.start()
        wait_until_loaded(ha, entry)
        last_week = week_start(datetime.now(UTC).date()) - timedelta(weeks=1)

        submitted = ha.call(DOMAIN, "submit_now", config_entry_id=entry)

        assert submitted["sent_weeks"] == [last_week.isoformat()]
        # The random id is drawn when the first payload is built.
        installation_id = export(ha, entry)["installation"]["installation_id"]
        assert installation_id.encode() in server.database_bytes()

        deletion = ha.call(DOMAIN, "request_remote_deletion", config_entry_id=entry)

        assert [r["status"] for r in deletion["requests"]] == ["acknowledged"]
        assert installation_id.encode() not in server.database_bytes()
        server_log = server.log.read_text()
        assert "route=/submit status=200" in server_log
        assert "deletion day=" in server_log
        assert installation_id not in server_log
    assert ha.stop() == 0
    assert api_key not in ha.log()
