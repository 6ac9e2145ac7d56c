"""Addresses have one spelling, and the collection server's is https off loopback."""

from __future__ import annotations

import pytest

from custom_components.printernizer_usage.urls import (
    CollectionUrlError,
    is_collection_url,
    is_loopback,
    normalise_base_url,
    normalise_collection_url,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://localhost:8000", "http://localhost:8000"),
        ("  HTTP://LocalHost:8000/ ", "http://localhost:8000"),
        ("localhost:8000", "http://localhost:8000"),
        (
            "https://printernizer.example/ingress/",
            "https://printernizer.example/ingress",
        ),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://192.168.1.20:80", "http://192.168.1.20"),
    ],
)
def test_normalise_base_url(text: str, expected: str) -> None:
    """One server has one spelling, which is the entry's unique id."""
    assert normalise_base_url(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ftp://printernizer.local",
        "http://user:secret@printernizer.local",
        "http://printernizer.local/?token=abc",
        "http://printernizer.local/#top",
        "http://",
        "http://printernizer.local:99999",
    ],
)
def test_normalise_base_url_refuses(text: str) -> None:
    """Credentials, queries and other schemes are refused, so none is stored."""
    with pytest.raises(ValueError):  # noqa: PT011 - the only error it raises
        normalise_base_url(text)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("https://stats.example.org", "https://stats.example.org"),
        (
            " https://Stats.Example.org:8443/collect/ ",
            "https://stats.example.org:8443/collect",
        ),
        ("stats.example.org", "https://stats.example.org"),
        ("http://127.0.0.1:8090", "http://127.0.0.1:8090"),
        ("http://127.5.5.5", "http://127.5.5.5"),
        ("http://[::1]:8090/", "http://[::1]:8090"),
        ("http://localhost:8090", "http://localhost:8090"),
    ],
)
def test_collection_url_accepted(text: str, url: str) -> None:
    """Any host over https; plain http only on loopback."""
    assert normalise_collection_url(text) == url


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://stats.example.org", "insecure_url"),
        ("http://192.168.1.10:8090", "insecure_url"),
        ("http://128.0.0.1", "insecure_url"),
        ("http://localhost.example.org", "insecure_url"),
        ("http://[::2]", "insecure_url"),
        ("", "invalid_url"),
        ("not a url at all", "invalid_url"),
        ("ftp://stats.example.org", "invalid_url"),
        ("https://user:secret@stats.example.org", "invalid_url"),
        ("https://stats.example.org/?key=secret", "invalid_url"),
        ("https://stats.example.org/#top", "invalid_url"),
    ],
)
def test_collection_url_refused(text: str, reason: str) -> None:
    """Plain http off loopback is insecure; anything but a plain URL is invalid."""
    with pytest.raises(CollectionUrlError) as caught:
        normalise_collection_url(text)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://stats.example.org", True),
        ("https://stats.example.org/", False),  # not the stored spelling
        ("http://stats.example.org", False),
        ("http://127.0.0.1:8090", True),
        (None, False),
        (42, False),
    ],
)
def test_is_collection_url(value: object, expected: bool) -> None:
    """Only a value in the form the forms store counts as a collection URL."""
    assert is_collection_url(value) is expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("192.168.1.10", False),
        ("localhost.example.org", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    """Only this machine's names and addresses are loopback."""
    assert is_loopback(host) is expected
