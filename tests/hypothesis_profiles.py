"""Hypothesis profiles: repeatable in CI, random for developers, deeper on request.

No profile has a deadline or the too-slow health check: how fast a machine is
must never decide whether a test passes. `HYPOTHESIS_PROFILE` picks a profile;
without it, CI (the `CI` variable set) runs `ci` and everyone else `dev`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Example counts written in the tests are what `ci` and `dev` run; `deep`
# multiplies them.
DEEP_FACTOR = 10

_NO_TIMING = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, **_NO_TIMING
)
settings.register_profile("dev", **_NO_TIMING)
settings.register_profile("deep", max_examples=100 * DEEP_FACTOR, **_NO_TIMING)


def chosen_profile() -> str:
    """Return the profile this run uses."""
    if explicit := os.environ.get("HYPOTHESIS_PROFILE"):
        return explicit
    ci = os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}
    return "ci" if ci else "dev"


settings.load_profile(chosen_profile())


def examples(count: int) -> int:
    """Return how many examples a test that asks for `count` runs in this profile."""
    if settings.get_current_profile_name() == "deep":
        return count * DEEP_FACTOR
    return count
