"""Every request goes through outgoing.py, which never follows a redirect."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "printernizer_usage"
HTTP_METHODS = {
    "request", "get", "post", "put", "patch", "delete", "head", "options",
    "ws_connect",
}  # fmt: skip
# Ways to make a request without a session argument, or with a session of one's own.
DIRECT = {"aiohttp.request", "aiohttp.ClientSession", "ClientSession"}


def requests_made(source: str) -> Iterator[tuple[int, str]]:
    """Yield (line, call) for every call that sends HTTP by itself."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = ast.unparse(node.func)
        if function in DIRECT or (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in HTTP_METHODS
            and "session" in ast.unparse(node.func.value).lower()
        ):
            yield node.lineno, function


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("async with self._session.get(url) as r: pass", ["self._session.get"]),
        ("session.request('POST', url, data=b'')", ["session.request"]),
        ("aiohttp.ClientSession()", ["aiohttp.ClientSession"]),
        ("options.get('collection_url')", []),
        ("async_request(session, 'GET', url, client_timeout=t)", []),
    ],
)
def test_the_guard_finds_requests(source: str, found: list[str]) -> None:
    """The check below would notice a request made any other way."""
    assert [call for _, call in requests_made(f"async def f():\n {source}\n")] == found


def test_only_outgoing_sends_requests() -> None:
    """No other module sends a request of its own, so none can follow a redirect."""
    strays = {
        f"{path.name}:{line} {call}"
        for path in INTEGRATION.glob("*.py")
        if path.name != "outgoing.py"
        for line, call in requests_made(path.read_text(encoding="utf-8"))
    }
    assert strays == set()


def test_outgoing_never_follows_a_redirect() -> None:
    """Its one request passes allow_redirects=False."""
    tree = ast.parse((INTEGRATION / "outgoing.py").read_text(encoding="utf-8"))
    [call] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "session.request"
    ]
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    allow = keywords["allow_redirects"]
    assert isinstance(allow, ast.Constant)
    assert allow.value is False
