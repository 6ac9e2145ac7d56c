"""Map values reported by Printernizer onto the fixed vocabularies, or drop them."""

from __future__ import annotations

import re

from .const import DeploymentMode, PlatformFamily, PrinterType

UNKNOWN_VERSION = "unknown"

# A release number such as 2.42.0, 2.42.0-beta.1 or 2.42.0rc2; anything else,
# a build note with a name in it say, may be free text.
# ASCII digits only (\d would let any script's digits through), and few of
# them: a release number has no room to carry anything else.
_APP_VERSION = re.compile(
    r"[0-9]{1,3}(\.[0-9]{1,3}){1,3}([-.]?(a|b|rc|alpha|beta|dev|post)\.?[0-9]{0,3})?"
)
_PYTHON_VERSION = re.compile(r"[0-9]{1,2}\.[0-9]{1,3}\.[0-9]{1,3}")

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
    if isinstance(value, str) and _APP_VERSION.fullmatch(value):
        return value
    return UNKNOWN_VERSION


def python_version(value: object) -> str | None:
    """Return major.minor.patch, or None when the value is not exactly that."""
    if isinstance(value, str) and _PYTHON_VERSION.fullmatch(value):
        return value
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
