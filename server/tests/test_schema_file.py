"""The schema is read from the package's copy when there is one, else the checkout."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

from jsonschema.exceptions import SchemaError
import pytest

from printernizer_usage_server.schema import (
    PACKAGE_DIR,
    SCHEMA_FILE_NAME,
    ecma_pattern,
    find_schema,
    installation_id_pattern,
    load_schema,
    schema,
)
from printernizer_usage_server.validation import RULES, TYPE_NAMES

CHECKOUT_SCHEMA = Path(__file__).parents[2] / "schema" / SCHEMA_FILE_NAME


def test_a_checkout_reads_the_one_definition() -> None:
    """Running from the repository, the service reads schema/ itself."""
    assert find_schema() == CHECKOUT_SCHEMA
    assert schema() == json.loads(CHECKOUT_SCHEMA.read_text())


def test_an_installed_package_reads_its_own_copy(tmp_path: Path) -> None:
    """A wheel's package directory holds the schema; that copy wins."""
    package = tmp_path / "site-packages" / PACKAGE_DIR.name
    package.mkdir(parents=True)
    shutil.copy(CHECKOUT_SCHEMA, package / SCHEMA_FILE_NAME)

    assert find_schema(package) == package / SCHEMA_FILE_NAME
    assert load_schema(find_schema(package)) == schema()


def test_an_invalid_schema_file_is_refused(tmp_path: Path) -> None:
    """A file that is no draft 2020-12 schema stops the start."""
    broken = tmp_path / SCHEMA_FILE_NAME
    broken.write_text(json.dumps({"type": "no such type"}))

    with pytest.raises(SchemaError):
        load_schema(broken)


@pytest.mark.parametrize(
    ("candidate", "matches"),
    [
        ("550e8400-e29b-41d4-a716-446655440000", True),
        ("550e8400-e29b-41d4-a716-446655440000\n", False),
        ("550E8400-E29B-41D4-A716-446655440000", False),
        ("550e8400-e29b-31d4-a716-446655440000", False),
    ],
)
def test_installation_id_pattern_is_the_schema_rule(
    candidate: str, matches: bool
) -> None:
    """The route's id check is the payload's, with "$" meaning the very end."""
    assert bool(installation_id_pattern().search(candidate)) is matches


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^[A-Z]{2}$", "DE", True),
        ("^[A-Z]{2}$", "DE\n", False),
        ("[A-Z]{2}", "xDEx", True),
        ("^costs 5\\$", "costs 5$", True),
        ("^costs 5\\$", "costs 5", False),
    ],
)
def test_patterns_end_where_ecma_262_ends_them(
    pattern: str, text: str, matches: bool
) -> None:
    """A final "$" is the end of the string; an escaped one is a dollar sign."""
    assert bool(ecma_pattern(pattern).search(text)) is matches


def _keywords(node: object) -> set[str]:
    """Return every keyword used anywhere in a schema."""
    if isinstance(node, list):
        return {keyword for item in node for keyword in _keywords(item)}
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for key, value in node.items():
        if key == "properties":  # names the fields: only its values are schemas
            found |= _keywords(list(value.values()))
        elif key not in {"enum", "const", "required", "examples"}:  # values
            found |= _keywords(value)
    return found


def test_every_failing_keyword_has_a_fastapi_name() -> None:
    """A keyword added to the schema later needs a deliberate name and message."""
    # These fail through the keywords inside them, or are answered specially.
    structural = {"properties", "propertyNames", "additionalProperties", "items"}
    special = {"required", "type"}
    annotations = {"$schema", "$id", "title", "description", "examples"}

    used = _keywords(schema()) - structural - special - annotations

    assert used
    assert used <= set(RULES)
    json_types = {"array", "boolean", "integer", "null", "object", "string"}
    assert set(TYPE_NAMES) == json_types
