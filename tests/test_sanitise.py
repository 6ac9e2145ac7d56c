"""Values from Printernizer reach the statistics only through the vocabularies."""

from __future__ import annotations

from datetime import date

from hypothesis import given, strategies as st
import pytest

from custom_components.printernizer_usage import sanitise
from custom_components.printernizer_usage.const import (
    DeploymentMode,
    PlatformFamily,
    PrinterType,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.42.0", "2.42.0"),
        ("2.42", "2.42"),
        ("2.42.0rc2", "2.42.0rc2"),
        ("2.42.0b1", "2.42.0b1"),
        ("2.42.0-dev", "2.42.0-dev"),
        # A checkout past a release: the release, marked; never the commit.
        ("2.41.7-6-gbe0da09", "2.41.7-dev"),
        ("2.41.7-0-gbe0da09", "2.41.7"),  # the release itself
        ("2.41-120-g0123456789abcdef0123456789abcdef01234567", "2.41-dev"),
        ("2.41.7-6-gbe0da09-dirty", "unknown"),
        ("2.42.0-beta.1", "unknown"),  # not in the grammar
        ("2.42.0.1", "unknown"),
        ("2.7.0-alicepc", "unknown"),
        ("2.7.0+JohnSmith.home", "unknown"),
        ("unknown", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
        (2.42, "unknown"),
        ("2.42.0 built by alice on printer-host", "unknown"),
        ("/opt/printernizer/2.42.0", "unknown"),
        ("\u0662.\u0664\u0662.\u0660", "unknown"),  # Arabic-Indic digits
        ("\uff12.\uff14\uff12.\uff10", "unknown"),  # full-width digits
        ("4711.0815.1234.5678-beta.9999", "unknown"),  # room for a serial number
        ("12345.1.1", "unknown"),
        ("1.2.3rc1234", "unknown"),
    ],
)
def test_app_version(value: object, expected: str) -> None:
    """Only release numbers pass; free text becomes unknown."""
    assert sanitise.app_version(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3.12.1", "3.12.1"),
        ("3.12", "3.12"),
        ("3.14.0rc1", "3.14.0rc1"),
        ("3.12.1.4", None),
        ("3.12.1+", None),
        ("\u0663.\u0661\u0662.\u0661", None),
        ("3.12.1 (main, Dec 2023)", None),
        (3.12, None),
        (None, None),
    ],
)
def test_python_version(value: object, expected: str | None) -> None:
    """A release number in the payload's grammar, or nothing."""
    assert sanitise.python_version(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Linux-6.1.0-18-amd64-x86_64-with-glibc2.36", PlatformFamily.LINUX),
        ("linux", PlatformFamily.LINUX),
        ("Windows-10-10.0.19045-SP0", PlatformFamily.WINDOWS),
        ("win32", PlatformFamily.WINDOWS),
        ("macOS-14.2-arm64-arm-64bit", PlatformFamily.DARWIN),
        ("Darwin", PlatformFamily.DARWIN),
        ("FreeBSD-14.0", PlatformFamily.OTHER),
        (None, PlatformFamily.OTHER),
    ],
)
def test_platform_family(value: object, expected: PlatformFamily) -> None:
    """A platform string is reduced to its operating-system family."""
    assert sanitise.platform_family(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("homeassistant", DeploymentMode.HOMEASSISTANT),
        ("docker", DeploymentMode.DOCKER),
        ("standalone", DeploymentMode.STANDALONE),
        ("pi", DeploymentMode.PI),
        ("kubernetes", DeploymentMode.UNKNOWN),
        (None, DeploymentMode.UNKNOWN),
    ],
)
def test_deployment_mode(value: object, expected: DeploymentMode) -> None:
    """Deployment modes outside the vocabulary are unknown."""
    assert sanitise.deployment_mode(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bambu_lab", PrinterType.BAMBU_LAB),
        ("prusa_core", PrinterType.PRUSA),
        ("prusa", PrinterType.PRUSA),
        ("octoprint", PrinterType.OCTOPRINT),
        ("OctoPrint", PrinterType.OCTOPRINT),
        ("unknown", PrinterType.OTHER),
        ("klipper", PrinterType.OTHER),
        ("", None),
        (None, None),
    ],
)
def test_printer_type(value: object, expected: PrinterType | None) -> None:
    """Printer types map onto four values; a missing type is None."""
    assert sanitise.printer_type(value) is expected


@given(st.one_of(st.text(), st.none(), st.integers(), st.floats()))
def test_every_output_is_in_its_vocabulary(value: object) -> None:
    """Whatever Printernizer sends, only vocabulary values come out."""
    assert sanitise.platform_family(value) in PlatformFamily
    assert sanitise.deployment_mode(value) in DeploymentMode
    assert sanitise.printer_type(value) in (*PrinterType, None)
    version = sanitise.app_version(value)
    assert version == "unknown" or (len(version) <= 40 and " " not in version)
    python = sanitise.python_version(value)
    assert python is None or python.count(".") == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-02 15:14:04", date(2026, 12, 2)),  # made through the API
        ("2026-12-02T15:07:43.156133", date(2026, 12, 2)),  # printer monitoring
        ("2026-12-02", date(2026, 12, 2)),
        ("2026-02-30 10:00:00", None),
        ("2026-12-02x", None),
        ("\u0662\u0660\u0662\u0666-12-02", None),  # Arabic-Indic digits
        ("26-12-02", None),
        ("", None),
        (None, None),
        (20261202, None),
    ],
)
def test_listed_day(value: object, expected: date | None) -> None:
    """Only the day a stamp begins with is read, in either format."""
    assert sanitise.listed_day(value) == expected


@given(st.one_of(st.text(), st.none(), st.integers()))
def test_listed_day_never_raises(value: object) -> None:
    """A garbled stamp reads as no day at all."""
    day = sanitise.listed_day(value)
    assert day is None or isinstance(day, date)
