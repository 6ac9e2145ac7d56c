"""Files Home Assistant and HACS read: manifest, HACS, translations, icons, rules."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import urlparse

from PIL import Image
import pytest
import yaml

from custom_components.printernizer_usage.binary_sensor import BINARY_SENSORS
from custom_components.printernizer_usage.sensor import (
    SENSORS,
    SHARING_SENSORS,
    TIME_SENSORS,
)

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


# What hassfest accepts in a custom integration's manifest.
MANIFEST_KEYS = {
    "after_dependencies", "bluetooth", "codeowners", "config_flow", "dependencies",
    "dhcp", "disabled", "documentation", "domain", "homekit", "import_executor",
    "integration_type", "iot_class", "issue_tracker", "loggers", "mqtt", "name",
    "quality_scale", "requirements", "single_config_entry", "ssdp", "usb", "version",
    "zeroconf",
}  # fmt: skip
IOT_CLASSES = {
    "assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling",
    "local_push",
}  # fmt: skip
INTEGRATION_TYPES = {
    "device", "entity", "hardware", "helper", "hub", "service", "system",
}  # fmt: skip
# What HACS accepts in hacs.json; any other key fails its validation.
HACS_KEYS = {
    "content_in_root", "country", "filename", "hacs", "hide_default_branch",
    "homeassistant", "name", "persistent_directory", "render_readme", "zip_release",
}  # fmt: skip
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
OLDEST_SUPPORTED_HA = "2025.4.0"


def is_https_url(value: str) -> bool:
    """Return whether a value is an absolute https URL."""
    parsed = urlparse(value)
    return parsed.scheme == "https" and bool(parsed.netloc)


def test_manifest_passes_hassfest_rules() -> None:
    """Keys, order and values as hassfest checks them for a custom integration."""
    manifest = load_json(INTEGRATION / "manifest.json")
    order = list(manifest)
    assert order[:2] == ["domain", "name"]
    assert order[2:] == sorted(order[2:])
    assert set(manifest) <= MANIFEST_KEYS
    assert {"domain", "name", "codeowners", "documentation", "version"} <= set(manifest)
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["integration_type"] in INTEGRATION_TYPES
    assert is_https_url(manifest["documentation"])
    assert urlparse(manifest["documentation"]).netloc != "www.home-assistant.io"
    assert SEMVER.match(manifest["version"])


def test_manifest_describes_this_integration() -> None:
    """Local polling of one service, set up in the UI, nothing to install."""
    manifest = load_json(INTEGRATION / "manifest.json")
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "local_polling"
    assert manifest["config_flow"] is True
    assert manifest["requirements"] == []  # everything comes with Home Assistant
    assert manifest["dependencies"] == ["http"]  # the export download view


def test_hacs_metadata() -> None:
    """hacs.json has only keys HACS knows; the manifest has what HACS requires."""
    hacs = load_json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS
    assert hacs == {
        "name": "Printernizer Usage Statistics",
        "homeassistant": OLDEST_SUPPORTED_HA,
    }
    manifest = load_json(INTEGRATION / "manifest.json")
    assert is_https_url(manifest["issue_tracker"])
    assert {"codeowners", "documentation", "domain", "issue_tracker", "name"} <= set(
        manifest
    )
    assert f"Home Assistant {OLDEST_SUPPORTED_HA.removesuffix('.0')}" in (
        ROOT / "README.md"
    ).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "shortest", "longest"),
    [
        ("icon.png", (256, 256), (256, 256)),
        ("icon@2x.png", (512, 512), (512, 512)),
        ("logo.png", (128, 256), (128, 1024)),
        ("logo@2x.png", (256, 512), (256, 2048)),
    ],
)
def test_brand_images(
    name: str, shortest: tuple[int, int], longest: tuple[int, int]
) -> None:
    """Sizes Home Assistant's brand rules ask for; transparent and trimmed."""
    with Image.open(INTEGRATION / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"
        low, high = sorted(image.size)
        assert shortest[0] <= low <= shortest[1]
        assert longest[0] <= high <= longest[1]
        alpha = image.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0  # a transparent background
        assert alpha.getbbox() == (0, 0, *image.size)  # nothing to trim


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


# German strings that are rightly the same as the English ones: names and codes.
SAME_IN_GERMAN = frozenset({"URL"})


def test_no_german_string_is_left_in_english() -> None:
    """A German string equal to its English one is an untranslated string."""
    english = strings(load_json(INTEGRATION / "translations" / "en.json"))
    german = strings(load_json(INTEGRATION / "translations" / "de.json"))
    same = {
        path: text
        for path, text in english.items()
        if german.get(path) == text and text not in SAME_IN_GERMAN
    }
    assert same == {}


# hassfest refuses translation strings with a URL in them (any scheme, or a
# www. host, in any case): addresses belong in description placeholders.
URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.", re.IGNORECASE)


def strings(tree: Any, prefix: str = "") -> dict[str, str]:
    """Return every string of a nested translation tree by its path."""
    if isinstance(tree, str):
        return {prefix: tree}
    return {
        path: text
        for key, value in tree.items()
        for path, text in strings(value, f"{prefix}/{key}").items()
    }


@pytest.mark.parametrize(
    ("text", "is_url"),
    [
        ("for example http://localhost:8000.", True),
        ("HTTPS://stats.example.org", True),
        ("see www.example.org", True),
        ("WWW.EXAMPLE.ORG", True),
        ("ftp://files.example", True),
        ("for example {example_url}.", False),
        ("at its /health address", False),
        ("a plain web address (HTTP or HTTPS)", False),
        ("Read [PRIVACY.md]({privacy_url}).", False),
    ],
)
def test_url_rule_finds_urls(text: str, is_url: bool) -> None:
    """The rule below would catch each kind of URL and nothing else."""
    assert bool(URL_IN_TEXT.search(text)) is is_url


@pytest.mark.parametrize("language", ["en", "de"])
def test_translations_hold_no_url(language: str) -> None:
    """No translation string contains a URL (hassfest's rule)."""
    texts = strings(load_json(INTEGRATION / "translations" / f"{language}.json"))
    assert [path for path, text in texts.items() if URL_IN_TEXT.search(text)] == []


@pytest.mark.parametrize("language", ["en", "de"])
def test_fixable_issues_describe_themselves_in_their_flow(language: str) -> None:
    """An issue with a fix flow has no description of its own (hassfest's rule)."""
    issues = load_json(INTEGRATION / "translations" / f"{language}.json")["issues"]
    assert any("fix_flow" in issue for issue in issues.values())
    for key, issue in issues.items():
        if "fix_flow" in issue:
            assert "description" not in issue, key
        else:
            assert issue["description"], key


def test_every_sensor_has_an_icon() -> None:
    """Icons come from icons.json, one per sensor and per action."""
    icons = load_json(INTEGRATION / "icons.json")
    assert set(icons["entity"]["sensor"]) == {
        d.translation_key for d in (*SENSORS, *SHARING_SENSORS, *TIME_SENSORS)
    }
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    assert set(icons["services"]) == set(services)


EVIDENCE = re.compile(
    r"(?P<test>tests/[\w/]+\.py::\w+)|(?P<section>README\.md#[\w-]+)"
    r"|(?P<file>(?:custom_components|scripts)/[\w/.]+\w|pyproject\.toml)"
)


def readme_sections() -> set[str]:
    """Return the anchors GitHub gives the README's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.M)
    return {
        re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings
    }


def proves(evidence: re.Match[str]) -> bool:
    """Return whether a named test, README section or file exists."""
    if test := evidence["test"]:
        path, name = test.split("::")
        return (
            re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.M)
            is not None
        )
    if section := evidence["section"]:
        return section.removeprefix("README.md#") in readme_sections()
    return (ROOT / evidence["file"]).is_file()


def test_quality_scale_has_every_rule_done_or_exempt() -> None:
    """No rule is left to do; each exemption says why, each done rule its proof."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for rule, entry in rules.items():
        assert entry["status"] in ("done", "exempt"), rule
        assert entry["comment"].strip(), rule
        if entry["status"] == "done":
            evidence = list(EVIDENCE.finditer(entry["comment"]))
            assert evidence, f"{rule}: nothing named as proof"
            for found in evidence:
                assert proves(found), f"{rule}: {found[0]} does not exist"
