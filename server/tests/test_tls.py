"""TLS: the service serves it from certificate files, and plain HTTP stays local."""

from __future__ import annotations

from pathlib import Path
import ssl

import httpx
import pytest
import trustme

from printernizer_usage_server.cli import (
    USAGE_ERROR,
    main,
    parse_arguments,
    serving_tls,
)
from printernizer_usage_server.server import NotLoopbackError, Tls
from tests.conftest import CLIENT_ADDRESS, LogCapture, ServerFactory
from tests.payloads import sample

# What this module tests is the same on any engine.
pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def ca() -> trustme.CA:
    """Return a throw-away certificate authority."""
    return trustme.CA()


@pytest.fixture
def tls(ca: trustme.CA, tmp_path: Path) -> Tls:
    """Return certificate and key files for 127.0.0.1, issued by `ca`."""
    issued = ca.issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    issued.private_key_pem.write_to_path(str(keyfile))
    return Tls(certfile, keyfile)


async def test_a_week_goes_over_verified_tls(
    servers: ServerFactory, tls: Tls, ca: trustme.CA
) -> None:
    """A client that trusts the certificate's authority submits as usual."""
    server = await servers.start(tls=tls, ca=ca)

    response = await server.client.post("/submit", json=sample())

    assert str(server.client.base_url).startswith("https://")
    assert response.status_code == 200


async def test_a_client_that_trusts_nobody_here_gets_nothing(
    servers: ServerFactory, tls: Tls, ca: trustme.CA, server_logs: LogCapture
) -> None:
    """The certificate is verified: without the authority, no request goes.

    The failed handshake is not logged with the client's address either.
    """
    server = await servers.start(tls=tls, ca=ca)
    url = server.client.base_url.join("/health")
    transport = httpx.AsyncHTTPTransport(
        local_address=CLIENT_ADDRESS, verify=ssl.create_default_context()
    )

    async with httpx.AsyncClient(transport=transport) as stranger:
        with pytest.raises(httpx.ConnectError):
            await stranger.get(url)
    await servers.stop()
    assert CLIENT_ADDRESS not in server_logs.text()


async def test_plain_http_gets_no_answer_from_the_tls_port(
    servers: ServerFactory, tls: Tls, ca: trustme.CA, server_logs: LogCapture
) -> None:
    """Speaking plain HTTP to the TLS port gets no HTTP answer, and no log line."""
    server = await servers.start(tls=tls, ca=ca)
    url = server.client.base_url.copy_with(scheme="http").join("/health")
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT_ADDRESS)

    async with httpx.AsyncClient(transport=transport) as plain:
        with pytest.raises(httpx.HTTPError):
            await plain.get(url)
    await servers.stop()
    assert CLIENT_ADDRESS not in server_logs.text()


@pytest.mark.parametrize(
    "flags",
    [["--certfile", "cert.pem"], ["--keyfile", "key.pem"]],
)
def test_a_certificate_and_its_key_go_together(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """One of the two files alone is a usage error, said plainly."""
    assert main(["serve", *flags]) == USAGE_ERROR
    assert "--certfile and --keyfile go together" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "tls"),
    [
        (
            ["--certfile", "c.pem", "--keyfile", "k.pem"],
            Tls(Path("c.pem"), Path("k.pem")),
        ),
        (["--behind-tls-proxy"], None),
    ],
)
def test_off_loopback_only_tls_is_served(flags: list[str], tls: Tls | None) -> None:
    """Another host needs TLS files, or a TLS proxy in front; else it is refused."""
    host = ["--host", "stats.example.org"]  # never bound: only the decision runs
    assert serving_tls(parse_arguments(["serve", *host, *flags])) == tls
    with pytest.raises(NotLoopbackError):
        serving_tls(parse_arguments(["serve", *host]))
