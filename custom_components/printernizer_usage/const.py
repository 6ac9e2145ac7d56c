"""Constants and fixed vocabularies of the Printernizer usage statistics integration."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "printernizer_usage"
# The entry's device stands for the statistics of one Printernizer.
DEVICE_MODEL: Final = "Printernizer"
# The version of the privacy policy (and so of the payload fields) this release
# implements; users consent to one version and are offered newer ones.
POLICY_VERSION: Final = 1
LOGGER = logging.getLogger(__package__)

DEFAULT_URL: Final = "http://localhost:8000"
# Entry data: a random id that changes whenever the entry is pointed at another
# Printernizer, so the store knows to learn what is already there again.
CONF_BASELINE_ID: Final = "baseline_id"
DEFAULT_SCAN_INTERVAL: Final = timedelta(minutes=5)

# Entry options: the sharing decision and where submissions go. Sharing is off
# unless the user ticked it; the consented version says which fields it covers.
CONF_SHARE_STATISTICS: Final = "share_statistics"
CONF_CONSENTED_POLICY: Final = "consented_policy_version"
CONF_COLLECTION_URL: Final = "collection_url"
CONF_COLLECTION_API_KEY: Final = "collection_api_key"
# Keys of servers this entry no longer sends to, by address, kept while such a
# server holds data of it: its deletion request needs its own key.
CONF_FORMER_COLLECTION_KEYS: Final = "former_collection_api_keys"
# A newer policy the user chose not to accept: its repair issue stays away.
CONF_DECLINED_POLICY: Final = "declined_policy_version"
# When the options form last turned sharing off (ISO 8601, UTC). Saved while
# the entry is not running, an opt-out is seen only at the next start, and an
# opt-in saved after it would hide it; this keeps it.
CONF_STOPPED_AT: Final = "sharing_stopped_at"
PRIVACY_URL: Final = (
    "https://github.com/schmacka/printernizer-usage-statistics/blob/main/PRIVACY.md"
)
# What a collection server must promise, and the project's own server.
SERVER_PROMISES_URL: Final = f"{PRIVACY_URL}#data-on-the-collection-server"
SERVER_URL: Final = (
    "https://github.com/schmacka/printernizer-usage-statistics/tree/main/server"
)

# Item lists are read in pages of this size, and at most this many item keys are
# remembered per list (the oldest is forgotten first), so neither a poll nor the
# store grows with Printernizer's history.
PAGE_SIZE: Final = 100
# Bytes of a salted item hash: what is remembered of each item Printernizer lists.
ITEM_KEY_BYTES: Final = 8
MAX_REMEMBERED_ITEMS: Final = 5000


class PrinterType(StrEnum):
    """Printer types as the statistics report them."""

    BAMBU_LAB = "bambu_lab"
    PRUSA = "prusa"
    OCTOPRINT = "octoprint"
    OTHER = "other"


class Listing(StrEnum):
    """Printernizer item lists in which new items are counted."""

    JOBS = "jobs"
    DOWNLOADED_FILES = "downloaded_files"
    UPLOADS = "uploads"


class Metric(StrEnum):
    """What a day bucket counts."""

    JOBS = "jobs"
    FILES = "files"
    UPLOADS = "uploads"
    UPTIME_HOURS = "uptime_hours"
    ERRORS = "errors"


class ErrorType(StrEnum):
    """The fixed error vocabulary; nothing outside it is ever counted."""

    CONNECTION_TIMEOUT = "connection_timeout"
    CONNECTION_REFUSED = "connection_refused"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    INVALID_RESPONSE = "invalid_response"
    PRINTER_ERROR = "printer_error"


# Where each error is observed; kept locally and exported, not sent in schema 1.0.
ERROR_COMPONENTS: Final[dict[ErrorType, str]] = {
    ErrorType.CONNECTION_TIMEOUT: "printernizer_api",
    ErrorType.CONNECTION_REFUSED: "printernizer_api",
    ErrorType.SERVER_ERROR: "printernizer_api",
    ErrorType.RATE_LIMITED: "printernizer_api",
    ErrorType.INVALID_RESPONSE: "printernizer_api",
    ErrorType.PRINTER_ERROR: "printer",
}


class FeatureFlag(StrEnum):
    """Feature flags Printernizer exposes; `german_compliance_enabled` it does not."""

    LIBRARY = "library_enabled"
    TIMELAPSE = "timelapse_enabled"
    AUTO_JOB_CREATION = "auto_job_creation_enabled"
    WATCH_FOLDERS = "watch_folders_enabled"


class DeploymentMode(StrEnum):
    """How Printernizer is deployed."""

    HOMEASSISTANT = "homeassistant"
    DOCKER = "docker"
    STANDALONE = "standalone"
    PI = "pi"
    UNKNOWN = "unknown"


class PlatformFamily(StrEnum):
    """The operating-system family Printernizer runs on, nothing more specific."""

    LINUX = "linux"
    WINDOWS = "windows"
    DARWIN = "darwin"
    OTHER = "other"
