"""Configuration from environment variables prefixed PNZ_USAGE_."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
import os
from typing import Final, NoReturn

PREFIX: Final = "PNZ_USAGE_"
DEFAULT_DATABASE_URL: Final = "sqlite+aiosqlite:///./printernizer-usage.db"
DEFAULT_RETENTION_DAYS: Final = 730
DEFAULT_MAX_BODY_BYTES: Final = 8192
DEFAULT_PURGE_INTERVAL_SECONDS: Final = 3600.0
# A week's payload is a few hundred bytes: any client sends it in well under this.
DEFAULT_BODY_TIMEOUT_SECONDS: Final = 10.0
# The same for a request's head, from the connection's start or the last answer.
DEFAULT_HEAD_TIMEOUT_SECONDS: Final = 10.0
MAX_BODY_TIMEOUT_SECONDS: Final = 300.0
# A century: longer cannot be meant, and dates that far back do not exist.
MAX_RETENTION_DAYS: Final = 36_500
# More often than this the purge would keep the database busy for nothing.
MIN_PURGE_INTERVAL_SECONDS: Final = 0.01
# The run after a deletion clears its remnants (compaction.py); the policy
# promises that within 24 hours.
MAX_PURGE_INTERVAL_SECONDS: Final = 86_400.0


class SettingsError(ValueError):
    """A configuration value that the service cannot start with."""


@dataclass(frozen=True)
class Settings:
    """The service's configuration, checked once at start."""

    database_url: str = DEFAULT_DATABASE_URL
    # Empty: no key is required.
    api_keys: frozenset[str] = frozenset()
    retention_days: int = DEFAULT_RETENTION_DAYS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    purge_interval_seconds: float = DEFAULT_PURGE_INTERVAL_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    head_timeout_seconds: float = DEFAULT_HEAD_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        """Refuse values the service cannot work with."""
        if not self.database_url.strip():
            _fail("DATABASE_URL", "must not be empty")
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            _fail("RETENTION_DAYS", f"must be from 1 to {MAX_RETENTION_DAYS}")
        if self.max_body_bytes < 1:
            _fail("MAX_BODY_BYTES", "must be at least 1")
        if not (
            math.isfinite(self.purge_interval_seconds)
            and MIN_PURGE_INTERVAL_SECONDS
            <= self.purge_interval_seconds
            <= MAX_PURGE_INTERVAL_SECONDS
        ):
            _fail(
                "PURGE_INTERVAL_SECONDS",
                f"must be from {MIN_PURGE_INTERVAL_SECONDS:g} to "
                f"{MAX_PURGE_INTERVAL_SECONDS:g} seconds (a day)",
            )

        for name, seconds in (
            ("BODY_TIMEOUT_SECONDS", self.body_timeout_seconds),
            ("HEAD_TIMEOUT_SECONDS", self.head_timeout_seconds),
        ):
            if not (math.isfinite(seconds) and 0 < seconds <= MAX_BODY_TIMEOUT_SECONDS):
                limit = f"{MAX_BODY_TIMEOUT_SECONDS:g}"
                _fail(name, f"must be more than 0 and at most {limit} seconds")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `environ` (the process environment by default)."""
        values = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return values.get(PREFIX + name)

        return cls(
            database_url=get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            api_keys=_api_keys(get("API_KEYS")),
            retention_days=_integer(
                "RETENTION_DAYS", get("RETENTION_DAYS"), DEFAULT_RETENTION_DAYS
            ),
            max_body_bytes=_integer(
                "MAX_BODY_BYTES", get("MAX_BODY_BYTES"), DEFAULT_MAX_BODY_BYTES
            ),
            purge_interval_seconds=_seconds(
                "PURGE_INTERVAL_SECONDS",
                get("PURGE_INTERVAL_SECONDS"),
                DEFAULT_PURGE_INTERVAL_SECONDS,
            ),
            body_timeout_seconds=_seconds(
                "BODY_TIMEOUT_SECONDS",
                get("BODY_TIMEOUT_SECONDS"),
                DEFAULT_BODY_TIMEOUT_SECONDS,
            ),
            head_timeout_seconds=_seconds(
                "HEAD_TIMEOUT_SECONDS",
                get("HEAD_TIMEOUT_SECONDS"),
                DEFAULT_HEAD_TIMEOUT_SECONDS,
            ),
        )


def _api_keys(raw: str | None) -> frozenset[str]:
    # Blanks around commas are a typo, not part of a key.
    keys = frozenset(key.strip() for key in (raw or "").split(",") if key.strip())
    if raw is not None and raw.strip() and not keys:
        # " , " names no key: taken as "no key required" it would open the door.
        _fail("API_KEYS", "names no key; leave it unset to require none")
    return keys


def _integer(name: str, raw: str | None, default: int) -> int:
    """Parse a whole number; unset or blank means the default."""
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip())
    except ValueError:
        _fail(name, f"must be a whole number, got {raw!r}")


def _seconds(name: str, raw: str | None, default: float) -> float:
    """Parse a number of seconds; unset or blank means the default."""
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw.strip())
    except ValueError:
        _fail(name, f"must be a number of seconds, got {raw!r}")


def _fail(name: str, problem: str) -> NoReturn:
    raise SettingsError(f"{PREFIX}{name} {problem}")
