"""A figure, the baseline it is read against, and the table they are printed in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One figure beside its baseline from the same run.

    `limit` is the largest ratio figure / baseline allowed; None prints the
    ratio without judging it.
    """

    figure: str
    measured: float
    baseline: float
    unit: str
    limit: float | None = None

    @property
    def ratio(self) -> float:
        """Return measured divided by baseline."""
        return self.measured / self.baseline

    @property
    def within(self) -> bool:
        """Return whether the figure keeps its limit (one without a limit does)."""
        return self.limit is None or self.ratio <= self.limit


def print_table(rows: list[Row]) -> None:
    """Print each figure with its baseline, ratio, limit and verdict."""
    header = ("figure", "measured", "baseline", "ratio", "limit", "")
    lines = [
        (
            row.figure,
            f"{row.measured:,.2f} {row.unit}",
            f"{row.baseline:,.2f} {row.unit}",
            f"{row.ratio:.2f}",
            "-" if row.limit is None else f"{row.limit:g}",
            "" if row.limit is None else ("ok" if row.within else "OVER BUDGET"),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(6)]
    for line in [header, *lines]:
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=True)
            )
        )
