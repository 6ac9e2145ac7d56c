"""Submission schema 1.0, read from its one definition in `schema/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator

SCHEMA_PATH: Final = Path(__file__).parents[1] / "schema" / "submission-1.0.schema.json"
SCHEMA: Final[dict[str, Any]] = json.loads(SCHEMA_PATH.read_text())
_VALIDATOR: Final = Draft202012Validator(SCHEMA)


def schema_errors(payload: object) -> list[str]:
    """Return the dotted paths the schema refuses ("" is the top); none if valid."""
    return sorted(
        {
            ".".join(str(part) for part in error.absolute_path)
            for error in _VALIDATOR.iter_errors(payload)
        }
    )
