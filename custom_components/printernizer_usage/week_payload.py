"""One week's payload from the store: the exact bytes to queue, or a preview.

The builders run on the store's thread (through `StoreWorker.async_call`),
like the store's own methods: they read it, and building the bytes creates
the id.
"""

from __future__ import annotations

from datetime import date, datetime
import json
from typing import Any

from .decisions import preview_policy, why_not_sent
from .payload import (
    NOT_YET_KNOWN,
    PLACEHOLDER_ID,
    InstallationIdentity,
    PayloadSource,
    build_payload,
    serialise,
)
from .sharing_book import SharingBook
from .store import LocalStatisticsStore


def build_week_payload(
    store: LocalStatisticsStore,
    week: date,
    policy_version: int,
    time_zone: str,
    today: date,
) -> tuple[str, bytes]:
    """Return the installation id and the exact bytes of one week's payload."""
    identity = store.installation_identity(today)
    source = _payload_source(store, week, identity, time_zone, today)
    return identity.installation_id, serialise(build_payload(source, policy_version))


def preview_week_payload(
    store: LocalStatisticsStore,
    week: date,
    policy_version: int,
    time_zone: str,
    today: date,
) -> dict[str, Any]:
    """Return a week's payload as it would be built today, creating no id.

    Without an id yet, the id and its first day read NOT_YET_KNOWN.
    """
    identity = store.stored_identity()
    payload = build_payload(
        _payload_source(
            store,
            week,
            identity or InstallationIdentity(PLACEHOLDER_ID, today),
            time_zone,
            today,
        ),
        policy_version,
    )
    if identity is None and "installation" in payload:
        payload["installation"]["installation_id"] = NOT_YET_KNOWN
        payload["installation"]["first_seen"] = NOT_YET_KNOWN
    return payload


async def async_preview_week(
    book: SharingBook, week: date, time_zone: str, now: datetime
) -> dict[str, Any]:
    """Return a week's payload (exactly as queued, if it is) and if it may go."""
    row = book.row(week)
    if row is not None:
        payload = json.loads(row.body)
    else:
        payload = await book.store.async_call(
            preview_week_payload,
            week,
            preview_policy(book.history, week),
            time_zone,
            now.date(),
        )
    reason = why_not_sent(book.history, week, now, has_endpoint=book.has_endpoint)
    return {
        "week_start": week.isoformat(),
        "eligible": reason is None,
        "reason": reason,
        "status": None if row is None else row.status.value,
        "payload": payload,
    }


def _payload_source(
    store: LocalStatisticsStore,
    week: date,
    identity: InstallationIdentity,
    time_zone: str,
    today: date,
) -> PayloadSource:
    return PayloadSource(
        week_start=week,
        counts=store.week_counts(week),
        identity=identity,
        printernizer=store.printernizer_facts(),
        time_zone=time_zone,
        submitted_on=today,
    )
