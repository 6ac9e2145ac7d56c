"""Settings from PNZ_USAGE_* variables; a bad value stops the start with its name."""

from __future__ import annotations

import pytest

from printernizer_usage_server.settings import Settings, SettingsError


def test_defaults() -> None:
    """Nothing set: the documented defaults."""
    settings = Settings.from_environ({})

    assert settings == Settings(
        database_url="sqlite+aiosqlite:///./printernizer-usage.db",
        api_keys=frozenset(),
        retention_days=730,
        max_body_bytes=8192,
        purge_interval_seconds=3600.0,
    )


def test_every_variable_is_read() -> None:
    """Each setting comes from its variable; blanks around keys are dropped."""
    settings = Settings.from_environ(
        {
            "PNZ_USAGE_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/usage",
            "PNZ_USAGE_API_KEYS": " one, two ,,three ",
            "PNZ_USAGE_RETENTION_DAYS": "365",
            "PNZ_USAGE_MAX_BODY_BYTES": "4096",
            "PNZ_USAGE_PURGE_INTERVAL_SECONDS": "90.5",
            "PNZ_USAGE_BODY_TIMEOUT_SECONDS": "2.5",
            "PNZ_USAGE_HEAD_TIMEOUT_SECONDS": "3.5",
            "UNRELATED": "ignored",
        }
    )

    assert settings.database_url == "postgresql+asyncpg://u@127.0.0.1/usage"
    assert settings.api_keys == frozenset({"one", "two", "three"})
    assert settings.retention_days == 365
    assert settings.max_body_bytes == 4096
    assert settings.purge_interval_seconds == 90.5
    assert settings.body_timeout_seconds == 2.5
    assert settings.head_timeout_seconds == 3.5


def test_blank_values_mean_the_default() -> None:
    """An empty variable is as good as an unset one."""
    blank = {
        f"PNZ_USAGE_{name}": " "
        for name in (
            "DATABASE_URL",
            "API_KEYS",
            "RETENTION_DAYS",
            "MAX_BODY_BYTES",
            "PURGE_INTERVAL_SECONDS",
            "BODY_TIMEOUT_SECONDS",
            "HEAD_TIMEOUT_SECONDS",
        )
    }
    blank["PNZ_USAGE_DATABASE_URL"] = ""

    assert Settings.from_environ(blank) == Settings()


def test_the_process_environment_is_the_default_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """from_environ() reads os.environ."""
    monkeypatch.setenv("PNZ_USAGE_RETENTION_DAYS", "30")

    assert Settings.from_environ().retention_days == 30


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("RETENTION_DAYS", "0", "from 1 to 36500"),
        ("RETENTION_DAYS", "-5", "from 1 to 36500"),
        ("RETENTION_DAYS", "two years", "whole number"),
        ("RETENTION_DAYS", "1.5", "whole number"),
        ("MAX_BODY_BYTES", "0", "at least 1"),
        ("MAX_BODY_BYTES", "8k", "whole number"),
        ("PURGE_INTERVAL_SECONDS", "0", "from 0.01 to 86400 seconds"),
        ("PURGE_INTERVAL_SECONDS", "-1", "from 0.01 to 86400 seconds"),
        ("PURGE_INTERVAL_SECONDS", "nan", "from 0.01 to 86400 seconds"),
        ("PURGE_INTERVAL_SECONDS", "86400.5", "from 0.01 to 86400 seconds"),
        ("PURGE_INTERVAL_SECONDS", "inf", "from 0.01 to 86400 seconds"),
        ("PURGE_INTERVAL_SECONDS", "hourly", "number of seconds"),
        ("BODY_TIMEOUT_SECONDS", "0", "more than 0 and at most 300 seconds"),
        ("BODY_TIMEOUT_SECONDS", "301", "more than 0 and at most 300 seconds"),
        ("BODY_TIMEOUT_SECONDS", "nan", "more than 0 and at most 300 seconds"),
        ("HEAD_TIMEOUT_SECONDS", "0", "more than 0 and at most 300 seconds"),
        ("HEAD_TIMEOUT_SECONDS", "inf", "more than 0 and at most 300 seconds"),
    ],
)
def test_invalid_values_are_refused_by_name(
    name: str, value: str, problem: str
) -> None:
    """The error names the variable and what is wrong with it."""
    with pytest.raises(SettingsError, match=f"PNZ_USAGE_{name} .*{problem}"):
        Settings.from_environ({f"PNZ_USAGE_{name}": value})


def test_an_empty_database_url_is_refused() -> None:
    """Set in code, an empty URL is an error too."""
    with pytest.raises(SettingsError, match="PNZ_USAGE_DATABASE_URL"):
        Settings(database_url=" ")
