"""Submission schema 1.0, loaded from its one definition."""

from __future__ import annotations

from functools import cache
import json
from pathlib import Path
import re
from typing import TYPE_CHECKING, Any, Final

from jsonschema import Draft202012Validator, ValidationError, validators

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jsonschema.protocols import Validator

SCHEMA_FILE_NAME: Final = "submission-1.0.schema.json"
PACKAGE_DIR: Final = Path(__file__).parent


def find_schema(package_dir: Path = PACKAGE_DIR) -> Path:
    """Return the schema file: the package's copy, else the checkout's schema/."""
    # An installed wheel carries a copy (force-included at build time); a
    # checkout has none in the package and reads the one definition instead,
    # so the two can never drift apart while developing.
    packaged = package_dir / SCHEMA_FILE_NAME
    if packaged.is_file():
        return packaged
    return package_dir.parents[1] / "schema" / SCHEMA_FILE_NAME


def load_schema(path: Path) -> dict[str, Any]:
    """Read a schema file and check that it is a valid draft 2020-12 schema."""
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def schema() -> dict[str, Any]:
    """Return the schema the service validates against (read once)."""
    return load_schema(find_schema())


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a pattern so that a final "$" means the end of the string."""
    # JSON Schema patterns are ECMA-262, where "$" ends the string; Python's "$"
    # also matches before a final newline and would let "DE\n" pass ^[A-Z]{2}$.
    # (A final "\\$" escapes the dollar; no pattern of the schema ends so.)
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    checker: Validator, pattern: str, instance: Any, _schema: object
) -> Iterator[ValidationError]:
    """Check the "pattern" keyword with ECMA-262's meaning of "$"."""
    if checker.is_type(instance, "string") and not ecma_pattern(pattern).search(
        instance
    ):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# The stub leaves extend unannotated; it returns a validator class.
_SubmissionValidator: Final[type[Validator]] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, validators={"pattern": _pattern}
)


@cache
def validator() -> Validator:
    """Return the validator for the schema (built once)."""
    return _SubmissionValidator(schema())


@cache
def installation_id_pattern() -> re.Pattern[str]:
    """Return the schema's pattern for an installation id (a UUIDv4)."""
    # The deletion route checks its path with the same rule the payload obeys.
    installation = schema()["properties"]["installation"]["properties"]
    return ecma_pattern(installation["installation_id"]["pattern"])
