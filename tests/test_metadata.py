"""Files Home Assistant and HACS read: manifest, HACS, translations, icons, rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from custom_components.printernizer_usage.binary_sensor import BINARY_SENSORS
from custom_components.printernizer_usage.sensor import SENSORS, SHARING_SENSORS

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "printernizer_usage"

QUALITY_RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency",
    "docs-actions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry", "action-exceptions", "config-entry-unloading",
    "docs-configuration-parameters", "docs-installation-parameters",
    "entity-unavailable", "integration-owner", "log-when-unavailable",
    "parallel-updates", "reauthentication-flow", "test-coverage", "devices",
    "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases",
    "dynamic-devices", "entity-category", "entity-device-class",
    "entity-disabled-by-default", "entity-translations", "exception-translations",
    "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def load_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def keys(tree: Any, prefix: str = "") -> set[str]:
    """Return every leaf path of a nested dict."""
    if not isinstance(tree, dict):
        return {prefix}
    return {
        leaf for key, value in tree.items() for leaf in keys(value, f"{prefix}/{key}")
    }


def test_manifest() -> None:
    """Domain and name first, the rest sorted, local polling, nothing to install."""
    manifest = load_json(INTEGRATION / "manifest.json")
    order = list(manifest)
    assert order[:2] == ["domain", "name"]
    assert order[2:] == sorted(order[2:])
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "local_polling"
    assert manifest["config_flow"] is True
    assert manifest["requirements"] == []
    assert manifest["version"].count(".") == 2
    assert not manifest["documentation"].startswith("https://www.home-assistant.io")


def test_hacs() -> None:
    """HACS needs the name and the minimum Home Assistant version."""
    assert load_json(ROOT / "hacs.json") == {
        "name": "Printernizer Usage Statistics",
        "homeassistant": "2025.4.0",
        "render_readme": True,
    }


def test_translations_are_complete() -> None:
    """German has exactly the English keys; every entity and action is named."""
    english = load_json(INTEGRATION / "translations" / "en.json")
    german = load_json(INTEGRATION / "translations" / "de.json")
    assert keys(english) == keys(german)
    for description in SENSORS:
        assert english["entity"]["sensor"][description.translation_key]["name"]
    for description in BINARY_SENSORS:
        assert english["entity"]["binary_sensor"][description.translation_key]["name"]
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    assert set(services) == set(english["services"])


def test_every_sensor_has_an_icon() -> None:
    """Icons come from icons.json, one per sensor and per action."""
    icons = load_json(INTEGRATION / "icons.json")
    assert set(icons["entity"]["sensor"]) == {
        d.translation_key for d in (*SENSORS, *SHARING_SENSORS)
    }
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    assert set(icons["services"]) == set(services)


def test_quality_scale_names_every_rule() -> None:
    """Every rule is done, todo, or exempt with a reason."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for rule, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] in ("todo", "exempt"), rule
            assert status["comment"].strip(), rule
        else:
            assert status == "done", rule
