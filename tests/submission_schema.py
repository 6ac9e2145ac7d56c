"""Submission schema 1.0 as the collection server reads and checks it.

The server's own loader (server/printernizer_usage_server/schema.py, which
needs nothing but jsonschema) is loaded from its file, so a payload here is
checked exactly as the server checks it, from the one definition in schema/.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType
from typing import Any, Final

_LOADER: Final = (
    Path(__file__).parents[1] / "server" / "printernizer_usage_server" / "schema.py"
)


def _server_schema_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("collection_server_schema", _LOADER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_SERVER_SCHEMA: Final = _server_schema_module()
SCHEMA: Final[dict[str, Any]] = _SERVER_SCHEMA.schema()


def schema_errors(payload: object) -> list[str]:
    """Return the dotted paths the schema refuses ("" is the top); none if valid."""
    return sorted(
        {
            ".".join(str(part) for part in error.absolute_path)
            for error in _SERVER_SCHEMA.validator().iter_errors(payload)
        }
    )
