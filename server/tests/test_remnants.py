"""No piece of a deleted installation's id stays in the database's files.

Deleting rows leaves copies of index entries behind: in the free space of
SQLite's index pages (which secure_delete does not clear) and as PostgreSQL's
dead rows. The periodic run after a deletion rewrites the files. The data set
is one that leaves pieces behind on SQLite (with its ids as rowids): 1,000
installations of three weeks each, stored in the random order of their ids,
then 300 of them deleted.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
import random
import re
import uuid

from sqlalchemy import insert

from printernizer_usage_server.models import MAX_SUBMISSION_ID, Submission
from printernizer_usage_server.stored_fields import stored_fields
from tests.conftest import RunningServer
from tests.payloads import week

MONDAY = date(2024, 11, 18)
INSTALLATIONS = 1000
DELETED = 300
# The shortest piece that still points at one id among millions.
PIECE = 12
_ID_LIKE_RUNS = re.compile(rb"[0-9a-f-]{%d,}" % PIECE)


def _ids(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def _with_pieces_left(ids: list[str], stored: bytes) -> list[str]:
    """Return the ids of which some piece of PIECE characters is in `stored`."""
    runs = b"|".join(_ID_LIKE_RUNS.findall(stored))
    return [
        installation_id
        for installation_id in ids
        if any(
            installation_id[start : start + PIECE].encode() in runs
            for start in range(len(installation_id) - PIECE + 1)
        )
    ]


async def test_no_piece_of_a_deleted_id_outlives_the_next_periodic_run(
    server: RunningServer,
) -> None:
    """Pieces are there right after the deletions; the periodic run clears them."""
    ids = _ids(INSTALLATIONS, seed=1)
    # Submission ids from a seed too: the pages, and so the pieces, are the
    # same in every run.
    submission_ids = random.Random(3)
    rows = [
        {
            **asdict(
                stored_fields(week(MONDAY - timedelta(weeks=back), installation_id))
            ),
            "id": submission_ids.randrange(1, MAX_SUBMISSION_ID),
        }
        for installation_id in ids
        for back in range(3)
    ]
    async with server.runtime.sessions.begin() as session:
        await session.execute(insert(Submission), rows)
    deleted = random.Random(1).sample(ids, DELETED)
    for installation_id in deleted:
        response = await server.client.delete(f"/installation/{installation_id}")
        assert response.json()["deleted_count"] == 3
    kept = sorted(set(ids) - set(deleted))

    assert _with_pieces_left(deleted, server.database_bytes()), "the attack is real"

    await server.runtime.purger.run_once()

    stored = server.database_bytes()
    assert _with_pieces_left(deleted, stored) == []
    assert _with_pieces_left(kept, stored) == kept
