"""Run every benchmark, print each budget next to its baseline; fail when over."""

from __future__ import annotations

import asyncio
import logging
import sys

from . import event_loop, payload, poll_cost, storage
from .common import print_table


def main() -> int:
    """Run the benchmarks one after another; return the exit status."""
    rows = [
        *asyncio.run(poll_cost.run()),
        *storage.run(),
        *payload.run(),
        *asyncio.run(event_loop.run()),
    ]
    print()
    print_table(rows)
    return 0 if all(row.within for row in rows) else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    sys.exit(main())
