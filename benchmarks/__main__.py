"""Run every benchmark, print each budget next to its baseline; fail when over."""

from __future__ import annotations

import asyncio
import logging
import sys

from . import event_loop, hostile, payload, poll_cost, storage
from .common import Row, home_assistant, print_table


async def in_home_assistant() -> list[Row]:
    """Run the benchmarks that need Home Assistant, in one instance.

    A second instance in the same process would find helpers of the first.
    """
    async with home_assistant() as hass:
        return [
            *await poll_cost.run(hass),
            *await event_loop.run(hass),
            *await hostile.run(hass),
        ]


def main() -> int:
    """Run the benchmarks one after another; return the exit status."""
    rows = [*storage.run(), *payload.run(), *asyncio.run(in_home_assistant())]
    print()
    print_table(rows)
    return 0 if all(row.within for row in rows) else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    sys.exit(main())
