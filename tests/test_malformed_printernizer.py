"""Whatever Printernizer answers, a poll fails cleanly or ignores what is bad.

Hypothesis draws bodies for every endpoint a poll reads: wrong types, missing
keys, huge and negative numbers, unicode, nested garbage. None of them carries
an item id, so none may change what is counted; at most a poll fails and is
counted as an error. Non-JSON, truncated and 10 MB answers are fixed examples.
A canary string in the bodies must never reach the log.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.printernizer_usage.coordinator import UsageData

from .helpers import home_assistant_log
from .hypothesis_profiles import examples
from .simulator.printernizer import PrinternizerSimulator
from .test_collector import ALLOWED_PATHS

CANARY = "Werkstatt-Kanarienvogel-7f3a"
# Text that may be a name or a secret from Printernizer's answers.
TEXT = st.text(max_size=20) | st.just(CANARY) | st.just("192.168.1.50")
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
# Any JSON, except that no object has an "id": nothing in it can be an item.
GARBAGE = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            (
                st.sampled_from(["jobs", "files", "printers", "pagination", "data"])
                | TEXT
            ).filter(lambda key: key != "id"),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)
# The same shapes Printernizer uses, with garbage inside.
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "jobs": GARBAGE,
        "files": GARBAGE,
        "printers": GARBAGE,
        "pagination": GARBAGE,
        "status": GARBAGE,
        "version": GARBAGE,
        "library_enabled": GARBAGE,
        "enabled": GARBAGE,
    },
)


def counted(entry: MockConfigEntry) -> tuple[int, int, int]:
    """Return the jobs, downloads and uploads counted this week."""
    data: UsageData = entry.runtime_data.coordinator.data
    return data.statistics.jobs, data.statistics.files, data.statistics.uploads


async def poll_with(
    entry: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    kind: str,
    path: str,
    body: Any = None,
) -> None:
    """Poll while one endpoint answers badly; every answer of it, every page."""
    printernizer.fail(kind, path, times=1000, body=body)
    try:
        await entry.runtime_data.coordinator.async_refresh()
    finally:
        with printernizer.lock:
            printernizer.faults.clear()


@pytest.mark.usefixtures("wednesday")
@settings(
    max_examples=examples(150),
    suppress_health_check=[
        *settings.default.suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(path=st.sampled_from(sorted(ALLOWED_PATHS)), body=GARBAGE | SHAPED)
async def test_garbage_never_changes_the_counts(  # noqa: PLR0917 - hypothesis
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: Any,
) -> None:
    """Counts stay as they were; the entry stays loaded; the log stays clean."""
    before = counted(init_integration)
    await poll_with(init_integration, printernizer, "json", path, body)
    assert init_integration.runtime_data.coordinator.last_update_success
    assert counted(init_integration) == before
    assert CANARY not in home_assistant_log(caplog)


@pytest.mark.usefixtures("wednesday")
@pytest.mark.parametrize("kind", ["html", "truncated", "huge", "huge_chunked", "500"])
@pytest.mark.parametrize("path", sorted(ALLOWED_PATHS))
async def test_answers_that_are_not_json_count_as_errors(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    printernizer: PrinternizerSimulator,
    kind: str,
    path: str,
) -> None:
    """HTML, cut-off, 10 MB and server-error answers are errors, never counts."""
    errors_before = init_integration.runtime_data.coordinator.data.statistics.errors
    before = counted(init_integration)
    await poll_with(init_integration, printernizer, kind, path)
    data: UsageData = init_integration.runtime_data.coordinator.data
    assert counted(init_integration) == before
    assert sum(data.statistics.errors.values()) > sum(errors_before.values())
