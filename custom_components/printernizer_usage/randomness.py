"""Every random choice made for an installation id, from one source.

An id and its send offset are drawn here, and the jitter of its retries from
`SOURCE`, each the same way whether the id is the installation's first or one
made after a regeneration or a deletion, so nothing drawn tells the two apart.
Tests seed `SOURCE` to show it.
"""

from __future__ import annotations

from datetime import timedelta
import random
from typing import Final
import uuid

# An id's weekly send time is spread over a day after the week ends.
MAX_SEND_OFFSET: Final = timedelta(hours=24)

SOURCE: random.Random = random.SystemRandom()


def installation_id() -> str:
    """Return a new random installation id (a UUIDv4)."""
    return str(uuid.UUID(int=SOURCE.getrandbits(128), version=4))


def send_offset() -> timedelta:
    """Return a new id's delay after each week's end, whole seconds below a day."""
    return timedelta(seconds=SOURCE.randrange(int(MAX_SEND_OFFSET.total_seconds())))
