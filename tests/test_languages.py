"""The language a viewer's browser asks for, among the integration's own."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, strategies as st
import pytest

from custom_components.printernizer_usage.languages import (
    TRANSLATED_LANGUAGES,
    preferred_language,
)

TRANSLATIONS = (
    Path(__file__).parents[1]
    / "custom_components"
    / "printernizer_usage"
    / "translations"
)


def test_the_languages_are_those_translated() -> None:
    """Each language has its file, and each file its language."""
    assert {p.stem for p in TRANSLATIONS.glob("*.json")} == set(TRANSLATED_LANGUAGES)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-CH, fr;q=0.9, de;q=0.5, en;q=0.7", "en"),  # the higher weight wins
        ("en;q=0.5, de;q=0.5", "en"),  # equal weights: the first named
        ("DE-at", "de"),
        ("de;q=0, en;q=0.1", "en"),  # a weight of 0 refuses
        ("de;q=2, en;q=0.1", "en"),  # an impossible weight refuses too
        ("de;q=high, en;q=0.1", "en"),
        ("de;level=1", "de"),  # a parameter other than q leaves the weight at 1
        ("fr, it", "xx"),
        ("", "xx"),
        (None, "xx"),
        ("*", "xx"),
    ],
)
def test_the_first_ranked_translated_language(
    header: str | None, expected: str
) -> None:
    """Weights rank the ranges; only translated languages can be chosen."""
    assert preferred_language(header, "xx") == expected


def test_a_header_of_many_ranges_is_read_only_in_part() -> None:
    """A language named after the first few dozen ranges is not looked for."""
    assert preferred_language("fr, " * 40 + "de", "en") == "en"
    assert preferred_language("fr, " * 5 + "de", "en") == "de"


@given(st.text(max_size=300))
def test_any_header_gives_a_translated_language_or_the_fallback(header: str) -> None:
    """Whatever a browser (or anyone) sends, the answer is one we can show."""
    assert preferred_language(header, "xx") in (*TRANSLATED_LANGUAGES, "xx")
