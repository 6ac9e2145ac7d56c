"""Which of the integration's languages a viewer's browser asks for.

Text the frontend cannot translate (a marker inside the preview, a verdict in
a placeholder) is translated on the server, in the language of the person
looking where their browser says it, rather than in the system's language.
"""

from __future__ import annotations

from typing import Final

# The languages of translations/; a test keeps the two in step.
TRANSLATED_LANGUAGES: Final = ("en", "de")
# A header of hundreds of ranges is cut short, not sorted in full.
_MAX_RANGES: Final = 32


def preferred_language(accept_language: str | None, fallback: str) -> str:
    """Return the translated language an Accept-Language header ranks first.

    Only the primary subtag counts ("de-AT" asks for German); a range with a
    weight of 0 is refused; with no match the fallback is returned.
    """
    if not accept_language:
        return fallback
    ranked: list[tuple[float, int, str]] = []
    for position, language_range in enumerate(accept_language.split(",")[:_MAX_RANGES]):
        tag, _, parameters = language_range.partition(";")
        weight = _weight(parameters)
        primary = tag.strip().split("-")[0].lower()
        if weight > 0 and primary in TRANSLATED_LANGUAGES:
            ranked.append((-weight, position, primary))
    return min(ranked)[2] if ranked else fallback


def _weight(parameters: str) -> float:
    """Return the q value of a range's parameters (1 when it has none)."""
    name, _, value = parameters.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return weight if 0.0 <= weight <= 1.0 else 0.0
