"""Map values reported by Printernizer onto the fixed vocabularies, or drop them."""

from __future__ import annotations

from datetime import date
import re

from .const import DeploymentMode, PlatformFamily, PrinterType

UNKNOWN_VERSION = "unknown"

# The version grammar of the payload's closed values: a release number (2.42,
# 2.42.0, 2.42.0rc2, 2.42.0-dev) in ASCII digits (\d would let any script's
# digits through), short enough to leave no room for anything else.
_VERSION = re.compile(r"[0-9]{1,4}(\.[0-9]{1,4}){1,2}(-dev|(a|b|rc)[0-9]{1,3})?")
MAX_VERSION_LENGTH = 20
# What `git describe` reports for a checkout: 2.41.7-6-gbe0da09 is six commits
# past 2.41.7; 2.41.7-0-g... is the release itself.
_GIT_DESCRIBE = re.compile(r"([0-9]{1,4}(?:\.[0-9]{1,4}){1,2})-([0-9]+)-g[0-9a-f]+")

# The date part of a list item's `created_at`, in either of Printernizer's
# formats ("2026-12-02 15:14:04" and "2026-12-02T15:07:43.156133").
_LISTED_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]|$)")

_PRINTER_TYPES = {
    "bambu_lab": PrinterType.BAMBU_LAB,
    "bambu": PrinterType.BAMBU_LAB,
    "prusa": PrinterType.PRUSA,
    "prusa_core": PrinterType.PRUSA,
    "octoprint": PrinterType.OCTOPRINT,
}

_PLATFORM_PREFIXES = (
    ("linux", PlatformFamily.LINUX),
    ("windows", PlatformFamily.WINDOWS),
    ("win32", PlatformFamily.WINDOWS),
    ("cygwin", PlatformFamily.WINDOWS),
    ("darwin", PlatformFamily.DARWIN),
    ("macos", PlatformFamily.DARWIN),
)


def app_version(value: object) -> str:
    """Return a release number, or "unknown" for anything that is not one."""
    return _version(value) or UNKNOWN_VERSION


def python_version(value: object) -> str | None:
    """Return a release number, or None for anything that is not one."""
    return _version(value)


def _version(value: object) -> str | None:
    """Return a version in the payload's grammar; a checkout's is its release, -dev.

    The commit a checkout is at never leaves: it could single out a build.
    """
    if not isinstance(value, str):
        return None
    version = value
    if described := _GIT_DESCRIBE.fullmatch(value):
        past_release = described[2].strip("0") != ""
        version = f"{described[1]}-dev" if past_release else described[1]
    if len(version) <= MAX_VERSION_LENGTH and _VERSION.fullmatch(version):
        return version
    return None


def platform_family(value: object) -> PlatformFamily:
    """Reduce a platform string (Linux-6.1-x86_64-with-glibc2.36) to its family."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        for prefix, family in _PLATFORM_PREFIXES:
            if lowered.startswith(prefix):
                return family
    return PlatformFamily.OTHER


def deployment_mode(value: object) -> DeploymentMode:
    """Return the deployment mode, or unknown for anything outside the vocabulary."""
    if isinstance(value, str):
        try:
            return DeploymentMode(value)
        except ValueError:
            pass
    return DeploymentMode.UNKNOWN


def printer_type(value: object) -> PrinterType | None:
    """Return the vocabulary type for a printer type string; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    return _PRINTER_TYPES.get(value.lower(), PrinterType.OTHER)


def listed_day(value: object) -> date | None:
    """Return the calendar day a list item was stamped with, or None if unreadable."""
    if not isinstance(value, str) or not (match := _LISTED_DAY.match(value)):
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None
