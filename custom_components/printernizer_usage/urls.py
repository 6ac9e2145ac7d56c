"""The addresses the integration is given, in the one form it stores and uses.

Printernizer's address and the collection server's are both plain base URLs;
the collection server's must also be https, except on this machine.
"""

from __future__ import annotations

import ipaddress

from yarl import URL


def normalise_base_url(text: str) -> str:
    """Return the canonical form of a Printernizer base URL.

    Raises ValueError for anything but a plain http(s) address: user names,
    passwords, queries and fragments are refused, so none is ever stored.
    """
    text = text.strip()
    if "://" not in text:
        text = f"http://{text}"
    url = URL(text)
    if (
        url.scheme not in ("http", "https")
        or not url.host
        or url.user is not None
        or url.password is not None
        or url.query_string
        or url.fragment
    ):
        msg = "not a plain http(s) base URL"
        raise ValueError(msg)
    return str(
        URL.build(
            scheme=url.scheme,
            host=url.host,
            port=url.explicit_port,
            path=url.path.rstrip("/"),
        )
    )


class CollectionUrlError(ValueError):
    """A collection-server URL that cannot be used; `reason` is a translation key."""

    def __init__(self, reason: str) -> None:
        """Remember why: "invalid_url" or "insecure_url"."""
        super().__init__(reason)
        self.reason = reason


def normalise_collection_url(text: str) -> str:
    """Return the canonical form of a collection-server base URL.

    Only https is allowed, except on loopback, where development and tests run
    a server without TLS. Without a scheme, https is assumed.
    """
    text = text.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        url = normalise_base_url(text)
    except ValueError as err:
        raise CollectionUrlError("invalid_url") from err
    parsed = URL(url)
    if parsed.scheme != "https" and not is_loopback(parsed.host or ""):
        raise CollectionUrlError("insecure_url")
    return url


def is_collection_url(value: object) -> bool:
    """Tell whether a stored value is a collection URL as the forms store one."""
    try:
        return isinstance(value, str) and normalise_collection_url(value) == value
    except CollectionUrlError:
        return False


def is_loopback(host: str) -> bool:
    """Tell whether a host is this machine: localhost or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
