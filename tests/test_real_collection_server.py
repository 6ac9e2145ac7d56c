"""The integration's submitter and the project's real collection server, over real TLS.

The server runs as its own process (tests/real_collection_server.py) with a
certificate from a test certificate authority; the submitter's session trusts
that authority and nothing else, as Home Assistant's trusts the system's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
import ssl

import aiohttp
import pytest
import trustme

from custom_components.printernizer_usage import randomness
from custom_components.printernizer_usage.outbox import AttemptResult
from custom_components.printernizer_usage.payload import (
    InstallationIdentity,
    PayloadSource,
    build_payload,
    serialise,
    week_start,
)
from custom_components.printernizer_usage.submitter import (
    Endpoint,
    async_check_health,
    async_request_deletion,
    async_submit,
)

from .real_collection_server import RealCollectionServer, running_collection_server
from .test_payload import SAMPLE

pytestmark = pytest.mark.usefixtures("socket_enabled")


@dataclass(frozen=True)
class TlsSetUp:
    """The server, and a session that trusts the test authority that signed it."""

    server: RealCollectionServer
    session: aiohttp.ClientSession
    endpoint: Endpoint


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[TlsSetUp]:
    """Run the real server with a certificate for 127.0.0.1 from a fresh test CA."""
    authority = trustme.CA()
    pem = tmp_path / "server.pem"
    authority.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(
        str(pem)
    )
    trust = ssl.create_default_context()
    authority.configure_trust(trust)
    async with (
        running_collection_server(tmp_path, pem, pem, trust) as server,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as session,
    ):
        yield TlsSetUp(server, session, Endpoint(server.base_url, None))


def _week_body(installation_id: str, weeks_back: int) -> bytes:
    """Return a real payload for a week that has ended, by the real clock."""
    today = datetime.now(UTC).date()
    start = week_start(today) - timedelta(weeks=weeks_back)
    source = PayloadSource(
        week_start=start,
        counts=SAMPLE.counts,
        identity=InstallationIdentity(installation_id, start),
        printernizer=SAMPLE.printernizer,
        time_zone=SAMPLE.time_zone,
        submitted_on=today,
    )
    return serialise(build_payload(source, consented_policy=1))


async def test_a_week_goes_in_over_tls_and_comes_out_on_request(
    tls_server: TlsSetUp,
) -> None:
    """Submit, resend, be limited, then delete: every step as the protocol says."""
    session, endpoint = tls_server.session, tls_server.endpoint
    installation_id = randomness.installation_id()
    body = _week_body(installation_id, weeks_back=1)

    assert await async_check_health(session, endpoint.base_url) is (
        AttemptResult.ACCEPTED
    )
    first = await async_submit(session, endpoint, body, "key-1")
    resent = await async_submit(session, endpoint, body, "key-1")
    older = await async_submit(
        session, endpoint, _week_body(installation_id, weeks_back=2), "key-2"
    )

    assert (first.result, first.http_status) == (AttemptResult.ACCEPTED, 200)
    assert (resent.result, resent.http_status) == (AttemptResult.ACCEPTED, 200)
    assert (older.result, older.http_status) == (AttemptResult.RATE_LIMITED, 429)
    assert older.retry_after is not None
    assert timedelta(0) < older.retry_after <= timedelta(hours=1)
    assert installation_id.encode() in tls_server.server.database_bytes()

    deleted = await async_request_deletion(session, endpoint, installation_id)

    assert (deleted.result, deleted.http_status) == (AttemptResult.ACCEPTED, 200)
    assert installation_id.encode() not in tls_server.server.database_bytes()
    assert installation_id not in tls_server.server.log.read_text()


async def test_a_certificate_the_session_does_not_trust_sends_nothing(
    tls_server: TlsSetUp,
) -> None:
    """Without the test authority, the handshake fails before any byte of the week."""
    installation_id = randomness.installation_id()
    async with aiohttp.ClientSession() as untrusting:
        attempt = await async_submit(
            untrusting,
            tls_server.endpoint,
            _week_body(installation_id, weeks_back=1),
            "key-1",
        )

    assert (attempt.result, attempt.http_status) == (AttemptResult.UNREACHABLE, None)
    assert installation_id.encode() not in tls_server.server.database_bytes()
